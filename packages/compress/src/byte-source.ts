import { CompressError } from "./errors.js";

/**
 * Random-access bytes the reader pulls from: a Uint8Array in memory, or a host-provided
 * file (Node: fs.readSync on a descriptor; browser: a Blob read ahead of time). Reads must
 * return exactly `length` bytes or fewer when the source ends.
 */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  /**
   * Optional: reads `into.length` bytes at `offset` into `into` and returns how many it read
   * (fewer only where the source ends). A file source offers it so that a reader can read
   * block after block into one buffer it reuses, instead of a new array per block.
   */
  readInto?(offset: number, into: Uint8Array): number;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/**
 * Reads exactly `length` bytes or throws TRUNCATED naming what was being read. With `into`
 * (of `length` bytes) and a source that has `readInto`, the bytes are read into `into`, which
 * is returned; otherwise they come from `read`.
 */
export function readExactly(
  source: ByteSource,
  offset: number,
  length: number,
  what: string,
  into?: Uint8Array,
): Uint8Array {
  if (offset < 0 || offset + length > source.size) {
    throw new CompressError(
      "TRUNCATED",
      `${what} lies outside the ${source.size}-byte data`,
      offset,
      `${length} bytes within the data`,
    );
  }
  let bytes: Uint8Array;
  let got: number;
  if (into !== undefined && into.length === length && source.readInto !== undefined) {
    bytes = into;
    got = source.readInto(offset, into);
  } else {
    bytes = source.read(offset, length);
    got = bytes.length;
  }
  if (got !== length) {
    throw new CompressError("TRUNCATED", `${what}: source returned ${got} bytes`, offset, `${length} bytes`);
  }
  return bytes;
}
