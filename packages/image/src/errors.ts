/**
 * Every failure this package reports is an ImageError with a string code, so the CLI can
 * print one clear line and the fuzz tests can assert that hostile input never produces
 * anything else (no RangeError from a typed array, no hang, no huge allocation).
 */
export type ImageErrorCode =
  /** The file ends before a structure it declares. */
  | "TRUNCATED"
  /** Not the format it was opened as, or a damaged magic. */
  | "BAD_MAGIC"
  /** Detection found no format Amber reads (another format, or nothing it can tell). */
  | "UNKNOWN_FORMAT"
  /** A directory or other non-file where an image file was expected. */
  | "NOT_A_FILE"
  /** A format version this reader does not understand. */
  | "UNSUPPORTED_VERSION"
  /** An unknown incompatible feature bit, or a known one this reader does not implement. */
  | "UNSUPPORTED_FEATURE"
  /** Stored bytes do not match their checksum. */
  | "CHECKSUM_MISMATCH"
  /** A declared size or count is above the limits; nothing was allocated for it. */
  | "LIMIT_EXCEEDED"
  /** Self-inconsistent structure: a table points outside the file, overlapping ranges... */
  | "CORRUPT"
  /** A backing chain names a file already in the chain, or is deeper than allowed. */
  | "BACKING_LOOP"
  /** A backing file or layer could not be found along the search path. */
  | "NOT_FOUND"
  /** An offset or length outside the image. */
  | "OUT_OF_RANGE"
  /** Writing to something opened read-only. */
  | "READ_ONLY"
  /** Misuse: bad size, bad option, bad format name. */
  | "INVALID_ARGUMENT"
  /** The host's storage is full; the original file was left as it was. */
  | "NO_SPACE"
  /** Any other failure of the host's file access. */
  | "IO_ERROR";

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    /** Byte offset in the file where the problem was found, when there is one. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at offset ${offset})`);
    this.name = "ImageError";
  }
}

export function isImageError(value: unknown): value is ImageError {
  return value instanceof ImageError;
}
