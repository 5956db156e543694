import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backgroundCompiler } from "../src/wasm-compile-worker.js";
import { asm } from "./support/assemble.js";
import { cycle, expectSame, type Twin } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE, LazyBoard } from "./support/lazy-board.js";

// A host without worker_threads (a browser, or Node refusing the worker): the wasm back end
// asked to compile in the background compiles every region in place, as before.
// (This file's module instance of wasm-compile-worker.ts is its own: vitest isolates files.)

type Host = { getBuiltinModule?: (id: string) => unknown };
const host = process as unknown as Host;
const real = host.getBuiltinModule;

describe("wasm back end where no worker can be started", () => {
  beforeAll(() => {
    host.getBuiltinModule = (id: string) => (id === "node:worker_threads" ? undefined : real?.(id));
  });
  afterAll(() => {
    host.getBuiltinModule = real;
  });

  it("compiles regions in place and runs a loop as the interpreter does", () => {
    const program = [
      asm("addi", { rd: 1, rs1: 0, imm: 2000 }),
      asm("lui", { rd: 4, imm: (BASE + 0x8000) | 0 }),
      asm("addi", { rd: 2, rs1: 2, imm: 3 }), // loop
      asm("xor", { rd: 3, rs1: 3, rs2: 2 }),
      asm("sw", { rs1: 4, rs2: 3, imm: 0 }),
      asm("addi", { rd: 1, rs1: 1, imm: -1 }),
      asm("bne", { rs1: 1, rs2: 0, imm: -16 }),
      asm("jal", { rd: 0, imm: 0 }),
    ];
    const make = (options: ConstructorParameters<typeof LazyBoard>[1], flat: boolean) => {
      const b = new LazyBoard(1 << 20, options, flat);
      b.program(program);
      return b;
    };
    const t: Twin = {
      jit: make({ jitHotness: 50, compiler: "wasm", compileInBackground: true }, true),
      ref: make({ jit: false }, false),
    };
    for (const [k, n] of cycle([1, 77, 501, 1999], 12_000).entries()) {
      t.jit.hart.run(n);
      t.ref.hart.run(n);
      expectSame(t, `slice ${k}`);
    }
    expect(backgroundCompiler()).toBeUndefined();
    expect(t.jit.hart.pc >>> 0).toBe(BASE + 28); // it reached the spin
    expect(t.jit.hart.compilerBackend).toBe("wasm");
    // Compiled in place, so entered from the first time the loop was hot.
    expect(t.jit.hart.compiledSteps).toBeGreaterThan(8_000);
  });
});
