import * as fs from "node:fs";
import type { BlockFile } from "../block-file.js";
import { ImageError } from "../errors.js";

/** What a host error code means, in a few words. */
const REASONS: Readonly<Record<string, string>> = {
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  ENOENT: "no such file or directory",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EMFILE: "too many open files",
};

/** The host's reason for a failed file operation, as a few words (not the whole Node message). */
export function hostReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code !== undefined ? REASONS[err.code] : undefined) ?? err.message ?? String(e);
}

/** Turns a Node fs error into an ImageError with one clear line. */
export function ioError(e: unknown, path: string, doing: string): ImageError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "EROFS")
    return new ImageError("IO_ERROR", `${path}: read-only file system while ${doing}`);
  if (err.code === "ENOSPC")
    return new ImageError("NO_SPACE", `${path}: no space left on device while ${doing}`);
  if (err.code === "ENOENT") return new ImageError("NOT_FOUND", `${path}: no such file`);
  if (err.code === "EISDIR")
    return new ImageError("NOT_A_FILE", `${path}: is a directory, expected an image file`);
  if (err.code === "EACCES" || err.code === "EPERM")
    return new ImageError("IO_ERROR", `${path}: permission denied while ${doing}`);
  return new ImageError("IO_ERROR", `${path}: ${doing}: ${err.message}`);
}

/** A file on disk read and written with pread/pwrite on a descriptor. */
export class NodeBlockFile implements BlockFile {
  private fd: number;
  private length: number;

  constructor(
    readonly name: string,
    readonly writable: boolean,
    options: { create?: boolean } = {},
  ) {
    try {
      this.fd = fs.openSync(name, options.create ? "w+" : writable ? "r+" : "r");
      const fst = fs.fstatSync(this.fd);
      if (fst.isDirectory() || fst.isFIFO() || fst.isSocket()) {
        fs.closeSync(this.fd);
        throw new ImageError(
          "NOT_A_FILE",
          `${name}: ${fst.isDirectory() ? "is a directory" : "a pipe or socket, not a file"}, expected an image file`,
        );
      }
      this.length = fst.size;
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw ioError(e, name, "opening");
    }
  }

  size(): number {
    return this.length;
  }

  read(offset: number, length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new ImageError(
        "OUT_OF_RANGE",
        `${this.name}: read of ${length} bytes at offset ${offset}: not a valid position in a file of ${this.length} bytes`,
      );
    const out = new Uint8Array(
      Number.isSafeInteger(offset) ? Math.max(0, Math.min(length, this.length - offset)) : 0,
    );
    const done = this.readAt(offset, out, length);
    return done === out.length ? out : out.subarray(0, done);
  }

  /** Reads into `into` (up to the file's end), how many bytes: a reader reuses one buffer. */
  readInto(offset: number, into: Uint8Array): number {
    return this.readAt(offset, into, into.length);
  }

  private readAt(offset: number, out: Uint8Array, length: number): number {
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new ImageError(
        "OUT_OF_RANGE",
        `${this.name}: read of ${length} bytes at offset ${offset}: not a valid position in a file of ${this.length} bytes`,
      );
    this.checkOpen(`read of ${length} bytes at offset ${offset}`);
    const n = Math.max(0, Math.min(out.length, this.length - offset));
    let done = 0;
    try {
      while (done < n) {
        const got = fs.readSync(this.fd, out, done, n - done, offset + done);
        if (got === 0) break;
        done += got;
      }
    } catch (e) {
      throw ioError(e, this.name, `reading ${n} bytes at offset ${offset}`);
    }
    return done;
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} is read-only`);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(offset + data.length))
      throw new ImageError(
        "OUT_OF_RANGE",
        `${this.name}: write at offset ${offset}: not a valid file position`,
      );
    this.checkOpen(`write of ${data.length} bytes at offset ${offset}`);
    try {
      let done = 0;
      while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    } catch (e) {
      throw ioError(e, this.name, "writing");
    }
    if (offset + data.length > this.length) this.length = offset + data.length;
  }

  truncate(size: number): void {
    try {
      fs.ftruncateSync(this.fd, size);
    } catch (e) {
      throw ioError(e, this.name, "resizing");
    }
    this.length = size;
  }

  sync(): void {
    if (!this.writable) return;
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw ioError(e, this.name, "syncing");
    }
  }

  /** Makes the data durable (fdatasync: the file's size, not its times), as a rename needs. */
  syncData(): void {
    if (!this.writable) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw ioError(e, this.name, "syncing");
    }
  }

  /** Closed (its world replaced, its session ended): one line, never Node's "fd out of range". */
  private checkOpen(doing: string): void {
    if (this.fd < 0)
      throw new ImageError(
        "INVALID_ARGUMENT",
        `${this.name}: ${doing} after the file was closed (expected it open while it is in use)`,
      );
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
