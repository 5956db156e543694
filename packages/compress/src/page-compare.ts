/**
 * Whole-page scans done a 32-bit word at a time when the page is 4-byte aligned (pages cut
 * from RAM always are); this is what lets zero and duplicate pages pass at GB/s. Loops are
 * unrolled by four: measured ~2x faster than plain loops in V8 (pages are ≥ 512 B, so the
 * word count is a multiple of four).
 */

/** A 32-bit view of the page, or undefined when it is not 4-byte aligned. */
export function wordsOf(page: Uint8Array): Int32Array | undefined {
  return (page.byteOffset & 3) === 0 && (page.length & 15) === 0
    ? new Int32Array(page.buffer, page.byteOffset, page.length >>> 2)
    : undefined;
}

/** The byte every position of `page` holds, or -1 when the page is not one repeated byte. */
export function fillByteOf(page: Uint8Array, words = wordsOf(page)): number {
  const b = page[0];
  if (words !== undefined) {
    const v = Math.imul(b, 0x01010101);
    for (let i = 0; i < words.length; i += 4) {
      if (words[i] !== v || words[i + 1] !== v || words[i + 2] !== v || words[i + 3] !== v) return -1;
    }
    return b;
  }
  for (let i = 1; i < page.length; i++) if (page[i] !== b) return -1;
  return b;
}

export function wordsEqual(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2] || a[i + 3] !== b[i + 3])
      return false;
  }
  return true;
}

/** Whether two pages hold the same bytes (word-wise when both are aligned). */
export function pagesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const wa = wordsOf(a);
  const wb = wordsOf(b);
  if (wa !== undefined && wb !== undefined) return wordsEqual(wa, wb);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
