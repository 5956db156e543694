import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodePages, encodePages, FramedReader, FramedWriter, initCodecs } from "../src/index.js";
import { expectBytes } from "./support/expect-bytes.js";
import { noise } from "./support/noise.js";

beforeAll(() => initCodecs());

type PageSpec =
  | { kind: "fill"; value: number }
  | { kind: "random"; seed: number }
  | { kind: "text"; seed: number }
  | { kind: "dup"; of: number };

function buildPages(specs: PageSpec[], pageSize: number): Uint8Array {
  const data = new Uint8Array(specs.length * pageSize);
  specs.forEach((s, i) => {
    const page = data.subarray(i * pageSize, (i + 1) * pageSize);
    if (s.kind === "fill") page.fill(s.value);
    else if (s.kind === "random") page.set(noise(pageSize, s.seed));
    else if (s.kind === "text") {
      const words = ["amber ", "page ", "zero ", "delta ", "riscv ", "\n"];
      let at = 0;
      let k = s.seed;
      while (at < pageSize) {
        const w = words[k++ % words.length];
        for (let j = 0; j < w.length && at < pageSize; j++) page[at++] = w.charCodeAt(j);
        k = (k * 7 + 3) % 1013;
      }
    } else if (i > 0) page.set(data.subarray((s.of % i) * pageSize, ((s.of % i) + 1) * pageSize));
  });
  return data;
}

const pageSpec: fc.Arbitrary<PageSpec> = fc.oneof(
  fc.record({
    kind: fc.constant("fill" as const),
    value: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant("random" as const), seed: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ kind: fc.constant("text" as const), seed: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ kind: fc.constant("dup" as const), of: fc.nat() }),
);

describe("framed page images round-trip", () => {
  it("restores random page mixes for every codec, page size and block size", () => {
    fc.assert(
      fc.property(
        fc.array(pageSpec, { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 9, max: 13 }),
        fc.constantFrom("none", "lz4", "zstd"),
        fc.integer({ min: 512, max: 32768 }),
        fc.boolean(),
        (specs, shift, codec, blockBytes, dedup) => {
          const pageSize = 2 ** shift;
          const data = buildPages(specs, pageSize);
          const file = encodePages(data, { pageSize, codec, blockBytes, dedup });
          const reader = FramedReader.open(file);
          expect(reader.pageCount).toBe(specs.length);
          expectBytes(reader.readAll(), data);
          for (let n = specs.length - 1; n >= 0; n -= 3) {
            expectBytes(reader.readPage(n), data.subarray(n * pageSize, (n + 1) * pageSize));
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it("stores each page kind as intended and reads it back", () => {
    const pageSize = 4096;
    const base = buildPages(
      [
        { kind: "random", seed: 1 },
        { kind: "random", seed: 2 },
        { kind: "random", seed: 3 },
        { kind: "text", seed: 4 },
      ],
      pageSize,
    );
    const pages = [
      new Uint8Array(pageSize), // fill 0
      new Uint8Array(pageSize).fill(0xa5), // fill a5
      base.slice(0, pageSize), // same as base 2? no: base page 2 differs -> raw or ref
      base.slice(0, pageSize), // duplicate of page 2 -> ref
      base.slice(3 * pageSize, 4 * pageSize), // page 4 vs base page 4 (absent) -> ref? no, unique text
      noise(pageSize, 99), // raw
    ];
    pages[4][7] ^= 1;
    // page 6 equals its base page exactly; page 7 differs in 3 bytes (delta); page 8 differs everywhere (raw)
    const basePages = new Map<number, Uint8Array>([
      [6, base.slice(pageSize, 2 * pageSize)],
      [7, base.slice(2 * pageSize, 3 * pageSize)],
      [8, base.slice(3 * pageSize, 4 * pageSize)],
    ]);
    const p7 = basePages.get(7)!.slice();
    p7[10] ^= 0xff;
    p7[2000] ^= 0x0f;
    p7[4095] ^= 1;
    pages.push(basePages.get(6)!.slice(), p7, noise(pageSize, 1234));
    const writer = new FramedWriter({ pageSize, basePage: (n) => basePages.get(n) });
    for (const p of pages) writer.addPage(p);
    const file = writer.finish();
    expect(writer.stats).toMatchObject({
      fillPages: 2,
      refPages: 1,
      basePages: 1,
      deltaPages: 1,
      rawPages: 4,
    });

    const reader = FramedReader.open(file, { basePage: (n) => basePages.get(n) });
    expect(pages.map((_, n) => reader.pageKind(n))).toEqual([
      "fill",
      "fill",
      "raw",
      "ref",
      "raw",
      "raw",
      "base",
      "delta",
      "raw",
    ]);
    for (const [n, p] of pages.entries()) expectBytes(reader.readPage(n), p);
  });

  it("falls back to a raw page when the delta is not smaller than the page", () => {
    const pageSize = 1024;
    const base = noise(pageSize, 5);
    const page = noise(pageSize, 6);
    const writer = new FramedWriter({ pageSize, basePage: () => base });
    writer.addPage(page);
    const file = writer.finish();
    expect(writer.stats.rawPages).toBe(1);
    expectBytes(FramedReader.open(file).readPage(0), page);
  });

  it("reports NEED_BASE when a delta page is read without its base", () => {
    const base = noise(4096, 7);
    const page = base.slice();
    page[100] ^= 1;
    const file = encodePages(page, { basePage: () => base });
    expect(() => FramedReader.open(file).readPage(0)).toThrow(expect.objectContaining({ code: "NEED_BASE" }));
    expectBytes(decodePages(file, { basePage: () => base }), page);
  });

  it("reads a page by decoding only the block that holds it", () => {
    const data = buildPages(
      Array.from({ length: 64 }, (_, i) => ({ kind: "random" as const, seed: i + 1 })),
      4096,
    );
    const file = encodePages(data, { blockBytes: 16 * 1024, codec: "lz4" });
    const reads: Array<[number, number]> = [];
    const reader = FramedReader.open({
      size: file.length,
      read: (offset, length) => {
        reads.push([offset, length]);
        return file.subarray(offset, offset + length);
      },
    });
    expect(reader.blockCount).toBeGreaterThan(8);
    reads.length = 0;
    expectBytes(reader.readPage(37), data.subarray(37 * 4096, 38 * 4096));
    expect(reads).toHaveLength(1);
    const entry = reader.index[reader.blockOf(37)];
    expect(reads[0]).toEqual([entry.offset, entry.storedLength]);
  });

  it("streams chunks through onChunk that concatenate to the same file", () => {
    const data = buildPages(
      [
        { kind: "text", seed: 1 },
        { kind: "fill", value: 0 },
        { kind: "random", seed: 3 },
      ],
      4096,
    );
    const chunks: Uint8Array[] = [];
    const writer = new FramedWriter({ onChunk: (c) => chunks.push(c.slice()) });
    writer.addPages(data);
    expect(writer.finish()).toHaveLength(0);
    const joined = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.length;
    }
    expectBytes(joined, encodePages(data));
  });

  it("encodes a run of zero pages in a few bytes", () => {
    const file = encodePages(new Uint8Array(1024 * 4096));
    expect(file.length).toBeLessThan(200);
  });
});
