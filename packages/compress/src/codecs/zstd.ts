import { compress, decompress, init } from "@bokuweb/zstd-wasm";
import type { Codec } from "../codec.js";
import { CODEC_IDS } from "../codec.js";
import { CompressError } from "../errors.js";
import { zstdFrameContentSize } from "./zstd-frame-header.js";

/**
 * zstd through @bokuweb/zstd-wasm (MIT, zstd compiled to WASM, ~250 KB). Chosen by
 * measurement (README.md): fastest of the maintained builds that load in both Node 20
 * (reads its .wasm from the package) and browsers (bundlers resolve its
 * `new URL("./zstd.wasm", import.meta.url)`); init is async once.
 */
let ready = false;
let loading: Promise<void> | undefined;

export function initZstd(): Promise<void> {
  loading ??= init().then(() => {
    ready = true;
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
