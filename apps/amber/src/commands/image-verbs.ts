import {
  checkLayer,
  type Image,
  type ImageFormat,
  type Layer,
  mapImage,
  openImage,
  openLayer,
  Qcow2Layer,
  RawLayer,
} from "@amber/image";
import { nodeImageHost } from "@amber/image/node";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";
import { imageUserError } from "./image-disks.js";

/**
 * The qemu-img verbs beyond info/create/convert/check/compare/commit: map, rebase, resize,
 * and check's repair. Their output follows qemu-img's (same JSON keys, same words) so
 * scripts written for qemu-img read it.
 */

/** `--output=json|human` (qemu-img's spelling) or `--json`: true for JSON. */
export function wantsJson(o: { json?: boolean; output?: string }): boolean {
  if (o.output !== undefined && o.output !== "json" && o.output !== "human")
    throw new UserError(`--output ${o.output}: json or human`, ExitCode.Usage);
  return o.json === true || o.output === "json";
}

/** printf's `%#x`, as qemu-img prints offsets: no 0x prefix for zero. */
function hex(n: number): string {
  return n === 0 ? "0" : `0x${n.toString(16)}`;
}

/** `amber image map`: where each range of the image comes from, as `qemu-img map`. */
export function imageMap(
  out: (t: string) => void,
  file: string,
  o: { format?: ImageFormat; json: boolean },
): number {
  let image: Image | undefined;
  try {
    image = openImage(nodeImageHost, file, { format: o.format });
    const entries = mapImage(image);
    if (o.json) {
      // qemu-img's own layout: one object per line inside the array.
      const lines = entries.map((e) => {
        const fields = [
          `"start": ${e.start}`,
          `"length": ${e.length}`,
          `"depth": ${e.depth}`,
          `"present": ${e.present}`,
          `"zero": ${e.zero}`,
          `"data": ${e.data}`,
          ...(e.offset === undefined ? [] : [`"offset": ${e.offset}`]),
        ];
        return `{ ${fields.join(", ")}}`;
      });
      out(`[${lines.join(",\n")}]\n`);
      return ExitCode.Ok;
    }
    const layers = [...image.layers].reverse();
    out(`${"Offset".padEnd(16)}${"Length".padEnd(16)}${"Mapped to".padEnd(16)}File\n`);
    for (const e of entries) {
      if (!e.data || e.offset === undefined) continue;
      const name = (layers[e.depth] as Layer).name;
      out(`${hex(e.start).padEnd(16)}${hex(e.length).padEnd(16)}${hex(e.offset).padEnd(16)}${name}\n`);
    }
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    image?.close();
  }
}

/** Opens one file writable, alone (no backing chain). */
function openWritable(file: string, format: ImageFormat | undefined): Layer {
  const f = nodeImageHost.open(file, true);
  try {
    return openLayer(f, format, true);
  } catch (e) {
    f.close();
    throw e;
  }
}

/**
 * `amber image check -r leaks|all`: rebuilds a qcow2 file's refcounts from its tables.
 * `leaks` repairs only when nothing but leaks was found (as qemu-img: refcounts too low
 * need `all`); then checks again. Exit statuses as `check`.
 */
export function imageRepair(
  out: (t: string) => void,
  file: string,
  o: { format?: ImageFormat; mode: string },
): number {
  if (o.mode !== "leaks" && o.mode !== "all")
    throw new UserError(`-r ${o.mode}: leaks or all`, ExitCode.Usage);
  let layer: Layer | undefined;
  try {
    layer = openWritable(file, o.format);
    if (!(layer instanceof Qcow2Layer)) {
      out(`${file}: a ${layer.format} file has no metadata to repair\n`);
      return ExitCode.Ok;
    }
    const before = checkLayer(layer);
    if (before.corruptions === 0 && before.leaks === 0) {
      out("No errors were found on the image.\n");
      return ExitCode.Ok;
    }
    if (o.mode === "leaks" && before.corruptions > 0) {
      for (const m of before.messages.slice(0, 50)) out(`ERROR: ${m}\n`);
      out(
        `\n${before.corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n(-r leaks repairs leaks only: use -r all)\n`,
      );
      return 2;
    }
    layer.rebuildRefcounts();
    const after = checkLayer(layer);
    out(
      `The following inconsistencies were found and repaired:\n\n    ${before.leaks} leaked clusters\n    ${before.corruptions} corruptions\n\nDouble checking the fixed image now...\n`,
    );
    if (after.corruptions > 0) {
      for (const m of after.messages.slice(0, 50)) out(`ERROR: ${m}\n`);
      out(`\n${after.corruptions} errors were found on the image.\n`);
      return 2;
    }
    out("No errors were found on the image.\n");
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    layer?.close();
  }
}

/**
 * `amber image rebase -b NEW [-F FMT] [-u] FILE`. Safe mode (no -u) first copies into FILE
 * every cluster it does not hold whose content differs between the old backing chain and the
 * new one, so FILE reads the same afterwards; `-u` only rewrites the name (for a backing
 * file that was moved or renamed). `-b ""` makes FILE standalone.
 */
export function imageRebase(
  file: string,
  o: { format?: ImageFormat; backing: string; backingFormat?: ImageFormat; unsafe?: boolean },
): number {
  let top: Layer | undefined;
  let oldChain: Image | undefined;
  let newChain: Image | undefined;
  try {
    top = openWritable(file, o.format);
    if (!(top instanceof Qcow2Layer))
      throw new UserError(`${file}: rebase needs a qcow2 file (this is ${top.format})`, ExitCode.Failure);
    const newPath = o.backing === "" ? undefined : nodeImageHost.relativeTo(o.backing, file);
    let backingFormat = o.backingFormat;
    if (newPath !== undefined) {
      newChain = openImage(nodeImageHost, newPath, { format: backingFormat });
      backingFormat ??= newChain.layers[newChain.layers.length - 1]?.format;
    }
    if (!o.unsafe) {
      if (top.backingName !== undefined) {
        oldChain = openImage(nodeImageHost, nodeImageHost.relativeTo(top.backingName, file), {
          format: top.backingFormat,
        });
      }
      const cs = top.grain;
      const zeros = new Uint8Array(cs);
      const readFrom = (chain: Image | undefined, at: number, n: number): Uint8Array =>
        chain === undefined || at >= chain.size
          ? zeros.subarray(0, n)
          : padded(chain.read(at, Math.min(n, chain.size - at)), n);
      const layer = top;
      for (let at = 0; at < layer.size; at += cs) {
        if (layer.has(at)) continue;
        const n = Math.min(cs, layer.size - at);
        const was = readFrom(oldChain, at, n);
        if (Buffer.from(was).equals(Buffer.from(readFrom(newChain, at, n)))) continue;
        layer.write(at, was, () => was);
      }
    }
    top.setBacking(o.backing === "" ? undefined : o.backing, o.backing === "" ? undefined : backingFormat);
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    top?.close();
    oldChain?.close();
    newChain?.close();
  }
}

function padded(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length === n) return bytes;
  const out = new Uint8Array(n);
  out.set(bytes);
  return out;
}

/** `amber image resize [--shrink] FILE [+|-]SIZE`: raw and qcow2, as qemu-img. */
export function imageResize(
  file: string,
  sizeText: string,
  parseSize: (t: string) => number,
  o: { format?: ImageFormat; shrink?: boolean },
): number {
  let layer: Layer | undefined;
  try {
    layer = openWritable(file, o.format);
    const m = /^([+-]?)(.*)$/.exec(sizeText) as RegExpExecArray;
    const amount = parseSize(m[2] as string);
    const target = m[1] === "+" ? layer.size + amount : m[1] === "-" ? layer.size - amount : amount;
    if (target < 0) throw new UserError(`resize: ${sizeText} would make the size negative`, ExitCode.Usage);
    if (target < layer.size && !o.shrink)
      throw new UserError(
        `resize: ${target} is smaller than the current size ${layer.size}: give --shrink to confirm that data past it may be lost`,
        ExitCode.Usage,
      );
    if (layer instanceof Qcow2Layer) layer.resize(target);
    else if (layer instanceof RawLayer) {
      const f = nodeImageHost.open(file, true);
      try {
        f.truncate?.(target);
      } finally {
        f.close();
      }
    } else
      throw new UserError(
        `${file}: a ${layer.format} layer cannot be resized (convert it first)`,
        ExitCode.Failure,
      );
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    layer?.close();
  }
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const roundUp = (a: number, b: number): number => ceilDiv(a, b) * b;

/** Refcount table and blocks for `clusters` clusters (they count themselves), as qemu sizes them. */
function refcountMetadataSize(clusters: number, clusterSize: number, refcountOrder: number): number {
  const perTableCluster = clusterSize / 8;
  const perBlock = (clusterSize * 8) / 2 ** refcountOrder;
  let table = 0;
  let blocks = 0;
  let n = 0;
  let last: number;
  do {
    last = n;
    blocks = ceilDiv(clusters + table + blocks, perBlock);
    table = ceilDiv(blocks, perTableCluster);
    n = clusters + blocks + table;
  } while (n !== last);
  return (blocks + table) * clusterSize;
}

/** A fully allocated qcow2 file of `size` bytes: header, L2 and L1 tables, refcounts, data. */
function qcow2FullSize(size: number, clusterSize: number, refcountOrder = 4): number {
  const aligned = roundUp(size, clusterSize);
  let meta = clusterSize;
  const l2Entries = roundUp(aligned / clusterSize, clusterSize / 8);
  meta += l2Entries * 8;
  const l1Entries = roundUp((l2Entries * 8) / clusterSize, clusterSize / 8);
  meta += l1Entries * 8;
  meta += refcountMetadataSize((meta + aligned) / clusterSize, clusterSize, refcountOrder);
  return meta + aligned;
}

/**
 * `amber image measure -O raw|qcow2 (--size SIZE | FILE)`: the size a converted file needs
 * (only the clusters holding data) and would need fully allocated, computed as qemu-img
 * measure does, so the numbers are the same.
 */
export function imageMeasure(
  out: (t: string) => void,
  file: string | undefined,
  o: { format?: ImageFormat; outputFormat: ImageFormat; size?: number; clusterSize?: number; json: boolean },
): number {
  if ((file === undefined) === (o.size === undefined))
    throw new UserError("measure: give either --size SIZE or a FILE", ExitCode.Usage);
  if (o.outputFormat === "amber")
    throw new UserError(
      "measure -O amber: an Amber layer's size depends on how its pages compress; convert to know it",
      ExitCode.Usage,
    );
  if (o.outputFormat !== "raw" && o.outputFormat !== "qcow2")
    throw new UserError(`measure -O ${o.outputFormat}: measure knows raw and qcow2`, ExitCode.Usage);
  let image: Image | undefined;
  try {
    let virtual = o.size ?? 0;
    let data = 0;
    const cs = o.clusterSize ?? 65536;
    if (file !== undefined) {
      image = openImage(nodeImageHost, file, { format: o.format });
      virtual = image.size;
      // Data anywhere in the chain counts, cluster-aligned; zeros and holes do not.
      let countedTo = 0;
      for (const e of mapImage(image)) {
        if (!e.data) continue;
        const start = Math.max(e.start - (e.start % cs), countedTo);
        const end = roundUp(e.start + e.length, cs);
        if (end > start) data += end - start;
        countedTo = Math.max(countedTo, end);
      }
    }
    let required: number;
    let full: number;
    if (o.outputFormat === "raw") {
      required = virtual;
      full = virtual;
    } else {
      full = qcow2FullSize(virtual, cs);
      required = full - roundUp(virtual, cs) + data;
    }
    const bitmaps = file !== undefined && o.outputFormat === "qcow2";
    if (o.json) {
      const j: Record<string, number> = {};
      if (bitmaps) j.bitmaps = 0;
      j.required = required;
      j["fully-allocated"] = full;
      out(`${JSON.stringify(j, null, 4)}\n`);
    } else {
      out(`required size: ${required}\nfully allocated size: ${full}\n${bitmaps ? "bitmaps size: 0\n" : ""}`);
    }
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    image?.close();
  }
}
