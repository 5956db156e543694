import {
  CODEC_BLOCK_HEADER_SIZE,
  decodeCodecBlockBody,
  type EncodeOptions,
  encodeBlock,
  readCodecBlockHeader,
} from "./codec-block.js";
import { CompressError } from "./errors.js";
import { type DecodeLimits, resolveLimits } from "./limits.js";

type Chunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Streaming for data too large to hold at once: the input is cut into chunks of
 * `chunkBytes` and each becomes one self-describing codec block (codec-block.ts), so the
 * stream is a plain concatenation of blocks and memory stays at one chunk.
 */
export async function* encodeStream(
  input: Chunks,
  options: EncodeOptions & { chunkBytes?: number } = {},
): AsyncGenerator<Uint8Array> {
  const chunkBytes = Math.max(1, Math.min(options.chunkBytes ?? 1024 * 1024, 8 * 1024 * 1024));
  const pending = new Uint8Array(chunkBytes);
  let filled = 0;
  for await (const piece of input) {
    let at = 0;
    while (at < piece.length) {
      const n = Math.min(chunkBytes - filled, piece.length - at);
      pending.set(piece.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === chunkBytes) {
        yield encodeBlock(pending, options);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield encodeBlock(pending.subarray(0, filled), options);
}

/** Decodes a stream of codec blocks, whatever the input's chunking; bounded by the limits. */
export async function* decodeStream(
  input: Chunks,
  options: { limits?: Partial<DecodeLimits> } = {},
): AsyncGenerator<Uint8Array> {
  const limits = resolveLimits(options.limits);
  let buf = new Uint8Array(0);
  let streamOffset = 0; // offset of buf[0] in the stream
  let produced = 0;
  const append = (piece: Uint8Array): void => {
    const grown = new Uint8Array(buf.length + piece.length);
    grown.set(buf);
    grown.set(piece, buf.length);
    buf = grown;
  };
  const takeBlocks = function* (): Generator<Uint8Array> {
    for (;;) {
      if (buf.length < CODEC_BLOCK_HEADER_SIZE) return;
      const header = readCodecBlockHeader(buf, streamOffset, limits);
      const end = CODEC_BLOCK_HEADER_SIZE + header.storedLength;
      if (buf.length < end) return;
      produced += header.rawLength;
      if (produced > limits.maxOutputBytes) {
        throw new CompressError(
          "LIMIT_EXCEEDED",
          `stream decodes to more than ${limits.maxOutputBytes} bytes`,
          streamOffset + 8,
          `≤ ${limits.maxOutputBytes} bytes in total`,
        );
      }
      yield decodeCodecBlockBody(header, buf.subarray(CODEC_BLOCK_HEADER_SIZE, end), streamOffset);
      buf = buf.slice(end);
      streamOffset += end;
    }
  };
  for await (const piece of input) {
    append(piece);
    yield* takeBlocks();
  }
  if (buf.length > 0) {
    throw new CompressError(
      "TRUNCATED",
      `stream ends inside a block (${buf.length} bytes left)`,
      streamOffset,
      "a whole block",
    );
  }
}
