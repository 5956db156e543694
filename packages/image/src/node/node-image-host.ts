import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BlockFile } from "../block-file.js";
import { ImageError } from "../errors.js";
import type { ImageHost } from "../image-host.js";
import { hostReason, ioError, NodeBlockFile } from "./node-block-file.js";

/** Files on the local disk, names resolved as QEMU does (relative to the naming file's directory). */
export const nodeImageHost: ImageHost = {
  open: (p, writable) => new NodeBlockFile(p, writable),
  exists: (p) => fs.existsSync(p),
  relativeTo: (name, from) => (path.isAbsolute(name) ? name : path.join(path.dirname(from), name)),
  canonical: (p) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  },
};

/** A temporary file for dirty pages spilled past a memory limit; deleted as soon as it is open. */
export function tempSpillFile(): BlockFile {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amber-spill-"));
  const p = path.join(dir, "pages");
  const file = new NodeBlockFile(p, true, { create: true });
  // Unlinked at once: the space is freed when the descriptor closes, even after a crash.
  fs.rmSync(dir, { recursive: true, force: true });
  return file;
}

/**
 * Writes a file atomically: `produce` writes into a temporary file in the same directory,
 * which is fsynced and renamed over `target` only when complete. On any failure (ENOSPC
 * included) the temporary file is removed and `target` is left exactly as it was.
 */
export function writeFileAtomic(target: string, produce: (file: BlockFile) => void): void {
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`,
  );
  let file: NodeBlockFile;
  try {
    // Checked first, so the error names the file the caller asked for, not the temporary one.
    fs.accessSync(path.dirname(target), fs.constants.W_OK);
    if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory())
      throw new ImageError("NOT_A_FILE", `${target}: is a directory; cannot write a file there`);
    file = new NodeBlockFile(tmp, true, { create: true });
  } catch (e) {
    if (e instanceof ImageError && e.code === "NOT_A_FILE") throw e;
    throw new ImageError(
      e instanceof ImageError && e.code === "NO_SPACE" ? "NO_SPACE" : "IO_ERROR",
      `${target}: cannot write in ${path.dirname(target)}: ${e instanceof ImageError ? e.message.replace(`${tmp}: `, "") : hostReason(e)}`,
    );
  }
  try {
    produce(file);
    // One fdatasync of the whole file before the rename publishes it (its data and size
    // durable first), then the directory's fsync makes the rename itself durable.
    file.syncData();
    file.close();
    try {
      fs.renameSync(tmp, target);
      const dirFd = fs.openSync(path.dirname(target), "r");
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    } catch (e) {
      throw ioError(e, target, "renaming into place");
    }
  } catch (e) {
    file.close();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
