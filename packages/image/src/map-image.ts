import type { Image } from "./image.js";
import type { Layer } from "./layer.js";
import { Qcow2Layer } from "./qcow2-layer.js";
import { RawLayer } from "./raw-layer.js";
import { VhdxLayer } from "./vhdx-layer.js";

/** One run of `qemu-img map --output=json`: where a range of the image's bytes comes from. */
export interface MapEntry {
  start: number;
  length: number;
  /** 0 for the top layer, 1 for its backing file, …; the lowest layer's depth when no layer holds it. */
  depth: number;
  /** Some layer holds the range (data or an explicit zero cluster). */
  present: boolean;
  /** Reads as zeros. */
  zero: boolean;
  /** Stored data. */
  data: boolean;
  /** Host offset in that layer's file (plain qcow2 clusters and raw files; not compressed clusters). */
  offset?: number;
}

/** What one layer says about the grain at `at`, or undefined when it does not hold it. */
function describe(layer: Layer, at: number): { zero: boolean; data: boolean; offset?: number } | undefined {
  if (layer instanceof Qcow2Layer) {
    const e = layer.entry(Math.floor(at / layer.grain));
    if (e.kind === "unallocated") return undefined;
    if (e.kind === "zero") return { zero: true, data: false };
    if (e.kind === "compressed") return { zero: false, data: true };
    return { zero: false, data: true, offset: e.host + (at % layer.grain) };
  }
  if (!layer.has(at)) return undefined;
  if (layer instanceof VhdxLayer) {
    const offset = layer.blockOffset(Math.floor(at / layer.grain));
    return offset === undefined
      ? { zero: true, data: false }
      : { zero: false, data: true, offset: offset + (at % layer.grain) };
  }
  if (layer instanceof RawLayer) return { zero: false, data: true, offset: at };
  return { zero: false, data: true };
}

/**
 * The image's allocation map, as `qemu-img map --output=json` prints it: runs of equal
 * depth, presence, zero and data, merged while their host offsets stay contiguous.
 * Walks the image in steps of its smallest layer grain.
 */
export function mapImage(image: Image): MapEntry[] {
  const layers = [...image.layers].reverse();
  const step = Math.min(...layers.map((l) => l.grain));
  const out: MapEntry[] = [];
  for (let at = 0; at < image.size; at += step) {
    const length = Math.min(step, image.size - at);
    let entry: MapEntry = {
      start: at,
      length,
      depth: Math.max(0, layers.length - 1),
      present: false,
      zero: true,
      data: false,
    };
    for (let d = 0; d < layers.length; d++) {
      const layer = layers[d] as Layer;
      if (at >= layer.size) continue;
      const found = describe(layer, at);
      if (found === undefined) continue;
      entry = { start: at, length, depth: d, present: true, ...found };
      break;
    }
    const last = out[out.length - 1];
    if (
      last !== undefined &&
      last.depth === entry.depth &&
      last.present === entry.present &&
      last.zero === entry.zero &&
      last.data === entry.data &&
      (last.offset === undefined) === (entry.offset === undefined) &&
      (last.offset === undefined || last.offset + last.length === entry.offset)
    ) {
      last.length += length;
    } else out.push(entry);
  }
  return out;
}
