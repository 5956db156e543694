/**
 * Every failure this package reports is a CheckpointError with a string code. Errors about
 * stored bytes name the file (or directory entry), the byte offset and what the reader
 * expected there, so the CLI can print one clear line and the fuzz tests can assert that
 * hostile input never produces anything else (no RangeError, no hang, no huge allocation).
 */
export type CheckpointErrorCode =
  /** The data ends before a structure it declares (also: a save that never finished). */
  | "TRUNCATED"
  /** Not a checkpoint (or a header that was never written: the header is written last). */
  | "BAD_MAGIC"
  /** A format version this reader does not understand. */
  | "UNSUPPORTED_VERSION"
  /** An unknown incompatible feature bit. */
  | "UNSUPPORTED_FEATURE"
  /** Stored bytes do not match their checksum or hash (header, tables, section, segment, page block, digest). */
  | "CHECKSUM_MISMATCH"
  /** A declared size or count is above the reader's limits; nothing was allocated for it. */
  | "LIMIT_EXCEEDED"
  /** Self-inconsistent structure: a table points outside the file, overlapping ranges, bad field encoding... */
  | "CORRUPT"
  /** A section was written by a newer Amber: its minimum readable version is above this reader's version. */
  | "SECTION_TOO_NEW"
  /** A section is older than the oldest version this reader still loads. */
  | "SECTION_TOO_OLD"
  /** A section or segment asked for by name is not in the image. */
  | "NOT_FOUND"
  /** An incremental image's parent could not be found. */
  | "PARENT_MISSING"
  /** The parent found has another digest than the one the image names. */
  | "PARENT_MISMATCH"
  /** The parent chain comes back to an image already in it, or is deeper than allowed. */
  | "PARENT_CYCLE"
  /** A page or byte outside a segment. */
  | "OUT_OF_RANGE"
  /** Misuse when writing: bad names, sizes, unsorted pages... */
  | "INVALID_ARGUMENT"
  /** The host's storage is full; the previous image was left as it was. */
  | "NO_SPACE"
  /** Any other failure of the host's file access. */
  | "IO_ERROR"
  /** Used before `await initCheckpoint()`. */
  | "NOT_INITIALIZED";

export class CheckpointError extends Error {
  constructor(
    readonly code: CheckpointErrorCode,
    /** What went wrong, without the location (that is appended from the fields below). */
    readonly detail: string,
    /** The file (or directory entry) the problem was found in, when there is one. */
    readonly file?: string,
    /** Byte offset in that file, when there is one. */
    readonly offset?: number,
    /** What the reader expected to find there. */
    readonly expected?: string,
  ) {
    let message = file === undefined ? detail : `${file}: ${detail}`;
    const where: string[] = [];
    if (offset !== undefined) where.push(`at offset ${offset}`);
    if (expected !== undefined) where.push(`expected ${expected}`);
    if (where.length > 0) message += ` (${where.join("; ")})`;
    super(message);
    this.name = "CheckpointError";
  }
}

export function isCheckpointError(value: unknown): value is CheckpointError {
  return value instanceof CheckpointError;
}
