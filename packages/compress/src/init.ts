import { initChecksum } from "./checksum.js";
import { registerCodec } from "./codec-registry.js";
import { lz4Codec } from "./codecs/lz4.js";
import { noneCodec } from "./codecs/none.js";
import { type ZlibLike, zlibCodecs } from "./codecs/zlib.js";
import { deferZstd, initZstd, type ZstdWasmSource, zstdCodec } from "./codecs/zstd.js";

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
  /**
   * When to load zstd's module. "on-first-use" (the default): in Node, synchronously the
   * first time a zstd block is encoded or decoded (a few ms and several MiB resident, which
   * a process that meets only uncompressed or lz4 data never pays); where that is impossible
   * (browser builds) it is loaded now. "now": load it here, as a `zstdWasm` given also does.
   */
  zstd?: "now" | "on-first-use";
}

/**
 * Loads the WASM modules (xxhash64 now; zstd now or on first use, see `zstd`) once. Every
 * other call in the package is synchronous and throws NOT_INITIALIZED if this has not
 * resolved yet. Safe to call often. Nothing happens at import time (no top-level await).
 */
export async function initCodecs(options: InitCodecsOptions = {}): Promise<void> {
  const now = options.zstd === "now" || options.zstdWasm !== undefined || !deferZstd();
  const zstd = now ? initZstd(options.zstdWasm) : undefined;
  await Promise.all([initChecksum(), zstd]);
}

/** Registers deflate (raw) and brotli backed by the host's zlib, e.g. Node's `node:zlib`. */
export function registerZlibCodecs(zlib: ZlibLike): void {
  for (const codec of zlibCodecs(zlib)) registerCodec(codec);
}
