import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type HartOptions, StopReason } from "../src/index.js";
import { backgroundCompiler } from "../src/wasm-compile-worker.js";
import { asm } from "./support/assemble.js";
import { expectSameMemory, hartState as state, TEST_HOTNESS } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE, LazyBoard, loadElf } from "./support/lazy-board.js";

// The wasm back end compiling regions on a worker thread (wasm-compile-worker.ts): a guest
// must take the same steps to the same state whenever the modules arrive, as with regions
// compiled in place and as the interpreter alone.

const RAM = 128 * 1024 * 1024;
const SYS_EXIT = 0x18;
const SYS_EXIT_EXTENDED = 0x20;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Lets the worker get on (and its answers queue up) between slices. */
const pause = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

function board(options: HartOptions, setup: (b: LazyBoard) => void): LazyBoard {
  const b = new LazyBoard(
    RAM,
    { jitHotness: TEST_HOTNESS, compiler: "wasm", ...options },
    options.jit !== false,
  );
  setup(b);
  return b;
}

/**
 * Runs the same guest on a hart compiling on the worker, one compiling in place and one
 * interpreting, slice by slice (pausing between slices so that modules arrive mid-run),
 * comparing all three after each slice.
 */
function runThree(setup: (b: LazyBoard) => void, slices: number[], label: string) {
  const background = board({ compileInBackground: true }, setup);
  const inPlace = board({ compileInBackground: false }, setup);
  const ref = board({ jit: false }, setup);
  const harts = [background, inPlace, ref];
  for (const [k, n] of slices.entries()) {
    const reasons = harts.map((b) => b.hart.run(n));
    expect(new Set(reasons).size, `${label} slice ${k}: stop reasons ${reasons}`).toBe(1);
    const want = state(ref);
    expect(state(background), `${label} slice ${k}: compiled on the worker`).toEqual(want);
    expect(state(inPlace), `${label} slice ${k}: compiled in place`).toEqual(want);
    if (reasons[0] === StopReason.Semihosting) {
      const op = ref.hart.x[10]!;
      if (op === SYS_EXIT || op === SYS_EXIT_EXTENDED) break;
      for (const b of harts) b.hart.x[10] = 0;
    } else if (reasons[0] !== StopReason.Budget) break;
    pause(k % 3);
  }
  expectSameMemory(background, ref, `${label}: compiled on the worker`);
  expectSameMemory(inPlace, ref, `${label}: compiled in place`);
  return { background, inPlace, ref };
}

const li = (rd: number, value: number): number[] => {
  const lo = (value << 20) >> 20;
  return [asm("lui", { rd, imm: (value - lo) | 0 }), asm("addi", { rd, rs1: rd, imm: lo })];
};

/**
 * A loop that rewrites the immediate of its own first instruction every 256 iterations,
 * so its region is dropped (maybe while still compiling) and compiled again and again.
 */
const selfModifying = [
  ...li(1, 20_000), // 0
  ...li(6, BASE + 24), // 8: the address of the loop's first instruction
  ...li(9, 0x28293), // 16: addi x5, x5, 0
  asm("addi", { rd: 5, rs1: 5, imm: 1 }), // 24: loop (rewritten)
  asm("andi", { rd: 8, rs1: 1, imm: 255 }), // 28
  asm("bne", { rs1: 8, rs2: 0, imm: 24 }), // 32 -> 56
  asm("srli", { rd: 10, rs1: 1, imm: 8 }), // 36
  asm("andi", { rd: 10, rs1: 10, imm: 7 }), // 40
  asm("slli", { rd: 10, rs1: 10, imm: 20 }), // 44
  asm("or", { rd: 7, rs1: 9, rs2: 10 }), // 48
  asm("sw", { rs1: 6, rs2: 7, imm: 0 }), // 52
  asm("addi", { rd: 1, rs1: 1, imm: -1 }), // 56
  asm("bne", { rs1: 1, rs2: 0, imm: -36 }), // 60 -> 24
  asm("jal", { rd: 0, imm: 0 }), // 64: spin
];

const guestsDir = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));
const guests = ["bench-short.elf", "bench-paged.elf"].filter((g) => existsSync(guestsDir + g));

describe("wasm back end: regions compiled on a worker thread", () => {
  beforeAll(() => {
    // The worker takes a while to start (regions compile in place until it has).
    expect(backgroundCompiler(), "this host has worker_threads").toBeDefined();
    while (!backgroundCompiler()!.ready) pause(5);
  }, 60_000);

  it("self-modifying code runs the same whenever its regions arrive", () => {
    const before = backgroundCompiler()!.delivered;
    const slices = [1, 97, 1000, 5003, 250, 20_011, 3, 7919];
    const { background, inPlace } = runThree(
      (b) => b.program(selfModifying),
      [...slices, ...slices, ...slices, ...slices, ...slices],
      "self-modifying loop",
    );
    expect(background.hart.pc >>> 0).toBe(BASE + 64); // it reached the spin
    expect(background.hart.x[5]).not.toBe(20_000); // the rewrites took effect
    expect(inPlace.hart.compiledSteps).toBeGreaterThan(0);
    expect(background.hart.compilerBackend).toBe("wasm"); // nothing failed to compile
    // The worker compiled some of them (the pauses let them arrive mid-run).
    expect(backgroundCompiler()!.delivered).toBeGreaterThan(before);
    expect(background.hart.compiledSteps).toBeGreaterThan(0);
  }, 120_000);

  it.each(guests)(
    "%s gives the same steps, output and memory as compiled in place and interpreted",
    (name) => {
      const bytes = new Uint8Array(readFileSync(guestsDir + name));
      const { background } = runThree(
        (b) => {
          b.hart.pc = loadElf(b, bytes);
        },
        Array.from({ length: 40 }, (_, k) => 25_013 + 7 * k),
        name,
      );
      expect(background.hart.compiledSteps).toBeGreaterThan(0);
      expect(background.hart.compilerBackend).toBe("wasm");
    },
    120_000,
  );
});
