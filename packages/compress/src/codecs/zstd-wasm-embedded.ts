import { ZSTD_WASM_BYTES, ZSTD_WASM_GZIP_BASE64 } from "./zstd-wasm-gzip.js";

/**
 * The zstd WASM module carried inside the JavaScript (gzipped, base64), for browser builds:
 * a bundler resolves `#zstd-wasm` here under the "browser" condition, so the bundle needs no
 * `.wasm` asset beside it and no fetch. Unpacked with the platform's DecompressionStream.
 */
export async function defaultZstdWasm(): Promise<Uint8Array> {
  const binary = atob(ZSTD_WASM_GZIP_BASE64);
  const gz = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) gz[i] = binary.charCodeAt(i);
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const wasm = new Uint8Array(await new Response(stream).arrayBuffer());
  if (wasm.length !== ZSTD_WASM_BYTES) {
    throw new Error(`embedded zstd.wasm unpacked to ${wasm.length} bytes, expected ${ZSTD_WASM_BYTES}`);
  }
  return wasm;
}

/**
 * Browsers compile and instantiate a module of this size only asynchronously on their main
 * thread, and the embedded bytes unpack asynchronously: `initCodecs()` loads zstd, never its
 * first use.
 */
export const canLoadZstdSync = false;

export function defaultZstdWasmSync(): Uint8Array {
  throw new Error("zstd.wasm cannot be loaded synchronously in a browser build");
}
