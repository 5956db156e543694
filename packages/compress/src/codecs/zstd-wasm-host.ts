/**
 * Outside browsers (`#zstd-wasm` without the "browser" condition) the binding's Node entry
 * reads its own `zstd.wasm` from the installed package: nothing to pass in.
 */
export async function defaultZstdWasm(): Promise<Uint8Array | undefined> {
  return undefined;
}
