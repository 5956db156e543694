import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type ByteSource, FramedReader, FramedWriter, initCodecs, isCompressError } from "../src/index.js";
import { expectBytes } from "./support/expect-bytes.js";
import { noise } from "./support/noise.js";

beforeAll(() => initCodecs());

/** A file-like source over `file` that reads into the caller's buffers, and notes which ones. */
function readIntoSource(file: Uint8Array): ByteSource & { buffers: Set<ArrayBufferLike>; reads: number } {
  const buffers = new Set<ArrayBufferLike>();
  const source = {
    size: file.length,
    buffers,
    reads: 0,
    read: (offset: number, length: number) => file.slice(offset, offset + length),
    readInto(offset: number, into: Uint8Array): number {
      buffers.add(into.buffer);
      source.reads++;
      const bytes = file.subarray(offset, offset + into.length);
      into.set(bytes);
      return bytes.length;
    },
  };
  return source;
}

/** Pages of every kind against a base: fill, random, duplicates, same as base, small deltas. */
function pagesAndBase(kinds: number[], pageSize: number): { pages: Uint8Array[]; base: Uint8Array[] } {
  const base = kinds.map((_, n) => noise(pageSize, 1000 + n));
  const pages = kinds.map((k, n) => {
    switch (k % 5) {
      case 0:
        return new Uint8Array(pageSize).fill(k % 3 === 0 ? 0 : k);
      case 1:
        return noise(pageSize, n + 1);
      case 2:
        return n > 0 ? noise(pageSize, n) : base[n].slice(); // the previous page again: a REF
      case 3:
        return base[n].slice();
      default: {
        const p = base[n].slice();
        p[(k * 37) % pageSize] ^= 0x5a;
        p[pageSize - 1] ^= 1;
        return p;
      }
    }
  });
  return { pages, base };
}

describe("FramedReader.pageView", () => {
  it("gives every page's bytes, in any order, for every codec and cache size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 48 }),
        fc.constantFrom("none", "lz4", "zstd"),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1024, max: 16384 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (kinds, codec, cacheBlocks, blockBytes, order) => {
          const pageSize = 1024;
          const { pages, base } = pagesAndBase(kinds, pageSize);
          const basePage = (n: number) => base[n];
          const writer = new FramedWriter({ pageSize, codec, blockBytes, basePage });
          for (const p of pages) writer.addPage(p);
          const source = readIntoSource(writer.finish());
          const reader = FramedReader.open(source, { basePage, cacheBlocks });
          // Each view is checked before the next read, as its contract asks.
          for (const o of [...order, ...pages.keys()]) {
            const n = o % pages.length;
            expectBytes(reader.pageView(n), pages[n]);
            expectBytes(reader.readPage(n), pages[n]);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("reads a stored file block after block into a few buffers, not one per block", () => {
    const pageSize = 4096;
    const pages = Array.from({ length: 64 }, (_, n) => noise(pageSize, 2 * n + 1));
    const writer = new FramedWriter({ pageSize, codec: "none", maxPagesPerBlock: 4 });
    for (const p of pages) writer.addPage(p);
    const source = readIntoSource(writer.finish());
    const reader = FramedReader.open(source, { cacheBlocks: 2 });
    expect(reader.blockCount).toBe(16);
    for (const [n, p] of pages.entries()) expectBytes(reader.pageView(n), p);
    expect(source.reads).toBe(reader.blockCount);
    // The cached blocks' buffers and the spare one, reused from block to block.
    expect(source.buffers.size).toBeLessThanOrEqual(3);
    // A copy from readPage outlives the reads after it; it is the reader's buffer no more.
    const kept = reader.readPage(0);
    for (let n = 8; n < 64; n++) reader.pageView(n);
    expectBytes(kept, pages[0]);
  });

  it("reports a damaged block as readPage does, before any of its pages is given", () => {
    const pageSize = 4096;
    const pages = Array.from({ length: 32 }, (_, n) => noise(pageSize, 2 * n + 101));
    const writer = new FramedWriter({ pageSize, codec: "none", maxPagesPerBlock: 8 });
    for (const p of pages) writer.addPage(p);
    const file = writer.finish();
    const intact = FramedReader.open(file);
    const damagedBlock = 2;
    const e = intact.index[damagedBlock];
    file[e.offset + e.storedLength - 100] ^= 0x10;
    const firstDamaged = e.firstPage;

    const outcome = (read: () => Uint8Array): string => {
      try {
        read();
        return "read";
      } catch (x) {
        if (!isCompressError(x)) throw x;
        return `${x.code} at ${x.offset}`;
      }
    };
    const viewer = FramedReader.open(readIntoSource(file), { cacheBlocks: 1 });
    const copier = FramedReader.open(readIntoSource(file), { cacheBlocks: 1 });
    // Blocks before it fill the cache and the spare buffer the damaged block is read into.
    for (let n = 0; n < firstDamaged; n++) expectBytes(viewer.pageView(n), pages[n]);
    const viewed = outcome(() => viewer.pageView(firstDamaged));
    expect(viewed).toMatch(/^CHECKSUM_MISMATCH at /);
    expect(viewed).toBe(outcome(() => copier.readPage(firstDamaged)));
    expect(outcome(() => viewer.pageView(firstDamaged + 1))).toBe(viewed);
    // The other blocks still read, the one cached before the damage included.
    expectBytes(viewer.pageView(firstDamaged - 1), pages[firstDamaged - 1]);
    for (let n = e.firstPage + e.pageCount; n < pages.length; n++) expectBytes(viewer.pageView(n), pages[n]);
  });
});
