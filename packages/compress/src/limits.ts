/**
 * Bounds that every decode path checks declared sizes against BEFORE allocating, so a
 * crafted header cannot make the reader allocate more than the caller agreed to.
 */
export interface DecodeLimits {
  /** Largest decompressed block (page records) accepted. */
  maxBlockBytes: number;
  /** Largest page count a framed image may declare. */
  maxPages: number;
  /** Largest block count a framed image may declare (bounds the index allocation). */
  maxBlocks: number;
  /** Largest total output of a whole-data decode (decodeBlock, decodeStream, readAll). */
  maxOutputBytes: number;
}

export const DEFAULT_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBlockBytes: 16 * 1024 * 1024,
  // 2^26 pages of 4 KiB is 256 GiB: far beyond any guest we run, still a small index.
  maxPages: 2 ** 26,
  maxBlocks: 2 ** 22,
  maxOutputBytes: 1024 * 1024 * 1024,
});

export function resolveLimits(limits: Partial<DecodeLimits> | undefined): DecodeLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
