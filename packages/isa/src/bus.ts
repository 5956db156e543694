/**
 * What the hart needs from the physical address space. `@amber/memory` implements it;
 * the hart knows nothing of regions, devices or files.
 *
 * Failures are values, not exceptions, so the interpreter never unwinds: `load` and
 * `fetch` return NaN and `store` returns false for an address nothing answers at.
 */
export interface Bus {
  /** Reads 1, 2 or 4 bytes little-endian (misaligned allowed), zero-extended; NaN on fault. */
  load(addr: number, size: 1 | 2 | 4): number;
  /** Writes the low `size` bytes of `value`; false on fault. */
  store(addr: number, size: 1 | 2 | 4, value: number): boolean;
  /** Reads a 16-bit instruction parcel from executable memory; NaN where code cannot run. */
  fetch(addr: number): number;
}

/**
 * Direct access to RAM pages so that loads, stores and fetches from RAM skip the bus.
 * Pages are 4 KiB; a missing page reads through the bus (init pattern, no allocation).
 */
export interface RamWindow {
  readonly base: number;
  readonly size: number;
  readonly pages8: ReadonlyArray<Uint8Array | undefined>;
  readonly pages16: ReadonlyArray<Uint16Array | undefined>;
  readonly pages32: ReadonlyArray<Int32Array | undefined>;
  /**
   * 1 where a store may write the page directly: it exists, is already dirty in the
   * current epoch and nobody watches it. 0 sends the store through `Bus.store`.
   */
  readonly fastWrite: Uint8Array;
  /** Asks that every later store to `page` go through `Bus.store` (used for code pages). */
  watch(page: number): void;
  /**
   * Set by the hart: RAM calls it when a watched page is written by anything (device
   * DMA, loaders), with the byte range relative to `base`, so decoded code is dropped.
   */
  onWatchedWrite?: ((offset: number, length: number) => void) | undefined;
}
