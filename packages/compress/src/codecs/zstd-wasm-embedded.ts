import { ZSTD_WASM_BYTES, ZSTD_WASM_GZIP_BASE64 } from "./zstd-wasm-gzip.js";

/**
 * The zstd WASM module carried inside the JavaScript (gzipped, base64), for browser builds:
 * a bundler resolves `#zstd-wasm` here under the "browser" condition, so the bundle needs no
 * `.wasm` asset beside it and no fetch. Unpacked with the platform's DecompressionStream.
 */
export async function defaultZstdWasm(): Promise<Uint8Array | undefined> {
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
