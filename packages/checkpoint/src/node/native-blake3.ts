import { createRequire } from "node:module";
import { type Blake3Backend, useBlake3Backend } from "../hash.js";

/** The part of @napi-rs/blake-hash used here (Rust's BLAKE3 with the host's SIMD). */
interface BlakeHash {
  blake3(input: Buffer): Buffer;
  Blake3Hasher: new () => { update(input: Buffer): unknown; digestBuffer(): Buffer };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * BLAKE3 through the native addon: measured ≈ 7× the WASM one on 32 MiB here (it is the
 * cost of hashing a full save). Optional: where the addon does not load (another platform,
 * a bundle without it) the WASM BLAKE3 stays; both compute the same function. Loaded on
 * first use (a resume that hashes only small records never loads it).
 */
export function nativeBlake3(): Blake3Backend | undefined {
  let mod: BlakeHash | undefined;
  let failed = false;
  const load = (): BlakeHash | undefined => {
    if (mod === undefined && !failed) {
      try {
        mod = createRequire(import.meta.url)("@napi-rs/blake-hash") as BlakeHash;
      } catch {
        failed = true; // no binary for this platform: the WASM BLAKE3 does it all
      }
    }
    return mod;
  };
  try {
    createRequire(import.meta.url).resolve("@napi-rs/blake-hash");
  } catch {
    return undefined;
  }
  return {
    minBytes: NATIVE_FROM,
    hash: (bytes) => {
      const m = load();
      return m === undefined ? undefined : new Uint8Array(m.blake3(asBuffer(bytes)));
    },
    create: () => {
      const m = load();
      if (m === undefined) return undefined;
      const h = new m.Blake3Hasher();
      return {
        update: (bytes) => {
          h.update(asBuffer(bytes));
        },
        digest: () => new Uint8Array(h.digestBuffer()),
      };
    },
  };
}

/** Below this many bytes the WASM BLAKE3 (already loaded) is used. */
const NATIVE_FROM = 64 * 1024;

/** Installs the native BLAKE3 if its addon is installed; returns whether it is. */
export function useNativeBlake3(): boolean {
  const b = nativeBlake3();
  if (b !== undefined) useBlake3Backend(b);
  return b !== undefined;
}
