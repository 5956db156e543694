/**
 * Every failure this package reports is a CompressError with a string code, so callers can
 * branch on `err.code` and the fuzz tests can assert that hostile input never produces
 * anything else (no RangeError from a typed array, no WebAssembly trap, no hang).
 */
export type CompressErrorCode =
  /** The data ends before a structure it declares. */
  | "TRUNCATED"
  /** A magic number is wrong: not our format, or not the start of it. */
  | "BAD_MAGIC"
  /** The format version is newer (or older) than this reader understands. */
  | "UNSUPPORTED_VERSION"
  /** An incompatible feature bit is set that this reader does not know. */
  | "UNSUPPORTED_FEATURE"
  /** A codec id or name is not registered (or its host did not provide it). */
  | "UNKNOWN_CODEC"
  /** Stored bytes do not match their checksum. */
  | "CHECKSUM_MISMATCH"
  /** A declared size or count exceeds the caller's limits; nothing was allocated for it. */
  | "LIMIT_EXCEEDED"
  /** The structure is self-inconsistent (bad record, overlapping blocks, bad reference...). */
  | "CORRUPT"
  /** The codec rejected the compressed bytes or produced the wrong length. */
  | "CODEC_ERROR"
  /** A delta page was read but the caller supplied no base page for it. */
  | "NEED_BASE"
  /** A page number or offset outside what the data holds was requested. */
  | "OUT_OF_RANGE"
  /** The caller passed an invalid argument (wrong page size, bad option...). */
  | "INVALID_ARGUMENT"
  /** A WASM codec or the checksum was used before `await initCodecs()`. */
  | "NOT_INITIALIZED";

export class CompressError extends Error {
  constructor(
    readonly code: CompressErrorCode,
    message: string,
    /** Byte offset in the input where the problem was found, when there is one. */
    readonly offset?: number,
    /** What the reader expected to find there, in words or as a number. */
    readonly expected?: string,
  ) {
    super(offset === undefined ? message : `${message} (at offset ${offset})`);
    this.name = "CompressError";
  }
}

export function isCompressError(value: unknown): value is CompressError {
  return value instanceof CompressError;
}
