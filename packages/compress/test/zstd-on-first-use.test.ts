import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { zstdLoaded } from "../src/codecs/zstd.js";
import { CompressError, codecByName, initCodecs, xxh64 } from "../src/index.js";
import { noise } from "./support/noise.js";

// Each test file has its own module instances: zstd starts unloaded here.
const ZSTD = "/usr/bin/zstd";

/** Pages with structure (runs and repeats) between noise, as RAM looks. */
function pages(bytes: number): Uint8Array {
  const out = noise(bytes, 7);
  for (let at = 0; at < bytes; at += 8192) out.fill(at & 0xff, at, at + 3000);
  return out;
}

describe("zstd loaded on first use (initCodecs() in Node)", () => {
  it("loads the checksum now and zstd only when a zstd block is first met", async () => {
    await initCodecs();
    await initCodecs({ zstd: "on-first-use" }); // the default, said explicitly
    expect(typeof xxh64(new Uint8Array(8))).toBe("bigint");
    expect(zstdLoaded()).toBe(false);
    // Other codecs do not load it.
    const lz4 = codecByName("lz4");
    const raw = pages(64 * 1024);
    expect(lz4.decode(lz4.encode(raw), raw.length)).toEqual(raw);
    expect(zstdLoaded()).toBe(false);
  });

  it.skipIf(!existsSync(ZSTD))("decodes zstd(1)'s frame on first use, synchronously", () => {
    const raw = pages(256 * 1024);
    const frame = execFileSync(ZSTD, ["-3", "-c", "-q", `--stream-size=${raw.length}`], { input: raw });
    expect(zstdLoaded()).toBe(false);
    const out = codecByName("zstd").decode(new Uint8Array(frame), raw.length);
    expect(zstdLoaded()).toBe(true);
    expect(Buffer.from(out).equals(Buffer.from(raw))).toBe(true);
  });

  it.skipIf(!existsSync(ZSTD))(
    "encodes what zstd(1) decodes, past the module's first 16 MiB of memory",
    () => {
      const raw = pages(20 * 1024 * 1024);
      const zstd = codecByName("zstd");
      const frame = zstd.encode(raw, 1);
      const back = execFileSync(ZSTD, ["-d", "-c", "-q"], { input: frame, maxBuffer: 32 * 1024 * 1024 });
      expect(back.length).toBe(raw.length);
      expect(xxh64(new Uint8Array(back))).toBe(xxh64(raw));
      expect(xxh64(zstd.decode(frame, raw.length))).toBe(xxh64(raw));
    },
  );

  it("reports a corrupt frame as CODEC_ERROR, and goes on decoding good ones", () => {
    const zstd = codecByName("zstd");
    const raw = pages(16 * 1024);
    const frame = zstd.encode(raw, 3);
    const bad = frame.slice();
    bad[bad.length - 8] ^= 0xff;
    bad[bad.length - 20] ^= 0x55;
    let err: unknown;
    try {
      zstd.decode(bad, raw.length);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompressError);
    expect((err as CompressError).code).toBe("CODEC_ERROR");
    expect(zstd.decode(frame, raw.length)).toEqual(raw);
  });
});
