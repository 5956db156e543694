import { initCodecs, xxh64 } from "@amber/compress";
import { createBLAKE3, type IHasher } from "hash-wasm";
import { CheckpointError } from "./errors.js";

/**
 * BLAKE3-256 names images and covers every section and segment; XXH64 (from
 * @amber/compress) checks the header, the tables and each compressed block. BLAKE3 because
 * a digest that *names* an image and identifies its parent must not collide even when a
 * guest chooses the memory contents; XXH64 is only an accident detector.
 */
let hasher: IHasher | undefined;
let loading: Promise<void> | undefined;

/** Loads the WASM modules (zstd, xxhash, BLAKE3) once; everything else is synchronous. */
export function initCheckpoint(): Promise<void> {
  // A backend that takes every input (minBytes 0: Node's native one) spares the WASM BLAKE3;
  // call again after removing it (useBlake3Backend(undefined)) to load the WASM one.
  const wasm = backend?.minBytes === 0 ? undefined : initWasmBlake3();
  return Promise.all([initCodecs(), wasm]).then(() => {});
}

function initWasmBlake3(): Promise<void> {
  loading ??= createBLAKE3(256).then((h) => {
    hasher = h;
  });
  return loading;
}

function blake(): IHasher {
  if (hasher === undefined) {
    throw new CheckpointError("NOT_INITIALIZED", "checkpoint used before `await initCheckpoint()`");
  }
  return hasher;
}

/**
 * A faster BLAKE3 a host may supply (Node: a native addon, see "@amber/checkpoint/node"):
 * the same function, so images and digests are the same whichever computes them. It is used
 * for inputs of at least `minBytes`, the WASM one for smaller ones; with `minBytes` 0 for
 * all, and `initCheckpoint` does not load the WASM one.
 */
export interface Blake3Backend {
  minBytes: number;
  /** Undefined when it cannot run after all: WASM then (only where minBytes > 0). */
  hash(bytes: Uint8Array): Uint8Array | undefined;
  create(): { update(bytes: Uint8Array): void; digest(): Uint8Array } | undefined;
}

let backend: Blake3Backend | undefined;

/** Uses `b` for BLAKE3 from now on (undefined: the WASM one for all, after `initCheckpoint()`). */
export function useBlake3Backend(b: Blake3Backend | undefined): void {
  backend = b;
}

/**
 * Incremental BLAKE3-256; several may be in progress at once (each keeps its own state).
 * The backend is chosen by the first update's size (a segment's blocks are 128 KiB).
 */
export class Blake3 {
  private state: Uint8Array | undefined;
  private fast: { update(bytes: Uint8Array): void; digest(): Uint8Array } | undefined;

  update(bytes: Uint8Array): void {
    if (this.fast === undefined && this.state === undefined && backend !== undefined) {
      if (bytes.length >= backend.minBytes) this.fast = backend.create();
    }
    if (this.fast !== undefined) {
      this.fast.update(bytes);
      return;
    }
    // hash-wasm has one hasher instance; interleaved hashes save and load its state.
    const h = blake();
    if (this.state === undefined) h.init();
    else h.load(this.state);
    h.update(bytes);
    this.state = h.save();
  }

  digest(): Uint8Array {
    if (this.fast !== undefined) return this.fast.digest();
    // Nothing hashed (a segment with no pages): the one-shot hash of nothing, by either backend.
    if (this.state === undefined) return blake3(new Uint8Array(0));
    const h = blake();
    if (this.state === undefined) h.init();
    else h.load(this.state);
    return h.digest("binary");
  }
}

export function blake3(bytes: Uint8Array): Uint8Array {
  const fast = backend !== undefined && bytes.length >= backend.minBytes ? backend.hash(bytes) : undefined;
  if (fast !== undefined) return fast;
  const h = blake();
  h.init();
  h.update(bytes);
  return h.digest("binary");
}

export function checksum64(bytes: Uint8Array): bigint {
  return xxh64(bytes);
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
