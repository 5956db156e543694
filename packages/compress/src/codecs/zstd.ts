import { compress, decompress, init } from "@bokuweb/zstd-wasm";
import { defaultZstdWasm } from "#zstd-wasm";
import type { Codec } from "../codec.js";
import { CODEC_IDS } from "../codec.js";
import { CompressError } from "../errors.js";
import { zstdFrameContentSize } from "./zstd-frame-header.js";

/**
 * zstd through @bokuweb/zstd-wasm (MIT, zstd compiled to WASM, ~250 KB). Chosen by
 * measurement (README.md): fastest of the maintained builds. In Node its entry reads its
 * `.wasm` from the installed package; in browser builds (`#zstd-wasm` under the "browser"
 * condition) the module comes embedded in this package's JavaScript, so bundlers need no
 * asset handling. `initCodecs({ zstdWasm })` can pass the module's bytes or URL instead.
 */
let ready = false;
let loading: Promise<void> | undefined;

/** Where the zstd WASM module comes from: its bytes, or a URL to fetch them from. */
export type ZstdWasmSource = Uint8Array | ArrayBuffer | URL | string;

async function wasmBytes(source: ZstdWasmSource | undefined): Promise<Uint8Array | undefined> {
  if (source === undefined) return defaultZstdWasm();
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const response = await fetch(source);
  if (!response.ok) {
    throw new CompressError("CODEC_ERROR", `zstd: fetching ${String(source)} gave HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function load(source: ZstdWasmSource | undefined): Promise<void> {
  const bytes = await wasmBytes(source);
  // The binding reports a module that does not compile on the console and never settles:
  // check it here so a bad module rejects instead of hanging.
  if (bytes !== undefined && !WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
    throw new CompressError("CODEC_ERROR", "zstd: the given zstd.wasm is not a valid WebAssembly module");
  }
  // The browser entry instantiates the bytes given; the Node entry reads its own file.
  await (init as (wasm?: Uint8Array) => Promise<void>)(bytes);
  ready = true;
}

export function initZstd(source?: ZstdWasmSource): Promise<void> {
  loading ??= load(source).catch((err: unknown) => {
    loading = undefined; // a failed load may be retried, e.g. with another source
    throw err;
  });
  return loading;
}

function requireReady(): void {
  if (!ready) throw new CompressError("NOT_INITIALIZED", "zstd used before `await initCodecs()`");
}

export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 22;

export const zstdCodec: Codec = {
  id: CODEC_IDS.zstd,
  name: "zstd",
  defaultLevel: 3,
  encode(raw, level = 3) {
    requireReady();
    if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
      throw new CompressError("INVALID_ARGUMENT", `zstd level ${level}`, undefined, "an integer 1..22");
    }
    return compress(raw, level);
  },
  decode(stored, rawLength) {
    requireReady();
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
      out = decompress(stored);
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
