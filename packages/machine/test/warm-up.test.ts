import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CapturedIo, Machine, type MachineOptions } from "../src/index.js";
import { isWarmedUp } from "../src/warm-up.js";
import { WARM_UP_OUTPUT, WARM_UP_WORDS } from "../src/warm-up-program.js";
import { endState } from "./end-state.js";

const BACK_ENDS: [string, MachineOptions][] = [
  ["interpreter", { jit: false }],
  ["JS compiler", { compiler: "js" }],
  ["wasm compiler", { compiler: "wasm" }],
];

describe("the warm-up program (tools/guests/warm-up)", () => {
  for (const [name, options] of BACK_ENDS) {
    it(`prints the checksum QEMU prints and powers off (${name})`, () => {
      const io = new CapturedIo();
      const m = new Machine({ ...options, ramSize: 1 << 20, io, warmUp: false });
      m.loadKernel(new Uint8Array(Uint32Array.from(WARM_UP_WORDS).buffer));
      const outcome = m.run(1_000_000);
      expect(io.stdoutText).toBe(WARM_UP_OUTPUT);
      expect(outcome).toEqual({ kind: "exited", code: 0 });
      // Its hot loops were compiled (it warms the compiler's paths up too).
      if (options.jit !== false) expect(m.hart.compiledRegions).toBeGreaterThan(0);
    });
  }
});

describe("warming up", () => {
  // 30 M steps: long enough to warm up (after 100 k), short enough for a test.
  const guest = readFileSync(
    fileURLToPath(new URL("../../../tools/guests/out/rv32imac/bench-short.elf", import.meta.url)),
  );
  const run = (options: MachineOptions, slice: number) => {
    const io = new CapturedIo();
    const m = new Machine({ ...options, io });
    m.loadElf(guest);
    let outcome = m.run(slice);
    const warmAfterSlice = isWarmedUp(options);
    while (outcome.kind === "budget") outcome = m.run(slice);
    return { end: endState(m, io.stdoutText, outcome), warmAfterSlice };
  };

  it("runs once per back end, once the interpreter has run 100 k steps, and changes nothing its guest sees", () => {
    const options: MachineOptions = { jit: false };
    expect(isWarmedUp(options)).toBe(false);
    const cold = run({ ...options, warmUp: false }, 10_000_000);
    expect(isWarmedUp(options)).toBe(false);
    // In slices of 90 k steps: not warmed up after the first, then (at 100 k) warmed up.
    const warm = run(options, 90_000);
    expect(warm.warmAfterSlice).toBe(false);
    expect(isWarmedUp(options)).toBe(true);
    expect(warm.end).toEqual(cold.end);
    expect(cold.end.outcome).toEqual({ kind: "exited", code: 0 });
    expect(cold.end.steps).toBeGreaterThan(100_000);
  });

  it("does not run for a guest that runs in compiled code, and changes nothing it sees", () => {
    const options: MachineOptions = { compiler: "wasm" };
    const cold = run({ ...options, warmUp: false }, 10_000_000);
    const watched = run(options, 90_000);
    expect(isWarmedUp(options)).toBe(false);
    expect(watched.end).toEqual(cold.end);
    expect(cold.end.steps).toBeGreaterThan(5_000_000); // past the last window looked at
  });

  it("does not run for a short program, even with no step limit", () => {
    const options: MachineOptions = { compiler: "js" };
    const hello = readFileSync(
      fileURLToPath(new URL("../../../tools/guests/out/rv32imac/hello.elf", import.meta.url)),
    );
    const m = new Machine({ ...options, io: new CapturedIo() });
    m.loadElf(hello);
    expect(m.run()).toEqual({ kind: "exited", code: 0 });
    expect(m.hart.steps).toBeLessThan(100_000);
    expect(isWarmedUp(options)).toBe(false);
  });
});
