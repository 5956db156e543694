import { CompressError } from "./errors.js";

/**
 * Random-access bytes the reader pulls from: a Uint8Array in memory, or a host-provided
 * file (Node: fs.readSync on a descriptor; browser: a Blob read ahead of time). Reads must
 * return exactly `length` bytes or fewer when the source ends.
 */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** Reads exactly `length` bytes or throws TRUNCATED naming what was being read. */
export function readExactly(source: ByteSource, offset: number, length: number, what: string): Uint8Array {
  if (offset < 0 || offset + length > source.size) {
    throw new CompressError(
      "TRUNCATED",
      `${what} lies outside the ${source.size}-byte data`,
      offset,
      `${length} bytes within the data`,
    );
  }
  const bytes = source.read(offset, length);
  if (bytes.length !== length) {
    throw new CompressError(
      "TRUNCATED",
      `${what}: source returned ${bytes.length} bytes`,
      offset,
      `${length} bytes`,
    );
  }
  return bytes;
}
