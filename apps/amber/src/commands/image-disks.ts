import * as path from "node:path";
import {
  IMAGE_FORMATS,
  type Image,
  type ImageFormat,
  isImageError,
  isImageFormat,
  MemoryBudget,
  openImage,
  saveDiff,
} from "@amber/image";
import { nodeImageHost, tempSpillFile, writeFileAtomic } from "@amber/image/node";
import type { MachineDisk } from "@amber/machine";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/** One `--disk FILE[,format=raw|qcow2|amber|vhdx|dmg][,rw]`. */
export interface DiskSpec {
  file: string;
  format?: ImageFormat;
  rw: boolean;
}

/** Shadowed writes past this stay on disk in a temporary file, not in memory. */
const DISK_MEMORY_LIMIT = 256 * 1024 * 1024;

export function parseDiskSpec(spec: string): DiskSpec {
  const parts = spec.split(",");
  const file = parts[0] ?? "";
  if (file === "") throw new UserError(`--disk "${spec}": give a file name first`, ExitCode.Usage);
  const out: DiskSpec = { file, rw: false };
  for (const p of parts.slice(1)) {
    if (p === "rw") out.rw = true;
    else if (p === "ro") out.rw = false;
    else if (p.startsWith("format=")) {
      const f = p.slice(7);
      if (!isImageFormat(f)) {
        throw new UserError(
          `--disk "${spec}": format ${f} is not one of ${IMAGE_FORMATS.join(", ")}`,
          ExitCode.Usage,
        );
      }
      out.format = f;
    } else throw new UserError(`--disk "${spec}": unknown option "${p}" (format=..., rw)`, ExitCode.Usage);
  }
  return out;
}

/** Default extension of Amber disk layers (worlds, the machine checkpoints, are `.amber`). */
export const DISK_LAYER_EXT = ".amberdisk";

/** `--save-disk-diff OUT`'s format: qcow2 for `.qcow2`, else an Amber layer; `.amber` names worlds. */
export function diffFormat(out: string): ImageFormat {
  if (out.endsWith(".qcow2")) return "qcow2";
  if (out.endsWith(".amber"))
    throw new UserError(
      `--save-disk-diff ${out}: .amber is the extension of worlds (machine checkpoints); name a disk layer ${DISK_LAYER_EXT} (Amber's format) or .qcow2`,
      ExitCode.Usage,
    );
  return "amber";
}

/** Turns a library error into the CLI's one-line error. */
export function imageUserError(e: unknown, exitCode: number = ExitCode.Failure): never {
  if (isImageError(e)) throw new UserError(e.message, exitCode);
  throw e;
}

/**
 * Opens the disks for `amber run`. Without `rw` a disk is shadowed: the guest may write,
 * the file never changes (the writes live in memory, spilling to a temporary file).
 */
export function openDisks(specs: readonly DiskSpec[]): Image[] {
  const budget = new MemoryBudget({ limitBytes: DISK_MEMORY_LIMIT, spillFile: tempSpillFile });
  const images: Image[] = [];
  try {
    for (const s of specs) {
      images.push(openImage(nodeImageHost, s.file, { format: s.format, writable: s.rw, budget }));
    }
  } catch (e) {
    for (const i of images) i.close();
    imageUserError(e);
  }
  return images;
}

/**
 * The opened disks as the machine takes them: a save records each one's file (as given,
 * made relative to the image when saved) and format, and refuses a disk opened rw.
 */
export function machineDisks(images: readonly Image[], specs: readonly DiskSpec[]): MachineDisk[] {
  return images.map((image, i) => ({
    backend: image,
    source: specs[i]?.file ?? "",
    format: specs[i]?.format ?? image.layers[image.layers.length - 1]?.format ?? "",
    writesThrough: specs[i]?.rw === true,
  }));
}

/** After the run: keep disk 0's shadowed writes as a diff layer if asked, then close all. */
export function closeDisks(
  images: readonly Image[],
  specs: readonly DiskSpec[],
  saveDiffTo: string | undefined,
): void {
  try {
    if (saveDiffTo !== undefined) {
      const image = images[0];
      const spec = specs[0];
      if (image === undefined || spec === undefined)
        throw new UserError("--save-disk-diff needs a --disk", ExitCode.Usage);
      if (spec.rw)
        throw new UserError(
          "--save-disk-diff: the disk was opened rw, so its writes are already in the file",
          ExitCode.Usage,
        );
      const format = diffFormat(saveDiffTo);
      const backingName = path.relative(path.dirname(path.resolve(saveDiffTo)), path.resolve(spec.file));
      writeFileAtomic(saveDiffTo, (f) =>
        saveDiff(image, f, {
          format,
          backingName,
          backingFormat: image.layers[image.layers.length - 1]?.format,
        }),
      );
    }
  } catch (e) {
    imageUserError(e);
  } finally {
    for (const i of images) i.close();
  }
}
