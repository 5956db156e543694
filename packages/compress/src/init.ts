import { initChecksum } from "./checksum.js";
import { registerCodec } from "./codec-registry.js";
import { lz4Codec } from "./codecs/lz4.js";
import { noneCodec } from "./codecs/none.js";
import { type ZlibLike, zlibCodecs } from "./codecs/zlib.js";
import { initZstd, zstdCodec } from "./codecs/zstd.js";

// none, lz4 and zstd are always registered; zstd and the checksum need their WASM loaded.
registerCodec(noneCodec);
registerCodec(lz4Codec);
registerCodec(zstdCodec);

/**
 * Loads the WASM modules (zstd, xxhash64) once. Every other call in the package is
 * synchronous and throws NOT_INITIALIZED if this has not resolved yet. Safe to call often.
 */
export async function initCodecs(): Promise<void> {
  await Promise.all([initChecksum(), initZstd()]);
}

/** Registers deflate (raw) and brotli backed by the host's zlib, e.g. Node's `node:zlib`. */
export function registerZlibCodecs(zlib: ZlibLike): void {
  for (const codec of zlibCodecs(zlib)) registerCodec(codec);
}
