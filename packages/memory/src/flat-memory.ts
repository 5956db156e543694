/** Bytes reserved after RAM's flags for the hart (registers, compiled-code dispatch tables). */
export const FLAT_HOST_BYTES = 2 << 20;
/** One flag byte for each of the 2^20 pages a 32-bit offset can name. */
const FLAG_BYTES = 1 << 20;
const WASM_PAGE = 65536;
/** A wasm32 memory holds at most 65536 pages of 64 KiB (4 GiB). */
const WASM_MAX_PAGES = 65536;

/**
 * RAM laid out flat in one `WebAssembly.Memory` (the shape `@amber/isa`'s `FlatRam`
 * describes): RAM at offset 0, then the `fastWrite` flags (one byte per page, then zeros
 * up to 2^20 bytes, so that every page a 32-bit offset can name has a flag and those
 * beyond RAM read 0), the `fastRead` flags (the same), then `FLAT_HOST_BYTES` for the
 * hart. The memory is made at its full size and never grows, so views into it stay
 * valid; the host commits a page of it only when it is first touched, so untouched RAM
 * (and the flags of pages RAM does not have) still cost nothing.
 */
export interface FlatLayout {
  readonly memory: WebAssembly.Memory;
  readonly ramOffset: number;
  readonly fastWriteOffset: number;
  readonly fastReadOffset: number;
  readonly hostOffset: number;
  readonly hostSize: number;
}

/** The layout for `size` bytes of RAM, or undefined where WebAssembly or the memory is unavailable. */
export function flatLayout(size: number): FlatLayout | undefined {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.Memory !== "function") return undefined;
  const fastWriteOffset = size;
  const fastReadOffset = fastWriteOffset + FLAG_BYTES;
  const hostOffset = fastReadOffset + FLAG_BYTES;
  const pages = Math.ceil((hostOffset + FLAT_HOST_BYTES) / WASM_PAGE);
  if (pages > WASM_MAX_PAGES) return undefined;
  try {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    return { memory, ramOffset: 0, fastWriteOffset, fastReadOffset, hostOffset, hostSize: FLAT_HOST_BYTES };
  } catch {
    return undefined; // no address space for it: RAM keeps separate page buffers
  }
}
