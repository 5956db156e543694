import { xxh64 } from "../../src/index.js";

/**
 * Recomputes every checksum of a (mutated) framed image, best effort, so that a crafted
 * file gets past the checksums and reaches the structural checks and the codecs: an
 * attacker can always do this, so the reader must not rely on checksums for safety.
 */
export function reseal(file: Uint8Array): Uint8Array {
  const out = file.slice();
  const view = new DataView(out.buffer);
  if (out.length >= 32) view.setBigUint64(24, xxh64(out.subarray(0, 24)), true);
  if (out.length < 72) return out;
  const footer = out.length - 40;
  const blockCount = view.getUint32(footer + 8, true);
  const indexOffset = footer - blockCount * 40;
  if (indexOffset >= 32) {
    for (let i = 0; i < blockCount; i++) {
      const at = indexOffset + i * 40;
      const offset = Number(view.getBigUint64(at, true));
      const length = view.getUint32(at + 8, true);
      if (offset + length <= out.length)
        view.setBigUint64(at + 32, xxh64(out.subarray(offset, offset + length)), true);
    }
    view.setBigUint64(footer + 16, xxh64(out.subarray(indexOffset, footer)), true);
  }
  view.setBigUint64(footer + 24, xxh64(out.subarray(footer, footer + 24)), true);
  return out;
}
