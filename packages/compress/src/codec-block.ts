import { ByteReader } from "./byte-reader.js";
import { xxh64 } from "./checksum.js";
import { codecById, codecByName } from "./codec-registry.js";
import { CompressError } from "./errors.js";
import { type DecodeLimits, resolveLimits } from "./limits.js";

/**
 * A self-describing compressed block, for data that is not pages: the codec id, both
 * lengths and a checksum travel with the bytes, so any reader can decode it.
 *   0  4  magic "AMBK"
 *   4  1  codec id
 *   5  3  reserved, zero
 *   8  4  raw length
 *  12  4  stored length
 *  16  8  xxh64 of the stored bytes
 *  24  …  stored bytes
 */
export const CODEC_BLOCK_MAGIC = Uint8Array.of(0x41, 0x4d, 0x42, 0x4b);
export const CODEC_BLOCK_HEADER_SIZE = 24;

export interface EncodeOptions {
  codec?: string;
  level?: number;
}

export function encodeBlock(raw: Uint8Array, options: EncodeOptions = {}): Uint8Array {
  const codec = codecByName(options.codec ?? "zstd");
  const stored = codec.encode(raw, options.level ?? codec.defaultLevel);
  const out = new Uint8Array(CODEC_BLOCK_HEADER_SIZE + stored.length);
  const view = new DataView(out.buffer);
  out.set(CODEC_BLOCK_MAGIC, 0);
  out[4] = codec.id;
  view.setUint32(8, raw.length, true);
  view.setUint32(12, stored.length, true);
  view.setBigUint64(16, xxh64(stored), true);
  out.set(stored, CODEC_BLOCK_HEADER_SIZE);
  return out;
}

export interface CodecBlockHeader {
  codecId: number;
  rawLength: number;
  storedLength: number;
  checksum: bigint;
}

/**
 * Bytes a block of `rawLength` may take compressed. Every codec here stays far below it;
 * a header claiming more is hostile, and rejecting it bounds what a stream reader buffers.
 */
function storedBound(rawLength: number): number {
  return rawLength + (rawLength >>> 3) + 1024;
}

/** Reads and checks a block header at `base` (the block's offset in the stream). */
export function readCodecBlockHeader(
  bytes: Uint8Array,
  base: number,
  limits: DecodeLimits,
): CodecBlockHeader {
  const r = new ByteReader(bytes, base);
  const magic = r.take(4, "block magic");
  for (let i = 0; i < 4; i++) {
    if (magic[i] !== CODEC_BLOCK_MAGIC[i]) {
      throw new CompressError("BAD_MAGIC", "codec block magic is wrong", base + i, '"AMBK"');
    }
  }
  const codecId = r.u8("codec id");
  codecById(codecId, base + 4);
  r.take(3, "reserved");
  const rawLength = r.u32("raw length");
  const storedLength = r.u32("stored length");
  if (rawLength > limits.maxBlockBytes) {
    throw new CompressError(
      "LIMIT_EXCEEDED",
      `block declares ${rawLength} bytes`,
      base + 8,
      `≤ ${limits.maxBlockBytes}`,
    );
  }
  if (storedLength > storedBound(rawLength)) {
    throw new CompressError(
      "CORRUPT",
      `block stores ${storedLength} bytes for ${rawLength}`,
      base + 12,
      `≤ ${storedBound(rawLength)}`,
    );
  }
  return { codecId, rawLength, storedLength, checksum: r.u64("checksum") };
}

/** Decodes the stored bytes of a block whose header has been read. */
export function decodeCodecBlockBody(header: CodecBlockHeader, stored: Uint8Array, base: number): Uint8Array {
  const actual = xxh64(stored);
  if (actual !== header.checksum) {
    throw new CompressError(
      "CHECKSUM_MISMATCH",
      `block checksum 0x${actual.toString(16)}`,
      base + CODEC_BLOCK_HEADER_SIZE,
      `0x${header.checksum.toString(16)}`,
    );
  }
  try {
    return codecById(header.codecId).decode(stored, header.rawLength);
  } catch (err) {
    if (err instanceof CompressError && err.code !== "CODEC_ERROR") throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new CompressError(
      "CODEC_ERROR",
      detail,
      base + CODEC_BLOCK_HEADER_SIZE,
      `${header.rawLength} bytes`,
    );
  }
}

/** Decodes one block made by encodeBlock; the data must hold exactly that block. */
export function decodeBlock(bytes: Uint8Array, options: { limits?: Partial<DecodeLimits> } = {}): Uint8Array {
  const limits = resolveLimits(options.limits);
  const header = readCodecBlockHeader(bytes, 0, limits);
  if (header.rawLength > limits.maxOutputBytes) {
    throw new CompressError(
      "LIMIT_EXCEEDED",
      `block declares ${header.rawLength} bytes`,
      8,
      `≤ ${limits.maxOutputBytes}`,
    );
  }
  const end = CODEC_BLOCK_HEADER_SIZE + header.storedLength;
  if (bytes.length !== end) {
    throw new CompressError(
      bytes.length < end ? "TRUNCATED" : "CORRUPT",
      `block of ${bytes.length} bytes declares ${end}`,
      Math.min(bytes.length, end),
      `${end} bytes`,
    );
  }
  return decodeCodecBlockBody(header, bytes.subarray(CODEC_BLOCK_HEADER_SIZE), 0);
}
