import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";

/**
 * Reference counts per host cluster, grown as clusters are used. 16-bit counts
 * (refcount_order 4), what QEMU writes by default.
 */
export class ClusterCounts {
  private counts = new Uint16Array(1024);
  private used = 0;

  constructor(readonly clusterSize: number) {}

  get length(): number {
    return this.used;
  }

  get(cluster: number): number {
    return cluster < this.used ? this.counts[cluster] : 0;
  }

  /** Counts one more reference to every cluster overlapping [offset, offset+length). */
  addRange(offset: number, length: number): void {
    const first = Math.floor(offset / this.clusterSize);
    const last = Math.floor((offset + length - 1) / this.clusterSize);
    for (let c = first; c <= last; c++) this.add(c);
  }

  add(cluster: number): void {
    if (!Number.isSafeInteger(cluster) || cluster < 0)
      throw new ImageError("CORRUPT", `cluster index ${cluster} is not a whole number of clusters`);
    if (cluster >= this.counts.length) {
      const grown = new Uint16Array(Math.max(cluster + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    if (this.counts[cluster] < 0xffff) this.counts[cluster]++;
    if (cluster >= this.used) this.used = cluster + 1;
  }
}

/**
 * Writes a fresh refcount table and refcount blocks at cluster `firstFree` (they count
 * themselves), covering every cluster in `counts`. Returns where the table is, for the
 * header. Old refcount structures elsewhere in the file simply become free clusters.
 */
export function writeRefcounts(
  file: BlockFile,
  counts: ClusterCounts,
  firstFree: number,
): { tableOffset: number; tableClusters: number; end: number } {
  const cs = counts.clusterSize;
  const perBlock = cs / 2;
  let blocks = 0;
  let tableClusters = 0;
  // Fixed point: the structures must also cover the clusters they occupy.
  for (;;) {
    const total = Math.max(counts.length, firstFree + tableClusters + blocks);
    const needBlocks = Math.ceil(total / perBlock);
    const needTable = Math.max(1, Math.ceil((needBlocks * 8) / cs));
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = needBlocks;
    tableClusters = needTable;
  }
  for (let c = 0; c < tableClusters + blocks; c++) counts.add(firstFree + c);
  const tableOffset = firstFree * cs;
  const table = new Uint8Array(tableClusters * cs);
  const tv = new DataView(table.buffer);
  for (let b = 0; b < blocks; b++) {
    const blockOffset = (firstFree + tableClusters + b) * cs;
    tv.setUint32(b * 8, Math.floor(blockOffset / 2 ** 32));
    tv.setUint32(b * 8 + 4, blockOffset >>> 0);
    const block = new Uint8Array(cs);
    const bv = new DataView(block.buffer);
    for (let i = 0; i < perBlock; i++) {
      const n = counts.get(b * perBlock + i);
      if (n !== 0) bv.setUint16(i * 2, n);
    }
    file.write(blockOffset, block);
  }
  file.write(tableOffset, table);
  return { tableOffset, tableClusters, end: (firstFree + tableClusters + blocks) * cs };
}
