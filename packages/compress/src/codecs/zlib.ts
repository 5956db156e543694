import type { Codec } from "../codec.js";
import { CODEC_IDS } from "../codec.js";
import { CompressError } from "../errors.js";

/**
 * The subset of Node's `zlib` module these codecs need. The host passes it in
 * (`registerZlibCodecs(await import("node:zlib"))`) so this package's sources never import
 * `node:`; a browser has no synchronous deflate/brotli and simply does not register them.
 */
export interface ZlibLike {
  deflateRawSync(buf: Uint8Array, options?: { level?: number }): Uint8Array;
  inflateRawSync(buf: Uint8Array, options?: { maxOutputLength?: number }): Uint8Array;
  brotliCompressSync(buf: Uint8Array, options?: { params?: Record<number, number> }): Uint8Array;
  brotliDecompressSync(buf: Uint8Array, options?: { maxOutputLength?: number }): Uint8Array;
  constants: { BROTLI_PARAM_QUALITY: number; BROTLI_PARAM_SIZE_HINT: number };
}

function checked(name: string, run: () => Uint8Array, rawLength: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = run();
  } catch (err) {
    throw new CompressError("CODEC_ERROR", `${name}: ${(err as Error).message}`, 0, `a valid ${name} stream`);
  }
  if (out.length !== rawLength) {
    throw new CompressError(
      "CODEC_ERROR",
      `${name} stream decodes to ${out.length} bytes`,
      0,
      `${rawLength} bytes`,
    );
  }
  // Node returns a Buffer; callers get a plain Uint8Array view of the same memory.
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function zlibCodecs(zlib: ZlibLike): Codec[] {
  const deflate: Codec = {
    id: CODEC_IDS.deflate,
    name: "deflate",
    defaultLevel: 6,
    encode: (raw, level = 6) => new Uint8Array(zlib.deflateRawSync(raw, { level })),
    // maxOutputLength makes zlib stop (and throw) instead of inflating a bomb.
    decode: (stored, rawLength) =>
      checked(
        "deflate",
        () => zlib.inflateRawSync(stored, { maxOutputLength: Math.max(1, rawLength) }),
        rawLength,
      ),
  };
  const brotli: Codec = {
    id: CODEC_IDS.brotli,
    name: "brotli",
    defaultLevel: 5,
    encode: (raw, level = 5) =>
      new Uint8Array(
        zlib.brotliCompressSync(raw, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: level,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
          },
        }),
      ),
    decode: (stored, rawLength) =>
      checked(
        "brotli",
        () => zlib.brotliDecompressSync(stored, { maxOutputLength: Math.max(1, rawLength) }),
        rawLength,
      ),
  };
  return [deflate, brotli];
}
