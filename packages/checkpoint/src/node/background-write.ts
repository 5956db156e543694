import * as fs from "node:fs";
import * as path from "node:path";
import { type BlockFile, MemoryBlockFile } from "@amber/image";
import { hostReason } from "@amber/image/node";
import { CheckpointError, isCheckpointError } from "../errors.js";
import { CheckpointReader } from "../reader.js";
import { type CheckpointInput, hostError, type WriteResult, writeCheckpoint } from "../writer.js";
import { removeStaleTemps } from "./index.js";
import { WriteBehind } from "./write-behind.js";

/**
 * The host's file operations the background half of a save uses, each asynchronous (Node
 * runs them on its thread pool, so the caller's thread, and the guest on it, runs on
 * meanwhile). Tests replace some to hold them or inject failures.
 */
export interface BackgroundIo {
  fdatasync(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory, making a rename in it durable. */
  syncDirectory(dir: string): Promise<void>;
  /** Writes all of `data` at `offset` of the file (a gathered image, written after the pause). */
  write(fd: number, data: Uint8Array, offset: number): Promise<void>;
}

const nodeIo: BackgroundIo = {
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
  rename: (from, to) => fs.promises.rename(from, to),
  write: async (fd, data, offset) => {
    let done = 0;
    while (done < data.length) {
      done += await new Promise<number>((resolve, reject) =>
        fs.write(fd, data, done, data.length - done, offset + done, (e, n) => (e ? reject(e) : resolve(n))),
      );
    }
  },
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
  /** Replaces some of the host's file operations (tests hold them or inject failures). */
  io?: Partial<BackgroundIo>;
  /**
   * Wraps the temporary file while an image too big to gather is encoded into it (tests
   * inject write faults; a gathered image is written by `io.write`).
   */
  wrapFile?: (file: BlockFile) => BlockFile;
  /**
   * Images up to this many bytes are encoded into memory and the file is created and written
   * only after the pause, on the thread pool (default GATHER_MAX, 4 MiB); a bigger one is
   * written into the temporary file as it is encoded (that file opened once the image
   * outgrows this). 0: always so.
   */
  gather?: number;
}

/**
 * Images up to this size are gathered in memory (an incremental save: its dirty pages,
 * XOR-delta): nothing touches the file system in the pause. Measured (save-speed.mjs, 1 MiB
 * dirty): creating and writing the file in the pause cost ≈ 1 ms more on disk than on tmpfs.
 * A bigger image (a full save) is streamed as it was: copying it into memory first only
 * costs more.
 */
export const GATHER_MAX = 4 * 1024 * 1024;

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
   * The image, readable now (before it is durable or even written): the bytes gathered in
   * memory, or the temporary file read through its own descriptor, under the target's name.
   * Close it when done; a failed save leaves it reading a removed file (keep it only if
   * `durable` resolved).
   */
  open(options?: Parameters<typeof CheckpointReader.open>[1]): CheckpointReader;
}

/**
 * Saves a checkpoint in two halves: now, the image is encoded (its pages read and hashed:
 * call this at the save instant, or from a copy-on-write snapshot of it) into memory (an
 * image up to `gather` bytes: nothing touches the file system) or, a bigger one, into a
 * temporary file beside `target` (into the OS's page cache: no waiting for the disk); then,
 * in the background (the returned `durable`), the temporary file is created and written (a
 * gathered image), fdatasynced, read back, renamed over `target` and the directory fsynced,
 * while the caller runs on. The same atomicity as `writeCheckpointFile` (of which it is the
 * asynchronous twin, writing the same bytes): until the rename, `target` is whatever it was;
 * a failure at any point removes the temporary file. An error while encoding (a page source
 * that throws, a full disk met while streaming a big image) is thrown, nothing left behind;
 * a directory that cannot be written is refused at once, before anything is encoded.
 */
export function startCheckpointFile(
  target: string,
  input: CheckpointInput,
  options: BackgroundWriteOptions = {},
): PendingCheckpointFile {
  const io: BackgroundIo = { ...nodeIo, ...options.io };
  const dir = path.dirname(target);
  // Unique within the process too: two saves of one name may be in flight (their files are made later).
  const stamp = `${Date.now().toString(36)}${(tmpCount++).toString(36)}`;
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${stamp}`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory())
      throw new CheckpointError("IO_ERROR", "is a directory; cannot write a file there", target);
  } catch (e) {
    if (isCheckpointError(e)) throw e;
    throw failure(e, target, `cannot write in ${dir}`);
  }
  let fd: number | undefined;
  let raw: FdWriteFile | undefined;
  let closed = false;
  const close = (): void => {
    if (fd !== undefined && !closed) {
      closed = true;
      fs.closeSync(fd);
    }
  };
  const discard = (): void => {
    close();
    if (fd !== undefined) fs.rmSync(tmp, { force: true });
  };
  // Streaming a big image: the temporary file made once it outgrows the gathering (at once
  // when the input says it will).
  const gather =
    options.gather ?? (input.sizeHint !== undefined && input.sizeHint > GATHER_MAX ? 0 : GATHER_MAX);
  const file = new GatheringFile(tmp, gather, () => {
    removeStaleTemps(target);
    try {
      fd = fs.openSync(tmp, "wx+");
    } catch (e) {
      throw failure(e, target, `cannot write in ${dir}`);
    }
    raw = new FdWriteFile(fd, tmp, io);
    return new WriteBehind(options.wrapFile ? options.wrapFile(raw) : raw);
  });
  let result: WriteResult;
  let inPlace = false;
  try {
    result = writeCheckpoint(file, input);
    file.flush();
  } catch (e) {
    discard();
    throw renamed(hostError(e, target), target);
  }
  // Gathered: the pieces are put together after the pause too.
  const gathered = file.spilled ? undefined : file;
  const durable = (async () => {
    try {
      if (gathered !== undefined) {
        // Nothing of this runs in the pause: the caller (the guest) runs on first.
        await new Promise<void>((resolve) => setImmediate(resolve));
        try {
          fd = await openNew(tmp);
        } catch (e) {
          throw failure(e, target, `cannot write in ${dir}`);
        }
        removeStaleTemps(target);
        await io.write(fd, gathered.whole(), 0);
      } else await raw!.drained();
      await io.fdatasync(fd!);
      // Never rename a damaged image over a good one: read back what was written.
      if (options.check !== false)
        CheckpointReader.open(new FdFile(fd!, tmp, result.size), { withoutParent: true }).close();
    } catch (e) {
      discard();
      throw renamed(failure(e, target, "writing"), target);
    }
    try {
      await io.rename(tmp, target);
      inPlace = true;
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
      close();
    }
    return result;
  })();
  return {
    result,
    durable,
    open: (o) => {
      // Gathered: the bytes in memory until the file is in place (they are the file's).
      if (gathered !== undefined && !inPlace)
        return CheckpointReader.open(new MemoryBlockFile(gathered.whole(), target, false), o);
      // Its own descriptor (the reader owns and closes it), on the file wherever it is now.
      return CheckpointReader.open(
        new FdFile(fs.openSync(inPlace ? target : tmp, "r"), target, result.size, true),
        o,
      );
    },
  };
}

/** Saves started by this process: part of each temporary file's name. */
let tmpCount = 0;

/** Creates `file` (it must not exist) for reading and writing, on the thread pool. */
function openNew(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, "wx+", (e, fd) => (e ? reject(e) : resolve(fd))));
}

/**
 * The file an image is encoded into: in memory up to `max` bytes (each write kept as a copy,
 * nothing copied twice); past that, the file `spill` opens (the bytes so far written into it
 * first), written through from then on.
 */
class GatheringFile implements BlockFile {
  readonly writable = true;
  private pieces: { offset: number; bytes: Uint8Array }[] = [];
  private length = 0;
  private out: WriteBehind | undefined;
  constructor(
    readonly name: string,
    private readonly max: number,
    private readonly spill: () => WriteBehind,
  ) {}
  size(): number {
    return this.out?.size() ?? this.length;
  }
  read(offset: number, length: number): Uint8Array {
    if (this.out !== undefined) return this.out.read(offset, length);
    return this.whole().slice(offset, Math.max(offset, Math.min(this.length, offset + length)));
  }
  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (this.out === undefined) {
      if (end <= this.max) {
        this.pieces.push({ offset, bytes: data.slice() });
        this.length = Math.max(this.length, end);
        return;
      }
      const out = this.spill();
      this.out = out;
      for (const p of this.pieces) out.write(p.offset, p.bytes);
      this.pieces = [];
    }
    this.out.write(offset, data);
  }
  /** Whether the image outgrew the gathering (it is in the file). */
  get spilled(): boolean {
    return this.out !== undefined;
  }
  /** The gathered image as one buffer. */
  whole(): Uint8Array {
    if (this.pieces.length === 1 && this.pieces[0]!.offset === 0) return this.pieces[0]!.bytes;
    const all = new Uint8Array(this.length);
    for (const p of this.pieces) all.set(p.bytes, p.offset);
    this.pieces = [{ offset: 0, bytes: all }];
    return all;
  }
  flush(): void {
    this.out?.flush();
  }
  sync(): void {
    this.out?.sync();
  }
  close(): void {}
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
 * The temporary file as the writer sees it: writes go straight into the OS's page cache (a
 * copy the kernel makes, cheaper than any of ours); `sync`, which WriteBehind calls every few
 * MiB of a big image, only starts an fdatasync on the thread pool, so the disk is busy
 * writing while the rest is encoded and the last one has little left to do. Failures of
 * those syncs are kept and reported by `drained`.
 */
class FdWriteFile implements BlockFile {
  readonly writable = true;
  private end = 0;
  private readonly syncs: Promise<void>[] = [];
  private error: unknown;

  constructor(
    private readonly fd: number,
    readonly name: string,
    private readonly io: BackgroundIo,
  ) {}

  size(): number {
    return this.end;
  }

  read(offset: number, length: number): Uint8Array {
    return new FdFile(this.fd, this.name, this.end).read(offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    this.end = Math.max(this.end, offset + data.length);
  }

  sync(): void {
    this.syncs.push(
      this.io.fdatasync(this.fd).catch((e: unknown) => {
        this.error ??= e;
      }),
    );
  }

  /** Resolves once the syncs started are done; rejects with the first failure. */
  async drained(): Promise<void> {
    await Promise.all(this.syncs);
    if (this.error !== undefined) throw this.error;
  }

  close(): void {}
}

/** A file read through a descriptor (the temporary file, for the read-back and `open`). */
class FdFile implements BlockFile {
  readonly writable = false;
  constructor(
    private readonly fd: number,
    readonly name: string,
    private readonly length: number,
    private readonly owned = false,
  ) {}
  size(): number {
    return this.length;
  }
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(length, this.length - offset)));
    const done = this.readInto(offset, out);
    return done === out.length ? out : out.subarray(0, done);
  }
  /** Reads into `into` (up to the file's end): a reader reuses one buffer block after block. */
  readInto(offset: number, into: Uint8Array): number {
    const n = Math.max(0, Math.min(into.length, this.length - offset));
    let done = 0;
    while (done < n) {
      const r = fs.readSync(this.fd, into, done, n - done, offset + done);
      if (r === 0) break;
      done += r;
    }
    return done;
  }
  write(): void {
    throw new CheckpointError("INVALID_ARGUMENT", "read-only", this.name);
  }
  close(): void {
    if (this.owned) fs.closeSync(this.fd);
  }
}
