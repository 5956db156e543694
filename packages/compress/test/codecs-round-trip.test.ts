import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as zlib from "node:zlib";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CompressError,
  codecByName,
  decodeBlock,
  encodeBlock,
  initCodecs,
  lz4DecodeBlock,
  registerZlibCodecs,
} from "../src/index.js";
import { expectBytes } from "./support/expect-bytes.js";
import { noise } from "./support/noise.js";

beforeAll(async () => {
  await initCodecs();
  registerZlibCodecs(zlib);
});

const CODECS = ["none", "lz4", "zstd", "deflate", "brotli"];

/** Data with structure codecs can find: repeats at random distances, runs, and noise. */
const structured = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.record({ byte: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ back: fc.integer({ min: 1, max: 70000 }), n: fc.integer({ min: 4, max: 500 }) }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => {
    const out: number[] = [];
    for (const p of parts) {
      if (p instanceof Uint8Array) out.push(...p);
      else if ("byte" in p) for (let i = 0; i < p.n; i++) out.push(p.byte);
      else if (out.length > 0) {
        const from = Math.max(0, out.length - p.back);
        for (let i = 0; i < p.n; i++) out.push(out[from + (i % (out.length - from))]);
      }
    }
    return Uint8Array.from(out);
  });

describe("codecs", () => {
  it.each(CODECS)("%s round-trips structured data", (name) => {
    const codec = codecByName(name);
    fc.assert(
      fc.property(structured, (data) => {
        expectBytes(codec.decode(codec.encode(data), data.length), data);
      }),
      { numRuns: name === "brotli" ? 40 : 150 },
    );
  });

  it.each(CODECS)("%s round-trips empty, tiny and incompressible input", (name) => {
    const codec = codecByName(name);
    for (const data of [
      new Uint8Array(0),
      Uint8Array.of(7),
      noise(13, 1),
      noise(70_000, 2),
      new Uint8Array(200_000),
    ]) {
      expectBytes(codec.decode(codec.encode(data), data.length), data);
    }
  });

  it.each(CODECS)("%s refuses to decode to a length other than the declared one", (name) => {
    const codec = codecByName(name);
    const data = new Uint8Array(10_000).fill(3);
    const stored = codec.encode(data);
    for (const wrong of [0, 9_999, 10_001, 1 << 24]) {
      expect(() => codec.decode(stored, wrong)).toThrow(CompressError);
    }
  });

  it("zstd levels trade speed for size", () => {
    const zstd = codecByName("zstd");
    const data = new Uint8Array(200_000);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7) % 251) ^ (i >> 9);
    const sizes = [1, 3, 19].map((level) => zstd.encode(data, level).length);
    expect(sizes[2]).toBeLessThanOrEqual(sizes[0]);
    expect(() => zstd.encode(data, 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("self-describing blocks carry their codec id", () => {
    const data = noise(5000, 9).map((b) => b & 0x0f);
    for (const codec of CODECS) {
      const block = encodeBlock(data, { codec });
      expect(block[4]).toBe(codecByName(codec).id);
      expectBytes(decodeBlock(block), data);
    }
  });
});

describe("interoperability with the reference command-line tools", () => {
  const data = new Uint8Array(300_000);
  for (let i = 0; i < data.length; i++)
    data[i] = "amber pages, zero and delta\n".charCodeAt(i % 28) ^ (i >> 12);

  it.skipIf(!existsSync("/usr/bin/zstd"))("decodes a frame written by zstd(1) that declares its size", () => {
    // From a pipe zstd(1) omits the content size unless told it; frames without one are refused.
    const frame = execFileSync("/usr/bin/zstd", ["-3", "-c", "-q", `--stream-size=${data.length}`], {
      input: data,
    });
    expectBytes(codecByName("zstd").decode(new Uint8Array(frame), data.length), data);
  });

  it.skipIf(!existsSync("/usr/bin/lz4"))("decodes the blocks of a frame written by lz4(1)", () => {
    // -B4: 64 KiB blocks; -BI: independent blocks; --no-frame-crc keeps the frame simple.
    const frame = new Uint8Array(
      execFileSync("/usr/bin/lz4", ["-B4", "-BI", "--no-frame-crc", "-c", "-q"], { input: data }),
    );
    const view = new DataView(frame.buffer, frame.byteOffset);
    const flags = frame[4];
    let pos = 7 + ((flags & 0x08) !== 0 ? 8 : 0);
    const parts: Uint8Array[] = [];
    for (;;) {
      const word = view.getUint32(pos, true);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      const body = frame.subarray(pos, pos + size);
      pos += size + ((flags & 0x10) !== 0 ? 4 : 0);
      const rawLength = Math.min(65536, data.length - parts.reduce((a, p) => a + p.length, 0));
      parts.push(word & 0x80000000 ? body : lz4DecodeBlock(body, rawLength));
    }
    expectBytes(Uint8Array.from(parts.flatMap((p) => [...p])), data);
  });
});
