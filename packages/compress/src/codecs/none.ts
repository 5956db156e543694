import type { Codec } from "../codec.js";
import { CODEC_IDS } from "../codec.js";
import { CompressError } from "../errors.js";

/** Stores bytes as they are: for incompressible blocks and for debugging the framing. */
export const noneCodec: Codec = {
  id: CODEC_IDS.none,
  name: "none",
  defaultLevel: 0,
  encode(raw) {
    return raw.slice();
  },
  decode(stored, rawLength) {
    if (stored.length !== rawLength) {
      throw new CompressError(
        "CODEC_ERROR",
        `stored block is ${stored.length} bytes, declared raw length ${rawLength}`,
        undefined,
        `${rawLength} bytes`,
      );
    }
    return stored.slice();
  },
};
