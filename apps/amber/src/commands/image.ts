import * as fs from "node:fs";
import * as path from "node:path";
import {
  AmberLayer,
  checkLayer,
  DmgLayer,
  flatten,
  IMAGE_FORMATS,
  Image,
  type ImageFormat,
  isImageFormat,
  type Layer,
  openImage,
  openLayer,
  Qcow2Layer,
  saveDiff,
  VhdxLayer,
  WRITABLE_FORMATS,
  type WriteOptions,
  writePages,
} from "@amber/image";
import { nodeImageHost, writeFileAtomic } from "@amber/image/node";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { sizeOption } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { imageUserError } from "./image-disks.js";
import { progressBar } from "./image-progress.js";
import { imageMap, imageMeasure, imageRebase, imageRepair, imageResize, wantsJson } from "./image-verbs.js";

/** Formats qemu-img knows that Amber neither reads nor writes. */
const FOREIGN = ["vmdk", "vdi", "vpc", "qed", "qcow", "luks", "parallels", "bochs", "cloop"];

function format(name: string | undefined, flag: string): ImageFormat | undefined {
  if (name === undefined) return undefined;
  if (!isImageFormat(name)) {
    if (FOREIGN.includes(name))
      throw new UserError(
        `${flag} ${name}: Amber reads ${IMAGE_FORMATS.join(", ")} (and writes all but dmg); qemu-img converts to and from ${name}`,
        ExitCode.Usage,
      );
    throw new UserError(`${flag} ${name}: unknown format (${IMAGE_FORMATS.join(", ")})`, ExitCode.Usage);
  }
  return name;
}

/** An output format: one Amber writes (DMG is read-only). */
function outputFormat(name: string, flag: string): ImageFormat {
  const f = format(name, flag) as ImageFormat;
  if (!WRITABLE_FORMATS.includes(f))
    throw new UserError(
      `${flag} ${name}: Amber reads ${name} but does not write it (${WRITABLE_FORMATS.join(", ")})`,
      ExitCode.Usage,
    );
  return f;
}

function size(text: string, what: string): number {
  return sizeOption(what, text, "64M, 1G");
}

/** Human size as qemu-img prints it: "1 MiB (1048576 bytes)"-style. */
function human(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(2)} ${units[u]}`;
}

type CreateOptions = Pick<WriteOptions, "compression" | "clusterSize" | "subformat" | "blockSize">;

/**
 * `-o compression_type=zstd,cluster_size=64K` (qcow2) or `-o subformat=fixed,block_size=8M`
 * (vhdx), as qemu-img takes them.
 */
function parseCreateOptions(text: string | undefined): CreateOptions {
  const out: CreateOptions = {};
  for (const kv of (text ?? "").split(",").filter((s) => s !== "")) {
    const [k, v = ""] = kv.split("=");
    if (k === "compression_type") out.compression = v;
    else if (k === "cluster_size") out.clusterSize = size(v, "-o cluster_size");
    else if (k === "block_size") out.blockSize = size(v, "-o block_size");
    else if (k === "subformat") {
      if (v !== "dynamic" && v !== "fixed")
        throw new UserError(`-o subformat=${v}: dynamic or fixed (vhdx)`, ExitCode.Usage);
      out.subformat = v;
    } else
      throw new UserError(
        `-o ${k}: unknown option (qcow2: compression_type, cluster_size; vhdx: subformat, block_size)`,
        ExitCode.Usage,
      );
  }
  return out;
}

function withImage<T>(file: string, fmt: ImageFormat | undefined, run: (image: Image) => T): T {
  let image: Image | undefined;
  try {
    image = openImage(nodeImageHost, file, { format: fmt });
    return run(image);
  } catch (e) {
    return imageUserError(e);
  } finally {
    image?.close();
  }
}

function layerInfo(layer: Layer): Record<string, unknown> {
  const info: Record<string, unknown> = {
    filename: layer.name,
    format: layer.format,
    "virtual-size": layer.size,
    "actual-size": layer.fileSize(),
  };
  if (layer instanceof Qcow2Layer) {
    const h = layer.header;
    info["cluster-size"] = 2 ** h.clusterBits;
    info["dirty-flag"] = (h.incompat & 1n) !== 0n;
    info["format-specific"] = {
      type: "qcow2",
      data: {
        compat: h.version === 3 ? "1.1" : "0.10",
        "compression-type": h.compressionType === 1 ? "zstd" : "zlib",
        "refcount-bits": 2 ** h.refcountOrder,
        corrupt: (h.incompat & 2n) !== 0n,
      },
    };
  } else if (layer instanceof VhdxLayer) {
    const m = layer.metadata;
    info["cluster-size"] = m.blockSize;
    info["format-specific"] = {
      type: "vhdx",
      data: {
        subformat: layer.subformat,
        "logical-sector-size": m.logicalSectorSize,
        "physical-sector-size": m.physicalSectorSize,
        "header-sequence": Number(layer.header.sequenceNumber),
      },
    };
  } else if (layer instanceof DmgLayer) {
    const chunks = layer.tables.flatMap((t) => t.chunks);
    info["format-specific"] = {
      type: "dmg",
      data: {
        "blkx-tables": layer.tables.length,
        chunks: chunks.length,
        "zlib-chunks": chunks.filter((c) => c.type === 0x80000005).length,
        "raw-chunks": chunks.filter((c) => c.type === 1).length,
      },
    };
  } else if (layer instanceof AmberLayer) {
    info["cluster-size"] = layer.grain;
    info["format-specific"] = {
      type: "amber",
      data: { "stored-pages": layer.storedPages, "init-byte": layer.initByte },
    };
  }
  if (layer.backingName !== undefined) info["backing-filename"] = layer.backingName;
  if (layer.backingFormat !== undefined) info["backing-filename-format"] = layer.backingFormat;
  return info;
}

export function imageInfo(
  env: CliEnv,
  out: (t: string) => void,
  file: string,
  o: { format?: string; json?: boolean; backingChain?: boolean },
): number {
  return withImage(file, format(o.format, "-f"), (image) => {
    const layers = [...image.layers].reverse();
    const infos = (o.backingChain ? layers : layers.slice(0, 1)).map(layerInfo);
    if (o.json) {
      out(`${JSON.stringify(o.backingChain ? infos : infos[0], null, 4)}\n`);
      return ExitCode.Ok;
    }
    for (const [i, info] of infos.entries()) {
      if (i > 0) out("\n");
      out(`image: ${info.filename}\nfile format: ${info.format}\n`);
      out(`virtual size: ${human(info["virtual-size"] as number)} (${info["virtual-size"]} bytes)\n`);
      out(`disk size: ${human(info["actual-size"] as number)}\n`);
      if (info["cluster-size"] !== undefined) out(`cluster_size: ${info["cluster-size"]}\n`);
      if (info["backing-filename"] !== undefined) out(`backing file: ${info["backing-filename"]}\n`);
      if (info["backing-filename-format"] !== undefined)
        out(`backing file format: ${info["backing-filename-format"]}\n`);
      const fs = info["format-specific"] as { data: Record<string, unknown> } | undefined;
      if (fs !== undefined) {
        out("Format specific information:\n");
        for (const [k, v] of Object.entries(fs.data)) out(`    ${k}: ${v}\n`);
      }
    }
    if (!o.backingChain && image.layers.length > 1)
      env.stderr(`(${image.layers.length - 1} more layer(s) below; --backing-chain lists them)\n`);
    return ExitCode.Ok;
  });
}

export function imageCreate(
  file: string,
  sizeText: string | undefined,
  o: { format?: string; backing?: string; backingFormat?: string; options?: string },
): number {
  const fmt = outputFormat(o.format ?? "raw", "-f");
  let total = sizeText === undefined ? undefined : size(sizeText, "size");
  let backingFormat = format(o.backingFormat, "-F");
  if (o.backing !== undefined) {
    if (fmt === "raw") throw new UserError("-b: a raw file cannot have a backing file", ExitCode.Usage);
    const backingPath = path.isAbsolute(o.backing) ? o.backing : path.join(path.dirname(file), o.backing);
    withImage(backingPath, backingFormat, (b) => {
      total ??= b.size;
      backingFormat ??= b.layers[b.layers.length - 1]?.format;
    });
  }
  if (total === undefined)
    throw new UserError("create: give a size (or -b BACKING to take its size)", ExitCode.Usage);
  const empty = new Image([], { size: total });
  try {
    writeFileAtomic(file, (f) =>
      writePages(empty.dirtySource(), f, {
        format: fmt,
        backingName: o.backing,
        backingFormat,
        ...parseCreateOptions(o.options),
      }),
    );
  } catch (e) {
    imageUserError(e);
  }
  return ExitCode.Ok;
}

export function imageConvert(
  input: string,
  output: string,
  o: {
    format?: string;
    outputFormat?: string;
    compress?: boolean;
    options?: string;
    progress?: boolean;
    /** -n: the output exists already (same size or larger): write the data into it. */
    noCreate?: boolean;
    /** -B: the output is a diff layer over this backing file (relative to the output). */
    backing?: string;
    backingFormat?: string;
  },
): number {
  const outFmt = outputFormat(o.outputFormat ?? "raw", "-O");
  if (o.noCreate) return convertInto(input, output, o.format, outFmt);
  if (o.backing !== undefined)
    return convertOver(input, output, o.format, outFmt, o.backing, o.backingFormat, o.options);
  const opts = parseCreateOptions(o.options);
  if (o.compress && opts.compression === undefined) opts.compression = outFmt === "qcow2" ? "zlib" : "zstd";
  if (!o.compress && outFmt === "qcow2" && opts.compression !== undefined) {
    // qemu-img: compression_type only chooses the algorithm; -c decides whether clusters are compressed.
    opts.compression = undefined;
  }
  const bar = progressBar(`converting ${path.basename(input)}`, o.progress ?? true);
  try {
    return withImage(input, format(o.format, "-f"), (image) => {
      refuseOverwritingInput(output, image);
      writeFileAtomic(output, (f) =>
        flatten(image, f, { format: outFmt, ...opts, onProgress: (d, t) => bar.update(d, t) }),
      );
      return ExitCode.Ok;
    });
  } finally {
    bar.stop();
  }
}

/** `convert -n`: writes the input's content into an existing image (raw, qcow2 or vhdx) of at least its size. */
function convertInto(input: string, output: string, inFmt: string | undefined, outFmt: ImageFormat): number {
  return withImage(input, format(inFmt, "-f"), (image) => {
    refuseOverwritingInput(output, image);
    let target: Image | undefined;
    try {
      target = openImage(nodeImageHost, output, { format: outFmt, writable: true, noBacking: true });
      if (!target.writeThrough)
        throw new UserError(
          `${output}: -n cannot write into a ${outFmt} file (raw, qcow2 or vhdx)`,
          ExitCode.Usage,
        );
      if (target.size < image.size)
        throw new UserError(
          `${output}: ${target.size} bytes, smaller than the input's ${image.size} (-n writes into an existing image)`,
          ExitCode.Failure,
        );
      // Only what differs is written: zeros over an empty qcow2 allocate nothing.
      const step = 64 * 1024;
      for (let at = 0; at < image.size; at += step) {
        const n = Math.min(step, image.size - at);
        const data = image.read(at, n);
        if (!Buffer.from(data).equals(Buffer.from(target.read(at, n)))) target.write(at, data);
      }
      target.sync();
      return ExitCode.Ok;
    } catch (e) {
      return imageUserError(e);
    } finally {
      target?.close();
    }
  });
}

/**
 * `convert -B BACKING`: the output is a diff layer naming BACKING, holding only the pages
 * whose content differs from BACKING's (as qemu-img writes it).
 */
function convertOver(
  input: string,
  output: string,
  inFmt: string | undefined,
  outFmt: ImageFormat,
  backing: string,
  backingFmt: string | undefined,
  options: string | undefined,
): number {
  if (outFmt === "raw") throw new UserError("-B: a raw file cannot have a backing file", ExitCode.Usage);
  return withImage(input, format(inFmt, "-f"), (image) => {
    refuseOverwritingInput(output, image);
    const backingPath = path.isAbsolute(backing) ? backing : path.join(path.dirname(output), backing);
    return withImage(backingPath, format(backingFmt, "-F"), (base) => {
      // The base's layers with the input's differing pages as shadowed writes.
      const diff = new Image(base.layers, { size: image.size, pageSize: image.pageSize });
      const ps = image.pageSize;
      for (let p = 0; p < Math.ceil(image.size / ps); p++) {
        const at = p * ps;
        const n = Math.min(ps, image.size - at);
        const want = image.read(at, n);
        const have = at < base.size ? base.read(at, Math.min(n, base.size - at)) : new Uint8Array(0);
        if (!sameOrZeroPadded(want, have)) diff.write(at, want);
      }
      writeFileAtomic(output, (f) =>
        saveDiff(diff, f, {
          format: outFmt,
          backingName: backing,
          backingFormat: base.layers[base.layers.length - 1]?.format,
          ...parseCreateOptions(options),
        }),
      );
      return ExitCode.Ok;
    });
  });
}

function sameOrZeroPadded(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== (b[i] ?? 0)) return false;
  return true;
}

/** qemu-img's rule: never write over the input (or a file of its backing chain), by inode. */
function refuseOverwritingInput(output: string, image: Image): void {
  const out = fs.statSync(output, { throwIfNoEntry: false });
  if (out === undefined) return;
  for (const layer of image.layers) {
    const st = fs.statSync(layer.name, { throwIfNoEntry: false });
    if (st !== undefined && st.dev === out.dev && st.ino === out.ino)
      throw new UserError(
        `${output}: is ${layer === image.layers[image.layers.length - 1] ? "the input" : `the input's backing file ${layer.name}`} (same file); write to another file`,
        ExitCode.Usage,
      );
  }
}

/** Clusters holding data (qemu-img check's "allocated-clusters": not zero-flagged ones). */
function allocatedClusters(layer: Layer): number {
  let n = 0;
  for (const [start] of layer.extents()) {
    if (!(layer instanceof Qcow2Layer) || layer.entry(start / layer.grain).kind !== "zero") n++;
  }
  return n;
}

export function imageCheck(
  out: (t: string) => void,
  file: string,
  o: { format?: string; json?: boolean; repair?: string },
): number {
  if (o.repair !== undefined)
    return imageRepair(out, file, { format: format(o.format, "-f"), mode: o.repair });
  return withImage(file, format(o.format, "-f"), (image) => {
    const layer = image.layers[image.layers.length - 1] as Layer;
    const report = checkLayer(layer);
    if (o.json) {
      // qemu-img check --output=json's keys.
      const j: Record<string, unknown> = {
        "image-end-offset": layer.fileSize(),
        "total-clusters": Math.ceil(layer.size / layer.grain),
        "check-errors": 0,
        "allocated-clusters": allocatedClusters(layer),
        filename: file,
        format: layer.format,
      };
      if (report.corruptions > 0) j.corruptions = report.corruptions;
      if (report.leaks > 0) j.leaks = report.leaks;
      out(`${JSON.stringify(j, null, 4)}\n`);
      return report.corruptions > 0 ? 2 : report.leaks > 0 ? 3 : ExitCode.Ok;
    }
    for (const m of report.messages.slice(0, 50))
      out(`${report.corruptions > 0 ? "ERROR" : "Leaked"}: ${m}\n`);
    if (report.corruptions > 0) {
      out(
        `\n${report.corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n`,
      );
      return 2;
    }
    if (report.leaks > 0) {
      out(
        `\n${report.leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n`,
      );
      return 3;
    }
    out("No errors were found on the image.\n");
    return ExitCode.Ok;
  });
}

export function imageCompare(
  out: (t: string) => void,
  a: string,
  b: string,
  o: { format?: string; secondFormat?: string; strict?: boolean },
): number {
  return withImage(a, format(o.format, "-f"), (ia) =>
    withImage(b, format(o.secondFormat, "-F"), (ib) => {
      if (o.strict && ia.size !== ib.size) {
        out(`Strict mode: Image size mismatch!\n`);
        return 1;
      }
      const chunk = 1 << 20;
      for (let at = 0; at < Math.max(ia.size, ib.size); at += chunk) {
        const n = Math.min(chunk, Math.max(ia.size, ib.size) - at);
        const x = at < ia.size ? ia.read(at, Math.min(n, ia.size - at)) : new Uint8Array(0);
        const y = at < ib.size ? ib.read(at, Math.min(n, ib.size - at)) : new Uint8Array(0);
        for (let i = 0; i < n; i++) {
          // Past the shorter image, the longer one must hold zeros (qemu-img compare's rule).
          if ((x[i] ?? 0) !== (y[i] ?? 0)) {
            out(`Content mismatch at offset ${at + i}!\n`);
            return 1;
          }
        }
      }
      out("Images are identical.\n");
      return ExitCode.Ok;
    }),
  );
}

export function imageCommit(out: (t: string) => void, file: string, o: { format?: string }): number {
  let top: Layer | undefined;
  let base: Image | undefined;
  try {
    top = openLayer(nodeImageHost.open(file, false), format(o.format, "-f"), false);
    if (top.backingName === undefined)
      throw new UserError(`${file} has no backing file to commit into`, ExitCode.Failure);
    const backingPath = nodeImageHost.relativeTo(top.backingName, file);
    base = openImage(nodeImageHost, backingPath, { format: top.backingFormat, writable: true });
    if (!base.writeThrough)
      throw new UserError(
        `${backingPath}: cannot write into a ${base.layers[base.layers.length - 1]?.format} layer`,
        ExitCode.Failure,
      );
    let bytes = 0;
    for (const [start, length] of top.extents()) {
      const end = Math.min(start + length, base.size);
      for (let at = start; at < end; at += top.grain) {
        const n = Math.min(top.grain, end - at);
        base.write(at, top.read(at, n));
        bytes += n;
      }
    }
    base.sync();
    out(`Image committed: ${bytes} bytes written into ${backingPath}.\n`);
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    top?.close();
    base?.close();
  }
}

/** Registers `amber image info|create|convert|check|compare|commit|map|rebase|resize`, shaped like qemu-img. */
export function registerImageCommands(
  program: Command,
  env: CliEnv,
  writeOut: (t: string) => void,
  setStatus: (s: number) => void,
): void {
  const image = program
    .command("image")
    .description(
      "Inspect, create and convert disk images (raw, qcow2, amber, vhdx; dmg read-only), as qemu-img does.",
    )
    .addHelpText(
      "after",
      `
Formats are detected by content: qcow2, Amber disk layers (.amberdisk) and VHDX by their
magic, DMG (UDIF: raw and zlib chunks; read-only) by its "koly" trailer;
raw only for a file with no known or damaged header, a whole number of 512-byte sectors and
no other format's extension; anything else is an error (-f raw reads any file as raw).
Worlds (machine checkpoints, .amber) are not disk images: amber inspect/resume read them.`,
    );
  image
    .command("info")
    .argument("<file>")
    .option("-f <format>", "format of the file (default: detected)")
    .option("--json", "print JSON (qemu-img info --output=json keys)")
    .option("--output <fmt>", "json or human (qemu-img's spelling of --json)")
    .option("--backing-chain", "describe every layer of the chain")
    .action((file: string, o) =>
      setStatus(
        imageInfo(env, writeOut, file, { format: o.f, json: wantsJson(o), backingChain: o.backingChain }),
      ),
    );
  image
    .command("create")
    .argument("<file>")
    .argument("[size]", "virtual size, e.g. 64M (default: the backing file's)")
    .option("-f <format>", "raw, qcow2, amber or vhdx", "raw")
    .option("-b <backing>", "backing file (relative to the new file's directory)")
    .option("-F <format>", "backing file's format")
    .option(
      "-o <options>",
      "qcow2: cluster_size=N,compression_type=zlib|zstd; vhdx: subformat=dynamic|fixed,block_size=N",
    )
    .action((file: string, sz: string | undefined, o) =>
      setStatus(imageCreate(file, sz, { format: o.f, backing: o.b, backingFormat: o.F, options: o.o })),
    );
  image
    .command("convert")
    .argument("<input>")
    .argument("<output>")
    .option("-f <format>", "input format (default: detected)")
    .option("-O <format>", "output format: raw, qcow2, amber or vhdx", "raw")
    .option("-c", "compress (qcow2: clusters, zlib unless -o compression_type=zstd; amber: always)")
    .option(
      "-o <options>",
      "qcow2: cluster_size=N,compression_type=zlib|zstd; vhdx: subformat=dynamic|fixed,block_size=N",
    )
    .option("-n", "do not create the output: write into the existing image (raw, qcow2 or vhdx)")
    .option("-B <backing>", "write a diff layer over this backing file (only what differs from it)")
    .option("-F <format>", "the backing file's format (with -B)")
    .option("--no-progress", "no progress bar (there is none unless stderr is a terminal)")
    .description("Write the whole image (all layers merged) as one new file, atomically.")
    .action((input: string, output: string, o) =>
      setStatus(
        imageConvert(input, output, {
          format: o.f,
          outputFormat: o.O,
          compress: o.c,
          options: o.o,
          progress: o.progress,
          noCreate: o.n,
          backing: o.B,
          backingFormat: o.F,
        }),
      ),
    );
  image
    .command("check")
    .argument("<file>")
    .option("-f <format>", "format (default: detected)")
    .option("-r <leaks|all>", "repair: rebuild the refcounts (leaks: only when nothing but leaks was found)")
    .option("--json", "print JSON (qemu-img check --output=json keys)")
    .option("--output <fmt>", "json or human (qemu-img's spelling of --json)")
    .description("Check metadata and checksums; exit 0 clean, 2 corrupt, 3 leaked clusters only.")
    .action((file: string, o) =>
      setStatus(imageCheck(writeOut, file, { format: o.f, json: wantsJson(o), repair: o.r })),
    );
  image
    .command("map")
    .argument("<file>")
    .option("-f <format>", "format (default: detected)")
    .option("--json", "print JSON (qemu-img map --output=json)")
    .option("--output <fmt>", "json or human (qemu-img's spelling of --json)")
    .description("Show where each range of the image's bytes is stored (which layer, which file offset).")
    .action((file: string, o) =>
      setStatus(imageMap(writeOut, file, { format: format(o.f, "-f"), json: wantsJson(o) })),
    );
  image
    .command("measure")
    .argument("[file]")
    .option("-f <format>", "FILE's format (default: detected)")
    .option("-O <format>", "the format to measure for: raw or qcow2", "raw")
    .option("--size <size>", "measure a new empty image of this size instead of a FILE")
    .option("-o <options>", "cluster_size=N (qcow2)")
    .option("--json", "print JSON (qemu-img measure --output=json keys)")
    .option("--output <fmt>", "json or human (qemu-img's spelling of --json)")
    .description(
      "Size a converted file needs (required) and would need fully allocated, as qemu-img measure.",
    )
    .action((file: string | undefined, o) =>
      setStatus(
        imageMeasure(writeOut, file, {
          format: format(o.f, "-f"),
          outputFormat: format(o.O, "-O") as ImageFormat,
          size: o.size === undefined ? undefined : size(o.size, "--size"),
          clusterSize: parseCreateOptions(o.o).clusterSize,
          json: wantsJson(o),
        }),
      ),
    );
  image
    .command("rebase")
    .argument("<file>")
    .requiredOption("-b <backing>", 'the new backing file (relative to FILE), "" for none')
    .option("-F <format>", "the new backing file's format (default: detected)")
    .option("-f <format>", "FILE's format (default: detected)")
    .option("-u", "unsafe: only rewrite the name (the backing file was moved or renamed)")
    .description(
      "Change a qcow2 file's backing file; without -u, first copy in what differs so it reads the same.",
    )
    .action((file: string, o) =>
      setStatus(
        imageRebase(file, {
          format: format(o.f, "-f"),
          backing: o.b,
          backingFormat: format(o.F, "-F"),
          unsafe: o.u === true,
        }),
      ),
    );
  image
    .command("resize")
    .argument("<file>")
    .argument("<size>", "new size, or +SIZE / -SIZE relative to the current one")
    .option("-f <format>", "format (default: detected)")
    .option("--shrink", "allow making the image smaller")
    .description("Change the virtual size of a raw or qcow2 image.")
    .action((file: string, sz: string, o) =>
      setStatus(
        imageResize(file, sz, (t) => size(t, "size"), { format: format(o.f, "-f"), shrink: o.shrink }),
      ),
    );
  image
    .command("compare")
    .argument("<a>")
    .argument("<b>")
    .option("-f <format>", "format of a")
    .option("-F <format>", "format of b")
    .option("-s, --strict", "images of different sizes differ")
    .description("Compare contents; exit 0 identical, 1 different.")
    .action((a: string, b: string, o) =>
      setStatus(imageCompare(writeOut, a, b, { format: o.f, secondFormat: o.F, strict: o.strict })),
    );
  image
    .command("commit")
    .argument("<file>")
    .option("-f <format>", "format (default: detected)")
    .description("Write a diff layer's contents into its backing file (the diff itself is kept).")
    .action((file: string, o) => setStatus(imageCommit(writeOut, file, { format: o.f })));
}
