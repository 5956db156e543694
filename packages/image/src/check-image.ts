import { AmberLayer } from "./amber-layer.js";
import { readExactly } from "./block-file.js";
import { DmgLayer } from "./dmg-layer.js";
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
 * Amber layer, every block's checksum and decoding; for DMG, every chunk's decoding and the
 * CRC-32s; VHDX is fully checked when opened (CRC-32C, regions, BAT). Raw files have nothing to check.
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
  } else if (layer instanceof DmgLayer) {
    // Every chunk must decode; then the CRC-32s of each table and of the data fork.
    try {
      for (const problem of layer.verify()) {
        report.corruptions++;
        report.messages.push(problem);
      }
    } catch (e) {
      fail(e);
    }
  }

  return report;
}

/** Messages kept: a badly damaged file can have millions of wrong refcounts. */
const MAX_MESSAGES = 1000;

/**
 * qemu-img check's refcount pass. Every offset read from the file is checked (alignment,
 * inside the file) before use, and every loop is bounded by the file's size: L2 tables and
 * refcount blocks must each be used once, so the work is at most a few passes over the file.
 */
function checkQcow2(layer: Qcow2Layer, report: CheckReport, fail: (e: unknown) => void): void {
  const h = layer.header;
  const cs = 2 ** h.clusterBits;
  const note = (kind: "corruptions" | "leaks", message: string) => {
    report[kind]++;
    if (report.messages.length < MAX_MESSAGES) report.messages.push(message);
  };
  let counts: ReturnType<Qcow2Layer["referencedClusters"]>;
  try {
    counts = layer.referencedClusters();
    // Plain clusters were checked to lie inside the file as they were counted; compressed
    // ones must also decode. Each stored cluster is decoded once, however often it is mapped.
    const decoded = new Set<number>();
    for (const [start] of layer.extents()) {
      const e = layer.entry(start / cs);
      if (e.kind !== "compressed" || decoded.has(e.host)) continue;
      decoded.add(e.host);
      layer.read(start, cs);
    }
  } catch (e) {
    fail(e);
    return;
  }
  if (h.refcountProblem !== undefined) {
    note("corruptions", h.refcountProblem);
    return;
  }
  const file = layer.file;
  const fileSize = file.size();
  const bits = 2 ** h.refcountOrder;
  const perBlock = (cs * 8) / bits;
  /** Stored refcounts, non-zero only, by host cluster. */
  const stored = new Map<number, number>();
  try {
    const table = readExactly(file, h.refcountTableOffset, h.refcountTableClusters * cs, "refcount table");
    const tv = new DataView(table.buffer, table.byteOffset, table.length);
    counts.addRange(h.refcountTableOffset, h.refcountTableClusters * cs);
    const seenBlocks = new Set<number>();
    for (let i = 0; i < table.length / 8; i++) {
      const hi = tv.getUint32(i * 8);
      const off = hi * 2 ** 32 + (tv.getUint32(i * 8 + 4) & 0xfffffe00);
      if (off === 0) continue;
      if (hi >= 0x200000 || off % cs !== 0 || off + cs > fileSize) {
        note(
          "corruptions",
          `refcount block ${i} at ${off} is unaligned or outside the ${fileSize}-byte file`,
        );
        continue;
      }
      if (seenBlocks.has(off)) {
        note("corruptions", `refcount block ${i} at ${off} is already refcount block of an earlier entry`);
        continue;
      }
      seenBlocks.add(off);
      counts.add(off / cs);
      const block = readExactly(file, off, cs, "refcount block");
      const bv = new DataView(block.buffer, block.byteOffset, block.length);
      for (let j = 0; j < perBlock; j++) {
        let n: number;
        if (bits === 16) n = bv.getUint16(j * 2);
        else if (bits === 8) n = block[j] as number;
        else if (bits === 32) n = bv.getUint32(j * 4);
        else if (bits === 64) n = bv.getUint32(j * 8) * 2 ** 32 + bv.getUint32(j * 8 + 4);
        else n = ((block[Math.floor((j * bits) / 8)] as number) >> ((j * bits) % 8)) & ((1 << bits) - 1);
        if (n !== 0) stored.set(i * perBlock + j, n);
      }
    }
  } catch (e) {
    fail(e);
    return;
  }
  const compare = (c: number) => {
    const want = counts.get(c);
    const have = stored.get(c) ?? 0;
    if (want === have) return;
    if (want > have) note("corruptions", `cluster ${c}: refcount ${have}, referenced ${want} times`);
    else note("leaks", `cluster ${c}: refcount ${have}, referenced ${want} times (leaked)`);
  };
  // Referenced clusters lie inside the file (checked as they were counted); stored counts
  // past them are only visited where they are non-zero.
  for (let c = 0; c < counts.length; c++) compare(c);
  for (const c of [...stored.keys()].filter((c) => c >= counts.length).sort((a, b) => a - b)) compare(c);
}
