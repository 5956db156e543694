import { CompressError } from "../errors.js";

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Reads the Frame_Content_Size of a zstd frame (RFC 8878 §3.1.1.1) without decoding it.
 * The WASM decoder allocates whatever a frame declares, so the declared size is checked
 * against the size the framing expects before the decoder ever sees the bytes.
 * Returns undefined when the frame does not declare its size.
 */
export function zstdFrameContentSize(frame: Uint8Array): number | undefined {
  const fail = (message: string, offset: number, expected: string): never => {
    throw new CompressError("CODEC_ERROR", `zstd: ${message}`, offset, expected);
  };
  if (frame.length < 5) fail("frame shorter than its header", 0, "at least 5 bytes");
  const magic = (frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC) fail(`bad frame magic 0x${magic.toString(16)}`, 0, "0xfd2fb528");
  const descriptor = frame[4];
  const fcsFlag = descriptor >>> 6;
  const singleSegment = (descriptor >>> 5) & 1;
  const dictIdFlag = descriptor & 3;
  if (descriptor & 0x08) fail("reserved frame-header bit set", 4, "bit 3 clear");
  if (!singleSegment) {
    if (frame.length < 6) fail("frame header cut off", 5, "a window descriptor");
    // The reference decoder rejects windows above 2^30 on 32-bit targets (WASM is one) with
    // an error the binding would misread as a size; refuse them here first.
    const windowLog = 10 + (frame[5] >>> 3);
    if (windowLog > 30) fail(`window 2^${windowLog} too large`, 5, "a window of at most 2^30");
  }
  const pos = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag];
  const fcsBytes = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag];
  if (fcsBytes === 0) return undefined;
  if (pos + fcsBytes > frame.length) fail("frame header cut off", pos, `${fcsBytes} content-size bytes`);
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + frame[pos + i];
  return fcsBytes === 2 ? size + 256 : size;
}
