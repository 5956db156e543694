import * as fs from "node:fs";
import type { BlockFile } from "../block-file.js";
import { ImageError } from "../errors.js";

/** Turns a Node fs error into an ImageError with one clear line. */
export function ioError(e: unknown, path: string, doing: string): ImageError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOSPC")
    return new ImageError("NO_SPACE", `${path}: no space left on device while ${doing}`);
  if (err.code === "ENOENT") return new ImageError("NOT_FOUND", `${path}: no such file`);
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
      this.length = fs.fstatSync(this.fd).size;
    } catch (e) {
      throw ioError(e, name, "opening");
    }
  }

  size(): number {
    return this.length;
  }

  read(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.length - offset));
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const got = fs.readSync(this.fd, out, done, n - done, offset + done);
      if (got === 0) break;
      done += got;
    }
    return done === n ? out : out.subarray(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} is read-only`);
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

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
