import { canLoadZstdSync, defaultZstdWasm, defaultZstdWasmSync } from "#zstd-wasm";
import type { Codec } from "../codec.js";
import { CODEC_IDS } from "../codec.js";
import { CompressError } from "../errors.js";
import { zstdFrameContentSize } from "./zstd-frame-header.js";
import { instantiateZstd, instantiateZstdAsync, type ZstdBinding } from "./zstd-glue.js";

/**
 * zstd as @bokuweb/zstd-wasm builds it (MIT, zstd compiled to WASM, ~250 KB), chosen by
 * measurement (README.md): fastest of the maintained builds; driven by our own glue
 * (zstd-glue.ts). In Node the module is read from the installed package (or from a
 * `zstd.wasm` beside the running code, as the bundled CLI ships it); in browser builds
 * (`#zstd-wasm` under the "browser" condition) it comes embedded in this package's
 * JavaScript, so bundlers need no asset handling. `initCodecs({ zstdWasm })` can pass the
 * module's bytes or URL instead.
 *
 * In Node, by default, the module is not loaded until a zstd block is first encoded or
 * decoded, and then synchronously (read, compile, instantiate), so a process that meets no
 * zstd data never pays its start-up time and memory (`initCodecs({ zstd: "now" })` loads it
 * at once).
 */
let binding: ZstdBinding | undefined;
let loading: Promise<void> | undefined;
let onFirstUse = false;

/** Where the zstd WASM module comes from: its bytes, or a URL to fetch them from. */
export type ZstdWasmSource = Uint8Array | ArrayBuffer | URL | string;

async function wasmBytes(source: ZstdWasmSource | undefined): Promise<Uint8Array> {
  if (source === undefined) return defaultZstdWasm();
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const response = await fetch(source);
  if (!response.ok) {
    throw new CompressError("CODEC_ERROR", `zstd: fetching ${String(source)} gave HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

function invalid(): CompressError {
  return new CompressError("CODEC_ERROR", "zstd: the given zstd.wasm is not a valid WebAssembly module");
}

async function load(source: ZstdWasmSource | undefined): Promise<void> {
  const bytes = (await wasmBytes(source)) as Uint8Array<ArrayBuffer>;
  if (!WebAssembly.validate(bytes)) throw invalid();
  try {
    binding = await instantiateZstdAsync(await WebAssembly.compile(bytes));
  } catch (err) {
    throw new CompressError("CODEC_ERROR", `zstd: ${(err as Error).message}`);
  }
}

export function initZstd(source?: ZstdWasmSource): Promise<void> {
  if (binding !== undefined && loading === undefined) return Promise.resolve(); // loaded on first use
  loading ??= load(source).catch((err: unknown) => {
    loading = undefined; // a failed load may be retried, e.g. with another source
    throw err;
  });
  return loading;
}

/**
 * Leaves loading to zstd's first use where that can be done synchronously (Node); returns
 * whether it does (false in browser builds: initZstd must load it).
 */
export function deferZstd(): boolean {
  if (canLoadZstdSync) onFirstUse = true;
  return onFirstUse;
}

/** Whether zstd's module is loaded (tests and diagnostics). */
export function zstdLoaded(): boolean {
  return binding !== undefined;
}

function loadNow(): ZstdBinding {
  const bytes = defaultZstdWasmSync() as Uint8Array<ArrayBuffer>;
  if (!WebAssembly.validate(bytes)) throw invalid();
  try {
    return instantiateZstd(new WebAssembly.Module(bytes));
  } catch (err) {
    throw new CompressError("CODEC_ERROR", `zstd: ${(err as Error).message}`);
  }
}

function ready(): ZstdBinding {
  if (binding !== undefined) return binding;
  // An asynchronous load under way is left to finish; until then zstd is not initialised.
  if (onFirstUse && loading === undefined) {
    binding = loadNow();
    return binding;
  }
  throw new CompressError("NOT_INITIALIZED", "zstd used before `await initCodecs()`");
}

export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 22;

export const zstdCodec: Codec = {
  id: CODEC_IDS.zstd,
  name: "zstd",
  defaultLevel: 3,
  encode(raw, level = 3) {
    const zstd = ready();
    if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
      throw new CompressError("INVALID_ARGUMENT", `zstd level ${level}`, undefined, "an integer 1..22");
    }
    try {
      return zstd.compress(raw, level);
    } catch (err) {
      throw new CompressError("CODEC_ERROR", `zstd: ${(err as Error).message}`);
    }
  },
  decode(stored, rawLength) {
    const zstd = ready();
    const declared = zstdFrameContentSize(stored);
    if (declared !== rawLength) {
      throw new CompressError(
        "CODEC_ERROR",
        `zstd frame declares ${declared ?? "no"} content size`,
        0,
        `${rawLength} bytes`,
      );
    }
    let out: Uint8Array;
    try {
      out = zstd.decompress(stored, rawLength);
    } catch (err) {
      throw new CompressError("CODEC_ERROR", `zstd: ${(err as Error).message}`, 0, "a valid zstd frame");
    }
    if (out.length !== rawLength) {
      throw new CompressError(
        "CODEC_ERROR",
        `zstd frame decodes to ${out.length} bytes`,
        0,
        `${rawLength} bytes`,
      );
    }
    return out;
  },
};
