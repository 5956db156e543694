export { type ByteSource, bytesSource } from "./byte-source.js";
export { xxh64 } from "./checksum.js";
export { CODEC_IDS, type Codec, type CodecName } from "./codec.js";
export {
  CODEC_BLOCK_HEADER_SIZE,
  decodeBlock,
  type EncodeOptions,
  encodeBlock,
} from "./codec-block.js";
export { codecById, codecByName, registerCodec, registeredCodecs } from "./codec-registry.js";
export { decodeStream, encodeStream } from "./codec-stream.js";
export { lz4DecodeBlock, lz4EncodeBlock } from "./codecs/lz4.js";
export type { ZlibLike } from "./codecs/zlib.js";
export type { ZstdWasmSource } from "./codecs/zstd.js";
export { CompressError, type CompressErrorCode, isCompressError } from "./errors.js";
export type { IndexEntry } from "./frame-layout.js";
export { decodePages, FramedReader, type FramedReaderOptions, type PageKind } from "./framed-reader.js";
export { type RecodeOptions, recodeFramed } from "./framed-recode.js";
export {
  encodePages,
  FramedWriter,
  type FramedWriterOptions,
  type FramedWriterStats,
} from "./framed-writer.js";
export { type InitCodecsOptions, initCodecs, registerZlibCodecs } from "./init.js";
export { DEFAULT_LIMITS, type DecodeLimits } from "./limits.js";
export { pagesEqual } from "./page-compare.js";
export { decodeXorDelta, encodeXorDelta } from "./xor-delta.js";
