import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CompressError,
  codecByName,
  decodeBlock,
  decodeStream,
  encodeBlock,
  encodeStream,
  FramedReader,
  initCodecs,
  lz4DecodeBlock,
  lz4EncodeBlock,
} from "../src/index.js";
import { expectBytes } from "./support/expect-bytes.js";
import { noise } from "./support/noise.js";
import { reseal } from "./support/reseal.js";
import { sampleBase, sampleImage, samplePages } from "./support/sample-image.js";

beforeAll(() => initCodecs());

/** Opens and reads every page; returns normally or throws — the caller checks what. */
function readEverything(file: Uint8Array): void {
  const reader = FramedReader.open(file, { basePage: sampleBase });
  for (let n = 0; n < reader.pageCount; n++) reader.readPage(n);
}

/** Only a CompressError (with a code) may escape: no RangeError, no WASM trap, no TypeError. */
function onlyTypedErrors(run: () => void): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof CompressError)) throw err;
    expect(typeof err.code).toBe("string");
  }
}

const INTERESTING_U32 = [0, 1, 2, 255, 4096, 65535, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

type Mutation =
  | { kind: "flip"; at: number; bit: number; sealed: boolean }
  | { kind: "truncate"; at: number }
  | { kind: "u32"; at: number; value: number; sealed: boolean }
  | { kind: "splice"; at: number; insert: boolean; sealed: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
    sealed: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("u32" as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat()),
    sealed: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("splice" as const),
    at: fc.nat(),
    insert: fc.boolean(),
    sealed: fc.boolean(),
  }),
);

function mutate(file: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % file.length;
  let out: Uint8Array;
  switch (m.kind) {
    case "flip":
      out = file.slice();
      out[at] ^= 1 << m.bit;
      return m.sealed ? reseal(out) : out;
    case "truncate":
      return file.slice(0, at);
    case "u32":
      out = file.slice();
      new DataView(out.buffer).setUint32(Math.min(at, out.length - 4), m.value, true);
      return m.sealed ? reseal(out) : out;
    case "splice":
      out = m.insert
        ? Uint8Array.from([...file.subarray(0, at), 0x5a, ...file.subarray(at)])
        : Uint8Array.from([...file.subarray(0, at), ...file.subarray(at + 1)]);
      return m.sealed ? reseal(out) : out;
  }
}

describe("hostile framed images", () => {
  it.each(["none", "lz4", "zstd"])("mutated %s images give only typed errors (fuzz)", (codec) => {
    const file = sampleImage(codec);
    const pages = samplePages();
    fc.assert(
      fc.property(mutation, (m) => {
        const bad = mutate(file, m);
        onlyTypedErrors(() => {
          const reader = FramedReader.open(bad, { basePage: sampleBase });
          // Unsealed damage must never read back as wrong data silently.
          for (let n = 0; n < reader.pageCount; n++) {
            const page = reader.readPage(n);
            if (!("sealed" in m) || !m.sealed) expectBytes(page, pages[n]);
          }
        });
      }),
      { numRuns: 1000 },
    );
  });

  it("names the offset and what was expected", () => {
    const file = sampleImage("zstd");
    const flipped = file.slice();
    flipped[40] ^= 1; // inside the first block
    const err = (() => {
      try {
        readEverything(flipped);
      } catch (e) {
        return e as CompressError;
      }
    })();
    expect(err).toMatchObject({ code: "CHECKSUM_MISMATCH", offset: 32 });
    expect(err?.expected).toMatch(/^xxh64 0x/);
  });

  it("rejects absurd declared sizes before allocating", () => {
    const file = sampleImage("lz4");
    const view = new DataView(file.buffer);
    const footer = file.length - 40;
    const blockCount = view.getUint32(footer + 8, true);
    const indexOffset = footer - blockCount * 40;

    const manyBlocks = file.slice();
    new DataView(manyBlocks.buffer).setUint32(footer + 8, 0xffff_ffff, true);
    expect(() => FramedReader.open(reseal(manyBlocks))).toThrow(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );

    const manyPages = file.slice();
    new DataView(manyPages.buffer).setUint32(footer + 12, 0xffff_ffff, true);
    expect(() => FramedReader.open(reseal(manyPages))).toThrow(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );

    const hugeBlock = file.slice();
    new DataView(hugeBlock.buffer).setUint32(indexOffset + 12, 0xffff_fff0, true);
    expect(() => FramedReader.open(reseal(hugeBlock))).toThrow(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );

    const outside = file.slice();
    new DataView(outside.buffer).setBigUint64(indexOffset, 1n << 40n, true);
    expect(() => FramedReader.open(reseal(outside))).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });

  it("checks the caller's limits", () => {
    const file = sampleImage("zstd");
    expect(() => FramedReader.open(file, { limits: { maxPages: 4 } })).toThrow(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );
    expect(() => FramedReader.open(file, { limits: { maxBlockBytes: 100 } })).toThrow(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );
    expect(() => FramedReader.open(file, { limits: { maxOutputBytes: 1000 } }).readAll()).toThrow(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );
  });

  it("refuses unknown incompatible features and versions", () => {
    const file = sampleImage("lz4");
    const feature = file.slice();
    feature[13] = 0x80;
    expect(() => FramedReader.open(reseal(feature))).toThrow(
      expect.objectContaining({ code: "UNSUPPORTED_FEATURE" }),
    );
    const compat = file.slice();
    compat[17] = 0x80; // unknown compatible feature: ignored
    expect(FramedReader.open(reseal(compat)).pageCount).toBe(12);
    const version = file.slice();
    version[8] = 2;
    expect(() => FramedReader.open(reseal(version))).toThrow(
      expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
    );
  });
});

describe("hostile codec input", () => {
  it("lz4 decodes random bytes to typed errors only", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 5000 }),
        (bytes, rawLength) => {
          onlyTypedErrors(() => lz4DecodeBlock(bytes, rawLength));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("zstd decodes mutated frames to typed errors only", () => {
    const zstd = codecByName("zstd");
    const raw = noise(20_000, 4).map((b) => b & 0x07);
    const frame = zstd.encode(raw);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const bad = frame.slice();
        bad[at % bad.length] = value;
        onlyTypedErrors(() => zstd.decode(bad, raw.length));
      }),
      { numRuns: 500 },
    );
    // Still healthy after all that hostile input.
    expectBytes(zstd.decode(frame, raw.length), raw);
  });

  it("a decompression bomb is refused from its declared size, not by inflating it", () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    for (const codec of ["lz4", "zstd"]) {
      const bomb = encodeBlock(zeros, { codec });
      expect(bomb.length).toBeLessThan(40_000);
      expect(() => decodeBlock(bomb, { limits: { maxBlockBytes: 1024 * 1024 } })).toThrow(
        expect.objectContaining({ code: "LIMIT_EXCEEDED", offset: 8 }),
      );
    }
    // A zstd frame that lies about its size: it declares 4 GiB, the framing expects 4 KiB.
    const frame = codecByName("zstd").encode(new Uint8Array(4096));
    const lying = Uint8Array.from([
      ...frame.subarray(0, 4),
      0xc0,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      ...frame.subarray(6),
    ]);
    expect(() => codecByName("zstd").decode(lying, 4096)).toThrow(
      expect.objectContaining({ code: "CODEC_ERROR" }),
    );
    // An lz4 block that would expand past its declared size stops at it.
    const lz4 = lz4EncodeBlock(new Uint8Array(1 << 20));
    expect(() => lz4DecodeBlock(lz4, 4096)).toThrow(expect.objectContaining({ code: "CODEC_ERROR" }));
  });

  it("streams decode across any chunking and stop at limits and truncation", async () => {
    const data = noise(300_000, 8).map((b) => b & 0x0f);
    const blocks: Uint8Array[] = [];
    for await (const b of encodeStream([data.subarray(0, 1000), data.subarray(1000)], {
      chunkBytes: 65536,
      codec: "lz4",
    })) {
      blocks.push(b);
    }
    const stream = Uint8Array.from(blocks.flatMap((b) => [...b]));
    const pieces = [stream.subarray(0, 7), stream.subarray(7, 50_000), stream.subarray(50_000)];
    const out: number[] = [];
    for await (const chunk of decodeStream(pieces)) out.push(...chunk);
    expectBytes(Uint8Array.from(out), data);

    const drain = async (input: Uint8Array[], limits?: { maxOutputBytes: number }) => {
      for await (const _ of decodeStream(input, { limits })) {
        // drain
      }
    };
    await expect(drain([stream.subarray(0, stream.length - 1)])).rejects.toMatchObject({ code: "TRUNCATED" });
    await expect(drain([stream], { maxOutputBytes: 100_000 })).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
    const bad = stream.slice();
    bad[30] ^= 4;
    await expect(drain([bad])).rejects.toMatchObject({ code: "CHECKSUM_MISMATCH", offset: 24 });
  });
});
