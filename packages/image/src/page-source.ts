/**
 * Pages a writer stores: the image's dirty pages for a diff layer, every present page for
 * a flatten or a convert. Writers pull pages one at a time, so memory stays one page (or
 * one cluster) whatever the image size.
 */
export interface PageSource {
  /** Logical size in bytes. */
  readonly size: number;
  readonly pageSize: number;
  /** Byte that pages never written read as. */
  readonly initByte: number;
  /** Page numbers to store, ascending. */
  pages(): Iterable<number>;
  /** The page's bytes (pageSize; the last page of an odd-sized image is padded). */
  readPage(page: number): Uint8Array;
}

/** Whether every byte of `data` equals `value` (word-wise where alignment allows). */
export function isFilledWith(data: Uint8Array, value: number): boolean {
  if ((data.byteOffset & 3) === 0 && (data.length & 3) === 0) {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    const w = (value * 0x01010101) >>> 0;
    for (let i = 0; i < words.length; i++) if (words[i] !== w) return false;
    return true;
  }
  for (let i = 0; i < data.length; i++) if (data[i] !== value) return false;
  return true;
}
