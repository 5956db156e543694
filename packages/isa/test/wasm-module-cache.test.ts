import { afterEach, describe, expect, it } from "vitest";
import { cachedModule, rememberModule } from "../src/wasm-module-cache.js";
import { asm } from "./support/assemble.js";
import { cycle, expectSame, type Twin } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE, LazyBoard } from "./support/lazy-board.js";

// Region modules kept by their bytes for the process (wasm-module-cache.ts).

/** A valid module exporting `f` returning `k` (distinct bytes for each k). */
function moduleBytes(k: number): Uint8Array<ArrayBuffer> {
  const body = [0x00, 0x41, ...leb(k), 0x0b];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00, // magic, version
    0x01,
    0x05,
    0x01,
    0x60,
    0x00,
    0x01,
    0x7f, // type: () -> i32
    0x03,
    0x02,
    0x01,
    0x00, // one function of type 0
    0x07,
    0x05,
    0x01,
    0x01,
    0x66,
    0x00,
    0x00, // export "f"
    0x0a,
    body.length + 2,
    0x01,
    body.length,
    ...body,
  ]);
}

function leb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const RealModule = WebAssembly.Module;
let compiled = 0;

afterEach(() => {
  WebAssembly.Module = RealModule;
});

describe("compiled region modules kept by their bytes", () => {
  it("gives back the module for equal bytes only, and forgets the least recently used", () => {
    const first = new WebAssembly.Module(moduleBytes(1));
    rememberModule(moduleBytes(1), first);
    expect(cachedModule(moduleBytes(1))).toBe(first); // equal bytes, another array
    expect(cachedModule(moduleBytes(2))).toBeUndefined();
    const misaligned = new Uint8Array(moduleBytes(1).length + 1);
    misaligned.set(moduleBytes(1), 1);
    expect(cachedModule(misaligned.subarray(1))).toBe(first);
    // 300 more: the first stays while it is used, the unused early ones go.
    for (let k = 2; k < 302; k++) {
      rememberModule(moduleBytes(k), new WebAssembly.Module(moduleBytes(k)));
      if (k % 50 === 0) expect(cachedModule(moduleBytes(1))).toBe(first);
    }
    expect(cachedModule(moduleBytes(1))).toBe(first);
    expect(cachedModule(moduleBytes(2))).toBeUndefined();
    expect(cachedModule(moduleBytes(301))).toBeDefined();
    const again = cachedModule(moduleBytes(301))!;
    expect((new WebAssembly.Instance(again).exports.f as () => number)()).toBe(301);
  });

  it("a second hart running the same code compiles nothing and runs as the interpreter does", () => {
    const program = [
      asm("addi", { rd: 1, rs1: 0, imm: 1500 }),
      asm("lui", { rd: 4, imm: (BASE + 0x8000) | 0 }),
      asm("addi", { rd: 2, rs1: 2, imm: 5 }), // loop
      asm("xor", { rd: 3, rs1: 3, rs2: 2 }),
      asm("sw", { rs1: 4, rs2: 3, imm: 0 }),
      asm("addi", { rd: 1, rs1: 1, imm: -1 }),
      asm("bne", { rs1: 1, rs2: 0, imm: -16 }),
      asm("jal", { rd: 0, imm: 0 }),
    ];
    const run = () => {
      const make = (jit: boolean) => {
        const b = new LazyBoard(1 << 20, jit ? { jitHotness: 50, compiler: "wasm" } : { jit: false }, jit);
        b.program(program);
        return b;
      };
      const t: Twin = { jit: make(true), ref: make(false) };
      for (const [k, n] of cycle([1, 77, 501, 1999], 10_000).entries()) {
        t.jit.hart.run(n);
        t.ref.hart.run(n);
        expectSame(t, `slice ${k}`);
      }
      expect(t.jit.hart.pc >>> 0).toBe(BASE + 28); // it reached the spin
      expect(t.jit.hart.compiledSteps).toBeGreaterThan(5_000);
    };
    // Count the modules compiled from here on (the dispatcher's included).
    WebAssembly.Module = class extends RealModule {
      constructor(bytes: BufferSource) {
        super(bytes);
        compiled++;
      }
    };
    compiled = 0;
    run();
    const first = compiled;
    expect(first).toBeGreaterThan(1); // the dispatcher and at least one region
    compiled = 0;
    run();
    expect(compiled).toBe(1); // its dispatcher only: every region came from the cache
  });
});
