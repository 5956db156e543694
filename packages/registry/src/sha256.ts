import { createSHA256, type IHasher } from "hash-wasm";
import { RegistryError } from "./errors.js";

let hasher: IHasher | undefined;
let loading: Promise<void> | undefined;
let native: ((bytes: Uint8Array) => string) | undefined;

/**
 * Loads SHA-256 (hash-wasm, the same in Node and browsers) once; hashing is synchronous after.
 * Where the host's own is installed (`useNativeSha256`, as `@amber/registry/node` does), the
 * WASM one is never used, so it is not loaded: a CLI start does not pay for it.
 */
export function initRegistry(): Promise<void> {
  if (native !== undefined) return Promise.resolve();
  loading ??= createSHA256().then((h) => {
    hasher = h;
  });
  return loading;
}

/**
 * Hashes with the host's own SHA-256 (64 hex digits) instead of hash-wasm's: Node's
 * OpenSSL one is several times faster (`@amber/registry/node` installs it).
 */
export function useNativeSha256(fn: (bytes: Uint8Array) => string): void {
  native = fn;
}

/** `sha256:<64 hex>` of `bytes`, as OCI names blobs. */
export function sha256Digest(bytes: Uint8Array): string {
  if (native !== undefined) return `sha256:${native(bytes)}`;
  if (hasher === undefined)
    throw new RegistryError("NOT_INITIALIZED", "registry used before `await initRegistry()`");
  hasher.init();
  hasher.update(bytes);
  return `sha256:${hasher.digest("hex")}`;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: unknown): s is string {
  return typeof s === "string" && DIGEST.test(s);
}

/** `sha256:3f2a…c0de` shortened for messages. */
export function shortDigest(d: string): string {
  return d.length > 23 ? `${d.slice(0, 19)}…` : d;
}
