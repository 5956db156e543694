import type { Machine } from "../src/index.js";

/**
 * FNV-1a over every RAM page that holds data (index and bytes), skipping all-zero pages:
 * equal digests mean equal RAM, whether pages were written, restored or never touched.
 */
export function ramDigest(m: Machine): string {
  const source = [...m.checkpointInput().segments][0]!.pages as {
    pages(): Iterable<number>;
    readPage(i: number): Uint8Array;
  };
  let h = 0x811c9dc5;
  for (const i of source.pages()) {
    const p = source.readPage(i);
    if (p.every((b) => b === 0)) continue;
    h = Math.imul(h ^ i, 0x01000193);
    for (let j = 0; j < p.length; j++) h = Math.imul(h ^ p[j]!, 0x01000193);
  }
  return (h >>> 0).toString(16);
}
