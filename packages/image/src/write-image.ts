import { writeAmberLayer } from "./amber-writer.js";
import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { Image } from "./image.js";
import type { ImageFormat } from "./layer.js";
import type { PageSource } from "./page-source.js";
import type { Qcow2Compression } from "./qcow2-compression.js";
import { writeQcow2 } from "./qcow2-writer.js";
import { writeRaw } from "./raw-writer.js";
import { type VhdxSubformat, writeVhdx } from "./vhdx-writer.js";

export interface WriteOptions {
  format: ImageFormat;
  /** qcow2: compress clusters with zlib or zstd. Amber: the @amber/compress codec (default zstd). */
  compression?: Qcow2Compression | string;
  level?: number;
  /** qcow2 cluster size (default 64 KiB). */
  clusterSize?: number;
  /** VHDX: "dynamic" (default) or "fixed". */
  subformat?: VhdxSubformat;
  /** VHDX payload block size (default as qemu-img: 8 MiB for disks up to 1 GiB, more above). */
  blockSize?: number;
  /** For a diff layer: the file it sits on, as it should be recorded. */
  backingName?: string;
  backingFormat?: ImageFormat;
  /** Progress in bytes of logical space handled, out of `total`. */
  onProgress?: (done: number, total: number) => void;
}

/** Writes pages in one of the formats Amber writes (raw, qcow2, amber, vhdx). */
export function writePages(source: PageSource, out: BlockFile, options: WriteOptions): void {
  const total = source.size;
  const progress =
    options.onProgress === undefined ? undefined : (done: number) => options.onProgress?.(done, total);
  switch (options.format) {
    case "raw":
      if (options.backingName !== undefined)
        throw new ImageError("INVALID_ARGUMENT", "a raw file cannot name a backing file");
      writeRaw(source, out, progress);
      return;
    case "qcow2": {
      const c = options.compression;
      if (c !== undefined && c !== "zlib" && c !== "zstd") {
        throw new ImageError("INVALID_ARGUMENT", `qcow2 compression "${c}": zlib or zstd`);
      }
      writeQcow2(source, out, {
        clusterSize: options.clusterSize,
        compression: c,
        backingName: options.backingName,
        backingFormat: options.backingFormat,
        onProgress: progress,
      });
      return;
    }
    case "amber":
      writeAmberLayer(source, out, {
        codec: options.compression ?? "zstd",
        level: options.level,
        backingName: options.backingName,
        backingFormat: options.backingFormat,
        omitInitPages: options.backingName === undefined,
        onProgress:
          progress === undefined ? undefined : (pages) => progress(Math.min(total, pages * source.pageSize)),
      });
      return;
    case "vhdx":
      if (options.backingName !== undefined)
        throw new ImageError(
          "INVALID_ARGUMENT",
          "Amber writes standalone VHDX files only (no differencing VHDX over a backing file)",
        );
      if (options.compression !== undefined)
        throw new ImageError("INVALID_ARGUMENT", "VHDX has no compression");
      writeVhdx(source, out, {
        subformat: options.subformat,
        blockSize: options.blockSize,
        onProgress: progress,
      });
      return;
    case "dmg":
      throw new ImageError("INVALID_ARGUMENT", "DMG is read-only in Amber: write raw, qcow2, amber or vhdx");
    default:
      throw new ImageError(
        "INVALID_ARGUMENT",
        `unknown format "${options.format as string}" (raw, qcow2, amber, vhdx)`,
      );
  }
}

/** Saves an image's shadowed writes as a diff layer over its current layers (the files stay as they are). */
export function saveDiff(image: Image, out: BlockFile, options: WriteOptions): number {
  const count = image.dirtyPageCount;
  writePages(image.dirtySource(), out, options);
  out.sync?.();
  return count;
}

/** Writes the whole image (all layers merged with the shadowed writes) as one standalone file. */
export function flatten(image: Image, out: BlockFile, options: WriteOptions): void {
  writePages(image.contentSource(), out, { ...options, backingName: undefined, backingFormat: undefined });
  out.sync?.();
}
