import { expect } from "vitest";
import { StopReason } from "../../src/index.js";
import { LazyBoard } from "./lazy-board.js";

/**
 * Interpreted runs of a pc before the compiling hart compiles it in these tests (the
 * default is tuned for real guests); test loops run more often than that.
 */
export const TEST_HOTNESS = 50;

/** The same board twice: one hart compiling hot code, one only interpreting. */
export interface Twin {
  jit: LazyBoard;
  ref: LazyBoard;
}

/** The block compiler's back ends: JS source, or WebAssembly (needs RAM in a flat wasm memory). */
export type Backend = "js" | "wasm";
export const BACKENDS: readonly Backend[] = ["js", "wasm"];

export function twin(size: number, setup: (b: LazyBoard) => void = () => {}, backend: Backend = "js"): Twin {
  const jit = new LazyBoard(size, { jitHotness: TEST_HOTNESS, compiler: backend }, backend === "wasm");
  const ref = new LazyBoard(size, { jit: false });
  setup(jit);
  setup(ref);
  return { jit, ref };
}

/** Everything a run can change besides memory: registers, pc, counts, trap and paging CSRs. */
export function hartState(b: LazyBoard) {
  const h = b.hart;
  const c = h.csr;
  return {
    pc: h.pc >>> 0,
    steps: h.steps,
    traps: h.traps,
    x: Array.from(h.x),
    csr: [
      c.mstatus,
      c.mepc,
      c.mcause,
      c.mtval,
      c.mtvec,
      c.mscratch,
      c.sepc,
      c.scause,
      c.stval,
      c.satp,
      c.priv,
    ],
    reserved: h.reserved,
    device: b.deviceWrites.join(","),
  };
}

/** Fails unless both harts are in the same state (and, `withMemory`, hold the same pages). */
export function expectSame(t: Twin, label: string, withMemory = true): void {
  expect(hartState(t.jit), label).toEqual(hartState(t.ref));
  if (withMemory) expectSameMemory(t.jit, t.ref, label);
}

/** Fails unless both boards hold the same pages with the same bytes. */
export function expectSameMemory(jit: LazyBoard, ref: LazyBoard, label: string): void {
  const a = jit.memory();
  const b = ref.memory();
  expect(
    a.map(([i]) => i),
    `${label}: allocated pages`,
  ).toEqual(b.map(([i]) => i));
  for (let k = 0; k < a.length; k++) {
    if (Buffer.compare(a[k]![1], b[k]![1]) !== 0) expect.fail(`${label}: page ${a[k]![0]} differs`);
  }
}

/** Runs both harts slice by slice and compares after each slice; returns the last stop reason. */
export function runBoth(t: Twin, slices: number[], label: string, withMemory = true): StopReason {
  let reason: StopReason = StopReason.Budget;
  for (const [k, n] of slices.entries()) {
    reason = t.jit.hart.run(n);
    expect(t.ref.hart.run(n), `${label} slice ${k}`).toBe(reason);
    expectSame(t, `${label} after slice ${k} (${n} steps)`, withMemory);
  }
  return reason;
}

/** Slice sizes taken in turn from `sizes` until they add up to at least `total`. */
export const cycle = (sizes: number[], total: number): number[] => {
  const out: number[] = [];
  for (let sum = 0, k = 0; sum < total; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(n);
    sum += n;
  }
  return out;
};
