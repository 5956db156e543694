import { xxh64 } from "./checksum.js";
import { CODEC_IDS } from "./codec.js";
import { codecById, codecByName } from "./codec-registry.js";
import type { IndexEntry } from "./frame-layout.js";
import type { FramedReader } from "./framed-reader.js";
import { encodeFramedHeader, encodeFramedIndex } from "./framed-writer.js";

export interface RecodeOptions {
  /** The codec for every block. Default "zstd". */
  codec?: string;
  /** Its level; default the codec's own (zstd: 3). */
  level?: number;
  /** Receives the new file, chunk by chunk (valid during the call only). */
  onChunk: (chunk: Uint8Array) => void;
  /** Sees each block's decoded bytes, in order (the same as the source's). */
  onBlock?: (decoded: Uint8Array) => void;
}

/**
 * Rewrites a framed page image with another codec, block for block: every block's decoded
 * bytes (its page records) stay exactly as they are, only how they are stored changes
 * ("save fast, compress later": an image saved with codec none or lz4 recompressed to zstd).
 * Each source block's checksum is checked as it is read; a block the codec does not shrink
 * is stored as it is. Returns the bytes written.
 */
export function recodeFramed(source: FramedReader, options: RecodeOptions): number {
  const codec = codecByName(options.codec ?? "zstd");
  const level = options.level ?? codec.defaultLevel;
  let written = 0;
  const emit = (chunk: Uint8Array): void => {
    written += chunk.length;
    options.onChunk(chunk);
  };
  emit(
    encodeFramedHeader(
      Math.log2(source.pageSize),
      codec.id,
      level,
      source.incompatFeatures,
      source.compatFeatures,
    ),
  );
  const entries: IndexEntry[] = [];
  for (let i = 0; i < source.blockCount; i++) {
    const e = source.index[i]!;
    const raw = source.decodedBlock(i);
    options.onBlock?.(raw);
    let used = codec;
    let stored = codec.id === CODEC_IDS.none ? raw : codec.encode(raw, level);
    if (stored.length >= raw.length && codec.id !== CODEC_IDS.none) {
      used = codecById(CODEC_IDS.none);
      stored = raw;
    }
    entries.push({
      offset: written,
      storedLength: stored.length,
      rawLength: raw.length,
      firstPage: e.firstPage,
      pageCount: e.pageCount,
      codecId: used.id,
      checksum: xxh64(stored),
    });
    emit(stored);
  }
  const { index, footer } = encodeFramedIndex(entries, written, source.pageCount);
  emit(index);
  emit(footer);
  return written;
}
