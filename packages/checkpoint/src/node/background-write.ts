import * as fs from "node:fs";
import * as path from "node:path";
import type { BlockFile } from "@amber/image";
import { hostReason } from "@amber/image/node";
import { CheckpointError, isCheckpointError } from "../errors.js";
import { CheckpointReader } from "../reader.js";
import { type CheckpointInput, hostError, type WriteResult, writeCheckpoint } from "../writer.js";
import { removeStaleTemps } from "./index.js";

/**
 * The host's file operations a background save uses, each asynchronous (Node runs them on
 * its thread pool, so the caller's thread, and the guest on it, runs on meanwhile). Tests
 * replace some to inject failures (a write that fails midway, as on a full disk).
 */
export interface BackgroundIo {
  write(fd: number, bytes: Uint8Array, position: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory, making a rename in it durable. */
  syncDirectory(dir: string): Promise<void>;
}

const nodeIo: BackgroundIo = {
  write: (fd, bytes, position) =>
    new Promise((resolve, reject) => {
      let done = 0;
      const more = (): void => {
        fs.write(fd, bytes, done, bytes.length - done, position + done, (e, n) => {
          if (e) return reject(e);
          done += n;
          if (done < bytes.length) more();
          else resolve();
        });
      };
      more();
    }),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
  rename: (from, to) => fs.promises.rename(from, to),
  syncDirectory: async (dir) => {
    const h = await fs.promises.open(dir, "r");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
};

export interface BackgroundWriteOptions {
  /** Re-open the finished temporary file (header, tables, digest) before renaming it. Default true. */
  check?: boolean;
  /** Replaces some of the host's file operations (tests inject failures). */
  io?: Partial<BackgroundIo>;
}

/** A checkpoint file being made durable (see `startCheckpointFile`). */
export interface PendingCheckpointFile {
  /** The image's digest, size and counts: known as soon as its bytes are encoded. */
  readonly result: WriteResult;
  /**
   * Settles once the image is durable under its name (resolves with `result`) or the save
   * failed (rejects with a one-line CheckpointError naming the target: the previous file
   * there is untouched and the temporary file is removed). Always handle it.
   */
  readonly durable: Promise<WriteResult>;
  /**
   * The image, readable now (before it is durable or even renamed): the temporary file,
   * read through its own descriptor, under the target's name. Close it when done; a failed
   * save leaves it reading a removed file (keep it only if `durable` resolved).
   */
  open(options?: Parameters<typeof CheckpointReader.open>[1]): CheckpointReader;
}

/**
 * Saves a checkpoint in two halves: now, the image is encoded (its pages read and hashed:
 * call this at the save instant, or from a copy-on-write snapshot of it) into a temporary
 * file beside `target`, its bytes handed to the OS without waiting; then, in the background
 * (the returned `durable`), the writes complete, the file is fdatasynced, read back, renamed
 * over `target` and the directory fsynced, while the caller runs on. The same atomicity as
 * `writeCheckpointFile` (of which it is the asynchronous twin, writing the same bytes): until
 * the rename, `target` is whatever it was; a failure at any point removes the temporary file.
 * An error in the first half is thrown (nothing was left behind).
 */
export function startCheckpointFile(
  target: string,
  input: CheckpointInput,
  options: BackgroundWriteOptions = {},
): PendingCheckpointFile {
  const io: BackgroundIo = { ...nodeIo, ...options.io };
  removeStaleTemps(target);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let fd: number;
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory())
      throw new CheckpointError("IO_ERROR", "is a directory; cannot write a file there", target);
    fd = fs.openSync(tmp, "wx+");
  } catch (e) {
    if (isCheckpointError(e)) throw e;
    throw failure(e, target, `cannot write in ${dir}`);
  }
  const file = new QueuedFile(fd, tmp, io);
  let closed = false;
  const discard = (): void => {
    if (!closed) {
      closed = true;
      fs.closeSync(fd);
    }
    fs.rmSync(tmp, { force: true });
  };
  let result: WriteResult;
  try {
    result = writeCheckpoint(file, input);
    file.flush();
  } catch (e) {
    // Writes already queued finish (or fail) on their own; the file is removed meanwhile.
    discard();
    throw renamed(hostError(e, target), target);
  }
  const durable = (async () => {
    try {
      await file.drained();
      await io.fdatasync(fd);
      // Never rename a damaged image over a good one: read back what was written.
      if (options.check !== false)
        CheckpointReader.open(new FdFile(fd, tmp, () => file.size()), { withoutParent: true }).close();
    } catch (e) {
      discard();
      throw renamed(failure(e, target, "writing"), target);
    }
    try {
      await io.rename(tmp, target);
    } catch (e) {
      discard();
      throw failure(e, target, "renaming into place");
    }
    try {
      await io.syncDirectory(dir);
    } catch (e) {
      // Renamed, not yet durable: the image is in place and whole; say so rather than hide it.
      throw failure(e, target, "syncing its directory (the image is in place but may not survive a crash)");
    } finally {
      if (!closed) {
        closed = true;
        fs.closeSync(fd);
      }
    }
    return result;
  })();
  return {
    result,
    durable,
    open: (o) => CheckpointReader.open(new FdFile(dupFd(tmp), target, () => file.size(), true, file), o),
  };
}

/** A second descriptor on the temporary file (the reader owns and closes it). */
function dupFd(tmp: string): number {
  return fs.openSync(tmp, "r");
}

/** A host failure as one line naming `target`. */
function failure(e: unknown, target: string, doing: string): CheckpointError {
  if (isCheckpointError(e)) return e;
  const mapped = hostError(e, target);
  if (isCheckpointError(mapped)) return mapped;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOSPC")
    return new CheckpointError("NO_SPACE", `no space left on device while ${doing}`, target);
  return new CheckpointError("IO_ERROR", `${doing}: ${hostReason(e)}`, target);
}

/** Names the image being saved, not its temporary file. */
function renamed(e: unknown, target: string): unknown {
  if (
    e instanceof CheckpointError &&
    (e.code === "NO_SPACE" || e.code === "IO_ERROR") &&
    e.file !== undefined &&
    e.file !== target
  ) {
    return new CheckpointError(e.code, e.detail, target, e.offset, e.expected);
  }
  return e;
}

/**
 * The temporary file as the writer sees it: writes are copied (the writer reuses its
 * buffers) into staging buffers of consecutive bytes and handed to the thread pool as each
 * fills; nothing waits for them until `drained`. The first failure is kept and reported
 * there.
 */
class QueuedFile implements BlockFile {
  readonly writable = true;
  private stage: Uint8Array = EMPTY;
  private stageAt = 0;
  /** The next staging buffer's size: small first (an incremental save is a few hundred KiB). */
  private nextStage = FIRST_STAGE_BYTES;
  private used = 0;
  private end = 0;
  private readonly pending: Promise<void>[] = [];
  /** Writes handed over and not done yet: reads of the file take their bytes from here. */
  private readonly inFlight = new Set<{ at: number; bytes: Uint8Array }>();
  private error: unknown;

  constructor(
    private readonly fd: number,
    readonly name: string,
    private readonly io: BackgroundIo,
  ) {}

  size(): number {
    return this.end;
  }

  read(): Uint8Array {
    throw new CheckpointError(
      "INVALID_ARGUMENT",
      "a background save's file is not read while written",
      this.name,
    );
  }

  write(offset: number, data: Uint8Array): void {
    if (this.used > 0 && offset !== this.stageAt + this.used) this.flush();
    let at = offset;
    let from = 0;
    while (from < data.length) {
      if (this.used === 0) {
        this.stageAt = at;
        if (this.stage.length === 0) {
          // Not zero-filled: every byte handed over is one the writer gave.
          this.stage = Buffer.allocUnsafe(this.nextStage);
          this.nextStage = Math.min(2 * this.nextStage, STAGE_BYTES);
        }
      }
      const n = Math.min(data.length - from, this.stage.length - this.used);
      this.stage.set(data.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
      at += n;
      if (this.used === this.stage.length) this.flush();
    }
    this.end = Math.max(this.end, offset + data.length);
  }

  /** Hands the staged bytes to the thread pool. */
  flush(): void {
    if (this.used === 0) return;
    const bytes = this.stage.subarray(0, this.used);
    const at = this.stageAt;
    this.stage = EMPTY;
    this.used = 0;
    const piece = { at, bytes };
    this.inFlight.add(piece);
    this.pending.push(
      this.io.write(this.fd, bytes, at).then(
        () => {
          this.inFlight.delete(piece);
        },
        (e) => {
          this.error ??= e;
        },
      ),
    );
  }

  /** Copies into `out` (the file's bytes from `offset`) those of writes not done yet. */
  overlay(offset: number, out: Uint8Array): void {
    for (const { at, bytes } of this.inFlight) {
      const from = Math.max(offset, at);
      const to = Math.min(offset + out.length, at + bytes.length);
      if (from < to) out.set(bytes.subarray(from - at, to - at), from - offset);
    }
  }

  /** Only flushes: the background half fdatasyncs once every write is done. */
  sync(): void {
    this.flush();
  }

  /** Resolves once every write handed over is done; rejects with the first failure. */
  async drained(): Promise<void> {
    this.flush();
    await Promise.all(this.pending);
    if (this.error !== undefined) throw this.error;
  }

  close(): void {
    this.flush();
  }
}

/** Bytes gathered before a write is handed over, at most (a full save's 32 MiB: about 16 writes). */
const STAGE_BYTES = 2 * 1024 * 1024;
const FIRST_STAGE_BYTES = 256 * 1024;
const EMPTY = new Uint8Array(0);

/** A file read through a descriptor (the temporary file, for the read-back and `open`). */
class FdFile implements BlockFile {
  readonly writable = false;
  constructor(
    private readonly fd: number,
    readonly name: string,
    private readonly length: () => number,
    private readonly owned = false,
    private readonly writes?: QueuedFile,
  ) {}
  size(): number {
    return this.length();
  }
  read(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.length() - offset));
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const r = fs.readSync(this.fd, out, done, n - done, offset + done);
      if (r === 0) break;
      done += r;
    }
    // Bytes still on their way to the file (a short read of them is filled in too).
    this.writes?.overlay(offset, out);
    return out;
  }
  write(): void {
    throw new CheckpointError("INVALID_ARGUMENT", "read-only", this.name);
  }
  close(): void {
    if (this.owned) fs.closeSync(this.fd);
  }
}
