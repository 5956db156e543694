import { initChecksum } from "./checksum.js";
import { registerCodec } from "./codec-registry.js";
import { lz4Codec } from "./codecs/lz4.js";
import { noneCodec } from "./codecs/none.js";
import { type ZlibLike, zlibCodecs } from "./codecs/zlib.js";
import { initZstd, type ZstdWasmSource, zstdCodec } from "./codecs/zstd.js";

// none, lz4 and zstd are always registered; zstd and the checksum need their WASM loaded.
registerCodec(noneCodec);
registerCodec(lz4Codec);
registerCodec(zstdCodec);

export interface InitCodecsOptions {
  /**
   * The zstd WASM module (bytes, or a URL to fetch). Not needed: Node reads it from the
   * installed binding and browser builds carry it embedded. Useful to serve it as a cached
   * asset instead (Vite `?url`, webpack `asset/resource`). The first successful call wins.
   */
  zstdWasm?: ZstdWasmSource;
}

/**
 * Loads the WASM modules (zstd, xxhash64) once. Every other call in the package is
 * synchronous and throws NOT_INITIALIZED if this has not resolved yet. Safe to call often.
 * Nothing happens at import time (no top-level await): the work starts here.
 */
export async function initCodecs(options: InitCodecsOptions = {}): Promise<void> {
  await Promise.all([initChecksum(), initZstd(options.zstdWasm)]);
}

/** Registers deflate (raw) and brotli backed by the host's zlib, e.g. Node's `node:zlib`. */
export function registerZlibCodecs(zlib: ZlibLike): void {
  for (const codec of zlibCodecs(zlib)) registerCodec(codec);
}
