import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { ImageFormat } from "./layer.js";
import { isFilledWith, type PageSource } from "./page-source.js";
import { compressCluster, type Qcow2Compression } from "./qcow2-compression.js";
import {
  INCOMPAT_COMPRESSION,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  serializeQcow2Header,
} from "./qcow2-header.js";
import { ClusterCounts, writeRefcounts } from "./qcow2-refcounts.js";

export interface Qcow2WriteOptions {
  /** Cluster size, a power of two 512 B .. 2 MiB. Default 64 KiB (as qemu-img). */
  clusterSize?: number;
  /** Compress clusters (qemu-img convert -c); the type goes in the header. */
  compression?: Qcow2Compression;
  backingName?: string;
  backingFormat?: ImageFormat;
  /** Called after each cluster with the bytes of input handled so far. */
  onProgress?: (bytesDone: number) => void;
}

const TWO32 = 2 ** 32;

/**
 * Writes a page source as a new qcow2 v3 file: header cluster, L1 table, then data
 * clusters with each L2 table after its data, then freshly built refcounts, the header
 * last. All-zero clusters are left unallocated (standalone) or marked with the v3 zero
 * flag (over a backing file), as qemu-img does.
 */
export function writeQcow2(source: PageSource, out: BlockFile, options: Qcow2WriteOptions = {}): void {
  const cs = options.clusterSize ?? 65536;
  const bits = Math.log2(cs);
  if (!Number.isInteger(bits) || bits < MIN_CLUSTER_BITS || bits > MAX_CLUSTER_BITS) {
    throw new ImageError("INVALID_ARGUMENT", `cluster size ${cs}: a power of two, 512 B .. 2 MiB`);
  }
  if (cs % source.pageSize !== 0) {
    throw new ImageError(
      "INVALID_ARGUMENT",
      `cluster size ${cs} is smaller than the image's ${source.pageSize}-byte pages`,
    );
  }
  const hasBacking = options.backingName !== undefined;
  const l2Entries = cs / 8;
  const l1Size = Math.ceil(source.size / (cs * l2Entries));
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
  const l1Offset = cs;
  const counts = new ClusterCounts(cs);
  counts.add(0);
  for (let i = 0; i < l1Clusters; i++) counts.add(1 + i);
  let next = (1 + l1Clusters) * cs;
  const l1 = new Uint8Array(l1Clusters * cs);
  const l1v = new DataView(l1.buffer);

  let l2: DataView | undefined;
  let l2Index = -1;
  const flushL2 = () => {
    if (l2 === undefined) return;
    const at = next;
    next += cs;
    counts.add(at / cs);
    out.write(at, new Uint8Array(l2.buffer));
    l1v.setUint32(l2Index * 8, 0x80000000 | Math.floor(at / TWO32));
    l1v.setUint32(l2Index * 8 + 4, at >>> 0);
    l2 = undefined;
  };
  const setEntry = (c: number, hi: number, lo: number) => {
    const index = Math.floor(c / l2Entries);
    if (index !== l2Index) {
      flushL2();
      l2Index = index;
    }
    l2 ??= new DataView(new ArrayBuffer(cs));
    l2.setUint32((c % l2Entries) * 8, hi >>> 0);
    l2.setUint32((c % l2Entries) * 8 + 4, lo >>> 0);
  };

  // Compressed clusters are packed byte after byte into a run of host clusters.
  let cPos = 0;
  let cLimit = 0;
  const x = 62 - (bits - 8);
  const ps = source.pageSize;
  const perCluster = cs / ps;
  const pageCount = Math.ceil(source.size / ps);
  const cluster = new Uint8Array(cs);

  const emit = (c: number) => {
    const first = c * perCluster;
    for (let i = 0; i < perCluster; i++) {
      const p = first + i;
      if (p < pageCount) cluster.set(source.readPage(p), i * ps);
      else cluster.fill(0, i * ps, (i + 1) * ps);
    }
    if (isFilledWith(cluster, 0)) {
      if (hasBacking) setEntry(c, 0, 1);
      return;
    }
    const packed =
      options.compression === undefined ? undefined : compressCluster(options.compression, cluster);
    if (packed !== undefined) {
      if (cPos + packed.length > cLimit) {
        // Continue across the boundary when the next host cluster is contiguous, else start fresh.
        if (cLimit !== next || cLimit === 0) cPos = next;
        next += cs;
        cLimit = next;
      }
      out.write(cPos, packed);
      const start = cPos;
      cPos += packed.length;
      const sectorStart = start - (start % 512);
      const sectors = Math.ceil((cPos - sectorStart) / 512);
      // Every host cluster the sectors touch counts one reference (as qemu-img check counts).
      counts.addRange(sectorStart, sectors * 512);
      const e = (1n << 62n) | (BigInt(sectors - 1) << BigInt(x)) | BigInt(start);
      setEntry(c, Number(e >> 32n), Number(e & 0xffffffffn));
      return;
    }
    const host = next;
    next += cs;
    counts.add(host / cs);
    out.write(host, cluster);
    setEntry(c, 0x80000000 | Math.floor(host / TWO32), host);
  };

  let current = -1;
  for (const page of source.pages()) {
    const c = Math.floor(page / perCluster);
    if (c === current) continue;
    current = c;
    emit(c);
    options.onProgress?.(Math.min(source.size, (c + 1) * cs));
  }
  flushL2();
  out.write(l1Offset, l1);
  const r = writeRefcounts(out, counts, next / cs);
  const header = serializeQcow2Header({
    version: 3,
    backingFileOffset: 0,
    backingFileSize: 0,
    clusterBits: bits,
    size: source.size,
    cryptMethod: 0,
    l1Size,
    l1TableOffset: l1Offset,
    refcountTableOffset: r.tableOffset,
    refcountTableClusters: r.tableClusters,
    nbSnapshots: 0,
    snapshotsOffset: 0,
    incompat: options.compression === "zstd" ? INCOMPAT_COMPRESSION : 0n,
    compat: 0n,
    autoclear: 0n,
    refcountOrder: 4,
    headerLength: 112,
    compressionType: options.compression === "zstd" ? 1 : 0,
    backingFile: options.backingName,
    backingFormat: options.backingFormat,
    featureNames: new Map(),
    headerBytes: 0,
  });
  if (header.length > cs)
    throw new ImageError(
      "INVALID_ARGUMENT",
      `header of ${header.length} bytes does not fit a ${cs}-byte cluster`,
    );
  out.write(0, header);
}
