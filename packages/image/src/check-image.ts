import { AmberLayer } from "./amber-layer.js";
import { readExactly } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { Layer } from "./layer.js";
import { Qcow2Layer } from "./qcow2-layer.js";

export interface CheckReport {
  /** References the file's own bookkeeping does not account for: data may be lost. */
  corruptions: number;
  /** Clusters counted as used that nothing references: space wasted, data safe. */
  leaks: number;
  messages: string[];
}

/**
 * Checks one layer's file: for qcow2, that the stored refcounts match what the L1/L2
 * tables reference (as `qemu-img check` does) and that every cluster can be read; for an
 * Amber layer, every block's checksum and decoding. Raw files have nothing to check.
 */
export function checkLayer(layer: Layer): CheckReport {
  const report: CheckReport = { corruptions: 0, leaks: 0, messages: [] };
  const fail = (e: unknown) => {
    if (!(e instanceof ImageError)) throw e;
    report.corruptions++;
    report.messages.push(e.message);
  };
  if (layer instanceof AmberLayer) {
    try {
      layer.verify();
    } catch (e) {
      fail(e);
    }
  } else if (layer instanceof Qcow2Layer) {
    checkQcow2(layer, report, fail);
  }
  return report;
}

function checkQcow2(layer: Qcow2Layer, report: CheckReport, fail: (e: unknown) => void): void {
  const h = layer.header;
  const cs = 2 ** h.clusterBits;
  let counts: ReturnType<Qcow2Layer["referencedClusters"]>;
  try {
    counts = layer.referencedClusters();
    for (const [start, length] of layer.extents()) layer.read(start, Math.min(length, cs));
  } catch (e) {
    fail(e);
    return;
  }
  const file = layer.file;
  const bits = 2 ** h.refcountOrder;
  const perBlock = (cs * 8) / bits;
  const stored = new Map<number, number>();
  try {
    const table = readExactly(file, h.refcountTableOffset, h.refcountTableClusters * cs, "refcount table");
    const tv = new DataView(table.buffer, table.byteOffset, table.length);
    counts.addRange(h.refcountTableOffset, h.refcountTableClusters * cs);
    for (let i = 0; i < table.length / 8; i++) {
      const off = tv.getUint32(i * 8) * 2 ** 32 + (tv.getUint32(i * 8 + 4) & 0xfffffe00);
      if (off === 0) continue;
      if (off % cs !== 0 || off + cs > file.size()) {
        report.corruptions++;
        report.messages.push(`refcount block ${i} at ${off} is unaligned or outside the file`);
        continue;
      }
      counts.add(off / cs);
      const block = readExactly(file, off, cs, "refcount block");
      const bv = new DataView(block.buffer, block.byteOffset, block.length);
      for (let j = 0; j < perBlock; j++) {
        let n: number;
        if (bits === 16) n = bv.getUint16(j * 2);
        else if (bits === 8) n = block[j];
        else if (bits === 32) n = bv.getUint32(j * 4);
        else if (bits === 64) n = bv.getUint32(j * 8) * 2 ** 32 + bv.getUint32(j * 8 + 4);
        else n = (block[Math.floor((j * bits) / 8)] >> ((j * bits) % 8)) & ((1 << bits) - 1);
        if (n !== 0) stored.set(i * perBlock + j, n);
      }
    }
  } catch (e) {
    fail(e);
    return;
  }
  const last = Math.max(counts.length, ...stored.keys(), 0);
  for (let c = 0; c < last; c++) {
    const want = counts.get(c);
    const have = stored.get(c) ?? 0;
    if (want === have) continue;
    if (want > have) {
      report.corruptions++;
      report.messages.push(`cluster ${c}: refcount ${have}, referenced ${want} times`);
    } else {
      report.leaks++;
      report.messages.push(`cluster ${c}: refcount ${have}, referenced ${want} times (leaked)`);
    }
  }
}
