import { ImageError } from "./errors.js";

/**
 * Random-access bytes an image layer lives in. The core never touches a file system:
 * Node gets `NodeBlockFile` from "@amber/image/node", browsers and tests `MemoryBlockFile`.
 * Reads past the end return fewer bytes (as pread does); the callers check.
 */
export interface BlockFile {
  readonly name: string;
  readonly writable: boolean;
  size(): number;
  read(offset: number, length: number): Uint8Array;
  /** Optional: reads `into.length` bytes at `offset` into `into`; how many (fewer at the end). */
  readInto?(offset: number, into: Uint8Array): number;
  write(offset: number, data: Uint8Array): void;
  truncate?(size: number): void;
  sync?(): void;
  close(): void;
}

/** A growable in-memory file: for browsers, tests, and images that never touch a disk. */
export class MemoryBlockFile implements BlockFile {
  private bytes: Uint8Array;
  private length: number;

  constructor(
    initial: Uint8Array = new Uint8Array(0),
    readonly name = "memory",
    readonly writable = true,
  ) {
    this.bytes = initial;
    this.length = initial.length;
  }

  size(): number {
    return this.length;
  }

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.length, offset + length);
    return end <= offset ? new Uint8Array(0) : this.bytes.subarray(offset, end);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} is read-only`);
    const end = offset + data.length;
    this.reserve(end);
    this.bytes.set(data, offset);
    if (end > this.length) this.length = end;
  }

  truncate(size: number): void {
    this.reserve(size);
    if (size < this.length) this.bytes.fill(0, size, this.length);
    this.length = size;
  }

  private reserve(end: number): void {
    if (end <= this.bytes.length) return;
    // Doubling keeps appends amortised O(1); the spare tail stays zero.
    const grown = new Uint8Array(Math.max(end, this.bytes.length * 2, 4096));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** The file's bytes (a copy-free view valid until the next write). */
  contents(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  close(): void {}
}

/** Reads exactly `length` bytes or throws TRUNCATED naming what was read. */
export function readExactly(file: BlockFile, offset: number, length: number, what: string): Uint8Array {
  const bytes = length === 0 ? new Uint8Array(0) : file.read(offset, length);
  if (bytes.length !== length) {
    throw new ImageError(
      "TRUNCATED",
      `${file.name}: ${what} (${length} bytes at ${offset}) lies past the end of the ${file.size()}-byte file`,
      offset,
    );
  }
  return bytes;
}
