import type { RamWindow } from "./bus.js";

/**
 * What the hart's run loop needs from a block compiler's run-time side; `BlockCache`
 * (JS back end) and `WasmBlockCache` (WebAssembly back end) provide it.
 */
export interface RegionCache {
  /** pc of the region block start in each slot ((pc >>> 1) & JIT_MASK), or an odd "empty" tag. */
  readonly tag: Int32Array;
  /** Interpreted executions of uncompiled pcs per slot. */
  readonly hot: Uint16Array;
  /** Executions after which a pc is compiled. */
  readonly hotness: number;
  /**
   * How much an interpreted execution reached backwards (a loop head, most likely) counts
   * towards `hotness`; 1 where every block start counts alike.
   */
  readonly loopWeight: number;
  /** Steps taken by the last `enter`. */
  readonly steps: number;
  /** Regions compiled since the last flush. */
  readonly compiledRegions: number;
  attach(ram: RamWindow): void;
  flush(): void;
  /** Runs compiled code from `pc` for at most `budget` steps; returns the pc to interpret next. */
  enter(pc: number, budget: number): number;
  /** Drops every region with code in the bytes [a, a+size). */
  invalidate(a: number, size: number): void;
}
