import type { CompressError } from "@amber/compress";
import { isCompressError } from "@amber/compress";
import type { BlockFile } from "@amber/image";
import { isImageError } from "@amber/image";
import { CheckpointError, type CheckpointErrorCode, isCheckpointError } from "./errors.js";

/** Throws the CheckpointError for one finding: what, in which file, at which offset, what was expected. */
export function err(
  code: CheckpointErrorCode,
  detail: string,
  file: string,
  offset?: number,
  expected?: string,
): never {
  throw new CheckpointError(code, detail, file, offset, expected);
}

/** Reads exactly `length` bytes at `offset` or throws TRUNCATED naming what was read. */
export function readExactly(file: BlockFile, offset: number, length: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = length === 0 ? new Uint8Array(0) : file.read(offset, length);
  } catch (e) {
    if (isImageError(e)) err("IO_ERROR", `reading ${what}: ${e.message}`, file.name, offset);
    throw e;
  }
  if (bytes.length !== length) {
    err(
      "TRUNCATED",
      `${what} runs past the end of the ${file.size()}-byte file`,
      file.name,
      offset,
      `${length} bytes`,
    );
  }
  return bytes;
}

/** Whether `file` can read into a caller's buffer (BlockFile.readInto). */
export function fileReadsInto(
  file: BlockFile,
): file is BlockFile & { readInto(offset: number, into: Uint8Array): number } {
  return typeof file.readInto === "function";
}

/**
 * Reads `into.length` bytes at `offset` into `into` (a file with `readInto`) or throws
 * exactly as readExactly does; returns the length read.
 */
export function readIntoExactly(
  file: BlockFile & { readInto(offset: number, into: Uint8Array): number },
  offset: number,
  into: Uint8Array,
  what: string,
): number {
  let got: number;
  try {
    got = into.length === 0 ? 0 : file.readInto(offset, into);
  } catch (e) {
    if (isImageError(e)) err("IO_ERROR", `reading ${what}: ${e.message}`, file.name, offset);
    throw e;
  }
  if (got !== into.length) {
    err(
      "TRUNCATED",
      `${what} runs past the end of the ${file.size()}-byte file`,
      file.name,
      offset,
      `${into.length} bytes`,
    );
  }
  return got;
}

export function fromCompressError(
  e: CompressError,
  file: string,
  base: number,
  what: string,
): CheckpointError {
  const code: CheckpointErrorCode =
    e.code === "TRUNCATED" ||
    e.code === "CHECKSUM_MISMATCH" ||
    e.code === "LIMIT_EXCEEDED" ||
    e.code === "NOT_INITIALIZED"
      ? e.code
      : "CORRUPT";
  const detail = e.message.replace(/ \(at offset \d+\)$/, "");
  return new CheckpointError(
    code,
    `${what}: ${detail}`,
    file,
    e.offset === undefined ? base : base + e.offset,
    e.expected,
  );
}

/** Runs `fn`, turning stray errors (compress, image, RangeError) into CheckpointErrors naming the file. */
export function guard<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isCheckpointError(e)) throw e;
    if (isCompressError(e)) throw fromCompressError(e, file, 0, "page data");
    if (isImageError(e)) throw new CheckpointError("IO_ERROR", e.message, file);
    if (e instanceof RangeError || e instanceof TypeError)
      throw new CheckpointError("CORRUPT", `unreadable structure: ${e.message}`, file);
    throw e;
  }
}
