import * as fs from "node:fs";
import * as path from "node:path";
import type { BlockFile } from "@amber/image";
import { NodeBlockFile, writeFileAtomic } from "@amber/image/node";
import { type CompactOptions, type CompactResult, compactCheckpoint } from "../compact.js";
import {
  type DirectorySink,
  MANIFEST,
  openDirectory,
  writeDirectoryLayout,
  writeSingleFile,
} from "../directory.js";
import { CheckpointError } from "../errors.js";
import { CheckpointReader } from "../reader.js";
import type { DirectorySource, OpenOptions, ParentLocation, ParentRef } from "../reader-types.js";
import { type SquashOptions, squash } from "../squash.js";
import { type CheckpointInput, hostError, type WriteResult, writeCheckpoint } from "../writer.js";
import { useNativeBlake3 } from "./native-blake3.js";
import { ReadOnly, WriteBehind } from "./write-behind.js";

export {
  type BackgroundIo,
  type BackgroundWriteOptions,
  GATHER_MAX,
  type PendingCheckpointFile,
  startCheckpointFile,
} from "./background-write.js";
export { nativeBlake3, useNativeBlake3 } from "./native-blake3.js";

// On Node, BLAKE3 (a full save hashes every stored byte) runs natively where the addon loads.
useNativeBlake3();

function nodeError(e: unknown, file: string, doing: string): CheckpointError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOSPC")
    return new CheckpointError("NO_SPACE", `no space left on device while ${doing}`, file);
  if (err.code === "ENOENT") return new CheckpointError("NOT_FOUND", "no such file or directory", file);
  return new CheckpointError("IO_ERROR", `${doing}: ${err.message}`, file);
}

/** A directory on disk, read through its files. */
export class NodeDirectory implements DirectorySource, DirectorySink {
  constructor(readonly name: string) {}
  private full(rel: string): string {
    return path.join(this.name, ...rel.split("/"));
  }
  readFile(rel: string): Uint8Array {
    try {
      return new Uint8Array(fs.readFileSync(this.full(rel)));
    } catch (e) {
      throw nodeError(e, this.full(rel), "reading");
    }
  }
  openFile(rel: string): BlockFile {
    try {
      return new NodeBlockFile(this.full(rel), false);
    } catch (e) {
      throw hostError(e, this.full(rel));
    }
  }
  createFile(rel: string): BlockFile {
    const p = this.full(rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    try {
      return new NodeBlockFile(p, true, { create: true });
    } catch (e) {
      throw hostError(e, p);
    }
  }
}

/**
 * Finds parents as the child's hint says (relative to the child's directory), then by the
 * hint's base name in each `searchPath` directory. A directory with a manifest.json is
 * opened as a composed image.
 */
export function nodeParentResolver(
  searchPath: string[] = [],
): (ref: ParentRef) => ParentLocation | undefined {
  return (ref) => {
    if (!ref.hint) return undefined;
    const candidates = [path.isAbsolute(ref.hint) ? ref.hint : path.join(path.dirname(ref.child), ref.hint)];
    for (const dir of searchPath) candidates.push(path.join(dir, path.basename(ref.hint)));
    for (const c of candidates) {
      if (!fs.existsSync(c)) continue;
      const real = fs.realpathSync(c);
      if (fs.statSync(real).isDirectory()) return { directory: new NodeDirectory(real) };
      return { file: new NodeBlockFile(real, false) };
    }
    return undefined;
  };
}

export interface NodeOpenOptions extends OpenOptions {
  /** Directories searched for parents after the hint's own place. */
  searchPath?: string[];
}

/** Opens an image on disk, a single file or a composed directory, with its parent chain. */
export function openCheckpoint(p: string, options: NodeOpenOptions = {}): CheckpointReader {
  const opts: OpenOptions = { resolveParent: nodeParentResolver(options.searchPath), ...options };
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch (e) {
    throw nodeError(e, p, "opening");
  }
  if (fs.statSync(real).isDirectory()) {
    if (!fs.existsSync(path.join(real, MANIFEST))) {
      throw new CheckpointError("BAD_MAGIC", `no ${MANIFEST}: not a composed checkpoint directory`, p);
    }
    return openDirectory(new NodeDirectory(real), opts);
  }
  return CheckpointReader.open(new NodeBlockFile(real, false), opts);
}

export interface AtomicWriteOptions {
  /** Wraps the temporary file (tests inject faults; tools count bytes). */
  wrapFile?: (file: BlockFile) => BlockFile;
  /** Re-open the finished temporary file (header, tables, digest) before renaming it. Default true. */
  check?: boolean;
}

/**
 * Removes temporary files a save of `target` left when its process was killed
 * (`.name.tmp-PID-*` of a PID that no longer runs on this host). Best effort.
 */
export function removeStaleTemps(target: string): void {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    // `.NAME.tmp-PID-STAMP`: a file (single-file save) or a directory (directory layout);
    // `.NAME.old-PID-STAMP`: the previous directory image, set aside during the swap.
    const m = /^\.(.*)\.(tmp|old)-(\d+)-[0-9a-z]+$/.exec(name);
    if (m === null || m[1] !== base) continue;
    const pid = Number(m[3]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    const p = path.join(dir, name);
    try {
      if (m[2] === "old" && !fs.existsSync(target)) {
        // Killed between the two renames: the previous image is the one to keep.
        fs.renameSync(p, target);
        continue;
      }
      fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // already gone, or not ours to remove: best effort
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function atomic(target: string, produce: (f: BlockFile) => void, options: AtomicWriteOptions): void {
  removeStaleTemps(target);
  try {
    writeFileAtomic(target, (raw) => {
      const file = new WriteBehind(options.wrapFile ? options.wrapFile(raw) : raw);
      produce(file);
      file.flush();
      // Never rename a damaged image over a good one: read back what was written.
      if (options.check !== false) CheckpointReader.open(new ReadOnly(raw), { withoutParent: true });
    });
  } catch (e) {
    const mapped = hostError(e, target);
    // Name the image being saved, not its temporary file.
    if (
      mapped instanceof CheckpointError &&
      (mapped.code === "NO_SPACE" || mapped.code === "IO_ERROR") &&
      mapped.file !== target
    ) {
      throw new CheckpointError(mapped.code, mapped.detail, target, mapped.offset, mapped.expected);
    }
    throw mapped;
  }
}

/**
 * Saves a checkpoint atomically: written to a temporary name in the same directory, fdatasynced,
 * read back, renamed over `target`, directory fsynced. Any failure (NO_SPACE included)
 * removes the temporary file and leaves the previous image exactly as it was.
 */
export function writeCheckpointFile(
  target: string,
  input: CheckpointInput,
  options: AtomicWriteOptions = {},
): WriteResult {
  let result: WriteResult | undefined;
  atomic(
    target,
    (f) => {
      result = writeCheckpoint(f, input);
    },
    options,
  );
  return result!;
}

/**
 * Writes a directory atomically: into `.name.tmp-*` beside it, every file fsynced, then
 * renamed into place. An existing directory is first renamed to `.name.old-*` and removed
 * after the swap (between the two renames the old image sits under that name).
 */
export function writeDirectoryAtomic(target: string, produce: (dir: DirectorySink) => void): void {
  const parent = path.dirname(target);
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${stamp}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${stamp}`);
  removeStaleTemps(target);
  try {
    fs.mkdirSync(tmp);
    produce(new NodeDirectory(tmp));
    fsyncDir(tmp);
    const exists = fs.existsSync(target);
    if (exists) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    fsyncDir(parent);
    if (exists) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(old) && !fs.existsSync(target)) fs.renameSync(old, target);
    const mapped = hostError(e, target);
    throw mapped instanceof CheckpointError ? mapped : nodeError(e, target, "writing");
  }
}

function fsyncDir(dir: string): void {
  for (const sub of ["", "sections", "segments"]) {
    const p = path.join(dir, sub);
    if (!fs.existsSync(p)) continue;
    const fd = fs.openSync(p, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Converts between layouts: `to` "file" or "directory"; the digest stays the same. */
export function convertCheckpoint(
  src: string,
  dst: string,
  to: "file" | "directory",
  options: NodeOpenOptions = {},
): string {
  const reader = openCheckpoint(src, options);
  try {
    if (to === "directory") {
      let digest = "";
      writeDirectoryAtomic(dst, (dir) => {
        digest = writeDirectoryLayout(reader, dir);
      });
      return digest;
    }
    let digest = "";
    atomic(
      dst,
      (f) => {
        digest = writeSingleFile(reader, f);
      },
      {},
    );
    return digest;
  } finally {
    reader.close();
  }
}

/**
 * Replaces the search path of the image at `src` (either layout), keeping everything else,
 * the digest included, so children naming it still find it. Written as a whole new image
 * beside it, fsynced, read back and renamed over it: a failure leaves the image as it was.
 */
export function relocateCheckpoint(
  src: string,
  searchPath: readonly string[],
  options: NodeOpenOptions = {},
): string {
  let real: string;
  try {
    real = fs.realpathSync(src);
  } catch (e) {
    throw nodeError(e, src, "opening");
  }
  const reader = openCheckpoint(real, { ...options, withoutParent: true });
  try {
    let digest = "";
    if (fs.statSync(real).isDirectory()) {
      writeDirectoryAtomic(real, (dir) => {
        digest = writeDirectoryLayout(reader, dir, searchPath);
      });
    } else {
      atomic(
        real,
        (f) => {
          digest = writeSingleFile(reader, f, searchPath);
        },
        {},
      );
    }
    return digest;
  } finally {
    reader.close();
  }
}

/** Squashes `src` and its chain into one full single-file image at `dst`. */
export function squashCheckpoint(
  src: string,
  dst: string,
  options: NodeOpenOptions & SquashOptions = {},
): WriteResult {
  const reader = openCheckpoint(src, options);
  try {
    let result: WriteResult | undefined;
    atomic(
      dst,
      (f) => {
        result = squash(reader, f, options);
      },
      {},
    );
    return result!;
  } finally {
    reader.close();
  }
}

/**
 * Recompresses the single-file image `src` in place (or into `dst`) with `codec` (default
 * zstd): "save fast, compress later". The digest stays the same, so children naming it as
 * their parent still find it. Written to a temporary file, read back and renamed over the
 * target: a failure leaves the image as it was.
 */
export function compactCheckpointFile(
  src: string,
  options: NodeOpenOptions & CompactOptions & { dst?: string } = {},
): CompactResult {
  const dst = options.dst ?? src;
  let real: string;
  try {
    real = fs.realpathSync(src);
  } catch (e) {
    throw nodeError(e, src, "opening");
  }
  if (fs.statSync(real).isDirectory()) {
    throw new CheckpointError(
      "INVALID_ARGUMENT",
      "a composed directory: compact works on single-file images (convert it to a file first)",
      src,
    );
  }
  const reader = openCheckpoint(real, { ...options, withoutParent: true });
  try {
    let result: CompactResult | undefined;
    atomic(
      dst === src ? real : dst,
      (f) => {
        result = compactCheckpoint(reader, f, options);
      },
      {},
    );
    return result!;
  } finally {
    reader.close();
  }
}

export { NodeBlockFile };
