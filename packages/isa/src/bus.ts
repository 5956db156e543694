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
 * Every page holding data is in `pages8`; `pages16` and `pages32` may still lack it (the
 * RAM makes those views on the page's first access through the bus), and `fastWrite` is 1
 * only for pages present in all three.
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
  /**
   * Present when RAM lies flat in one `WebAssembly.Memory` (the page arrays are views
   * into it); the WebAssembly region compiler needs it. See `FlatRam`.
   */
  readonly flat?: FlatRam | undefined;
  /**
   * RAM that can be laid out flat on request (when `flat` is still undefined): the
   * WebAssembly compiler calls it before its first region, so a hart that never compiles
   * never pays for the memory. Returns the layout, or undefined when it cannot.
   */
  makeFlat?(): FlatRam | undefined;
  /**
   * With `flat`: true while a load may read every RAM page straight from the memory (every
   * `fastRead` flag is 1: no page source, and never-written bytes read as zero), so that
   * compiled loads need only a bounds check. It may turn false later (a page source set
   * after code was compiled): the compiler then throws away what it compiled relying on it.
   */
  readonly loadsDirect?: boolean;
}

/**
 * RAM laid out in one `WebAssembly.Memory`, so that compiled WebAssembly reaches a guest
 * byte with one memory instruction. Offsets are bytes into `memory`; the memory never
 * grows, so views into it stay valid. Layout, as the owner of the RAM lays it out:
 *
 *   ramOffset        RAM byte k at ramOffset + k (page i = pages8[i], when allocated)
 *   fastWriteOffset  `fastWrite` itself (one byte per page), followed by zeros up to
 *                    2^20 bytes: one flag for every page a 32-bit offset can name, so
 *                    that the flag of an offset beyond RAM reads 0 (no bounds check)
 *   fastReadOffset   the same 2^20 bytes for loads: 1 where a load may read the memory
 *                    directly (the page holds data, or never-written bytes read as zero
 *                    and reading allocates nothing); 0 sends loads through `Bus.load`
 *   hostOffset       `hostSize` bytes the hart may use (registers, dispatch tables)
 */
export interface FlatRam {
  readonly memory: WebAssembly.Memory;
  readonly ramOffset: number;
  readonly fastWriteOffset: number;
  readonly fastReadOffset: number;
  readonly hostOffset: number;
  readonly hostSize: number;
}
