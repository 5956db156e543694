/**
 * Outside browsers (`#zstd-wasm` without the "browser" condition): zstd.wasm is read from a
 * file, synchronously, so it can also be loaded on first use. Node's built-ins are reached
 * through `process.getBuiltinModule` (Node ≥ 20.16), without an import, so this module adds
 * no dependency to a platform-neutral build.
 */
interface NodeHost {
  readFileSync(path: URL | string): Uint8Array;
  createRequire(from: string): { resolve(id: string): string };
}

function nodeHost(): NodeHost | undefined {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (typeof get !== "function") return undefined;
  const fs = get("node:fs") as Pick<NodeHost, "readFileSync"> | undefined;
  const mod = get("node:module") as Pick<NodeHost, "createRequire"> | undefined;
  if (fs === undefined || mod === undefined) return undefined;
  return { readFileSync: fs.readFileSync, createRequire: mod.createRequire };
}

export const canLoadZstdSync = nodeHost() !== undefined;

/**
 * `zstd.wasm` beside the running code (the bundled CLI ships it beside its chunks), else
 * the installed @bokuweb/zstd-wasm's, beside its Node entry.
 */
export function defaultZstdWasmSync(): Uint8Array {
  const host = nodeHost();
  if (host === undefined) throw new Error("no file system to read zstd.wasm from");
  try {
    return host.readFileSync(new URL("./zstd.wasm", import.meta.url));
  } catch {
    let entry: string;
    try {
      entry = host.createRequire(import.meta.url).resolve("@bokuweb/zstd-wasm");
    } catch {
      throw new Error("zstd.wasm is neither beside this module nor installed (@bokuweb/zstd-wasm)");
    }
    return host.readFileSync(entry.replace(/[^\\/]*$/, "zstd.wasm"));
  }
}

export async function defaultZstdWasm(): Promise<Uint8Array> {
  return defaultZstdWasmSync();
}
