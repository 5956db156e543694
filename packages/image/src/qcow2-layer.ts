import { type BlockFile, readExactly } from "./block-file.js";
import { ImageError } from "./errors.js";
import { type ImageFormat, isImageFormat, type Layer } from "./layer.js";
import { decompressCluster } from "./qcow2-compression.js";
import {
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  parseQcow2Header,
  type Qcow2Header,
  serializeQcow2Header,
} from "./qcow2-header.js";
import { ClusterCounts, writeRefcounts } from "./qcow2-refcounts.js";

const TWO32 = 2 ** 32;
/** L2 tables kept decoded; 64 tables of 64 KiB clusters map 32 GiB. */
const L2_CACHE = 64;

/** What one L2 entry says about a guest cluster. */
export type ClusterKind = "unallocated" | "zero" | "normal" | "compressed";

/**
 * A qcow2 (v2/v3) file as a layer: clusters its L2 tables map are present, the rest come
 * from the layers below (its backing chain). Opened writable, new clusters go to the end of
 * the file, and on sync the refcounts are rebuilt from the L1/L2 tables; while unsynced
 * writes exist the header carries the dirty bit, so a crash leaves a file QEMU repairs.
 */
export class Qcow2Layer implements Layer {
  readonly format = "qcow2" as const;
  readonly header: Qcow2Header;
  size: number;
  readonly grain: number;
  readonly name: string;
  readonly writable: boolean;
  private readonly cs: number;
  private readonly l2Entries: number;
  private l1: Float64Array;
  private readonly l2Cache = new Map<number, DataView>();
  private fileEnd: number;
  /** Bytes of the file, including clusters allocated since opening. */
  private fileLength: number;
  private dirty = false;
  private lastCompressed = -1;
  private lastCompressedData: Uint8Array | undefined;

  constructor(
    /** The file, for `checkLayer`. */
    readonly file: BlockFile,
    options: { writable?: boolean } = {},
  ) {
    this.name = file.name;
    this.header = parseQcow2Header(file);
    const h = this.header;
    this.size = h.size;
    this.cs = 2 ** h.clusterBits;
    this.grain = this.cs;
    this.l2Entries = this.cs / 8;
    this.fileLength = file.size();
    this.writable = (options.writable ?? false) && file.writable;
    if (this.writable) {
      if (h.nbSnapshots > 0)
        throw new ImageError(
          "UNSUPPORTED_FEATURE",
          `${this.name}: writing to a qcow2 file with internal snapshots is not supported`,
        );
      if (h.incompat & INCOMPAT_CORRUPT)
        throw new ImageError(
          "CORRUPT",
          `${this.name}: the qcow2 corrupt bit is set; repair it (qemu-img check -r all) before writing`,
        );
    }
    const l1Bytes = readExactly(file, h.l1TableOffset, h.l1Size * 8, "L1 table");
    const v = new DataView(l1Bytes.buffer, l1Bytes.byteOffset, l1Bytes.length);
    this.l1 = new Float64Array(h.l1Size);
    // Each L2 table belongs to one L1 entry: a repeat is damage (a shifted or overwritten
    // table), and it would let walks over the tables grow past the file's size.
    const seenL2 = new Set<number>();
    for (let i = 0; i < h.l1Size; i++) {
      const offset =
        (v.getUint32(i * 8) & 0x00ffffff) * TWO32 + ((v.getUint32(i * 8 + 4) & 0xfffffe00) >>> 0);
      if (offset !== 0 && (offset % this.cs !== 0 || offset + this.cs > this.fileLength)) {
        throw new ImageError(
          "CORRUPT",
          `${this.name}: L1 entry ${i} points to ${offset}, unaligned or outside the ${this.fileLength}-byte file`,
          h.l1TableOffset + i * 8,
        );
      }
      if (offset !== 0) {
        if (seenL2.has(offset))
          throw new ImageError(
            "CORRUPT",
            `${this.name}: L1 entry ${i} points to the L2 table at ${offset}, which an earlier entry already uses`,
            h.l1TableOffset + i * 8,
          );
        seenL2.add(offset);
      }
      this.l1[i] = offset;
    }
    this.fileEnd = Math.ceil(this.fileLength / this.cs) * this.cs;
  }

  get backingName(): string | undefined {
    return this.header.backingFile;
  }

  get backingFormat(): ImageFormat | undefined {
    const f = this.header.backingFormat;
    return f !== undefined && isImageFormat(f) ? f : undefined;
  }

  private l2(index: number): DataView | undefined {
    const offset = this.l1[index];
    if (offset === 0) return undefined;
    let t = this.l2Cache.get(index);
    if (t === undefined) {
      const bytes = readExactly(this.file, offset, this.cs, "L2 table").slice();
      t = new DataView(bytes.buffer);
      if (this.l2Cache.size >= L2_CACHE) this.l2Cache.delete(this.l2Cache.keys().next().value as number);
      this.l2Cache.set(index, t);
    }
    return t;
  }

  /** Decodes the L2 entry of guest cluster `c`. */
  entry(c: number): { kind: ClusterKind; host: number; csize: number } {
    const l1i = Math.floor(c / this.l2Entries);
    if (l1i >= this.l1.length) return { kind: "unallocated", host: 0, csize: 0 };
    const t = this.l2(l1i);
    if (t === undefined) return { kind: "unallocated", host: 0, csize: 0 };
    const at = (c % this.l2Entries) * 8;
    const hi = t.getUint32(at);
    const lo = t.getUint32(at + 4);
    if (hi & 0x40000000) {
      // Compressed: x = 62 - (cluster_bits - 8) bits of byte offset, then the sector count.
      const x = 62 - (this.header.clusterBits - 8);
      const e = (BigInt(hi) << 32n) | BigInt(lo);
      const host = Number(e & ((1n << BigInt(x)) - 1n));
      const sectors = Number((e >> BigInt(x)) & ((1n << BigInt(this.header.clusterBits - 8)) - 1n)) + 1;
      const csize = sectors * 512 - (host & 511);
      if (host === 0 || host >= this.fileLength) {
        throw new ImageError(
          "CORRUPT",
          `${this.name}: compressed cluster ${c} at ${host} lies outside the ${this.fileLength}-byte file`,
        );
      }
      return { kind: "compressed", host, csize };
    }
    const host = (hi & 0x00ffffff) * TWO32 + ((lo & 0xfffffe00) >>> 0);
    const zero = this.header.version === 3 && (lo & 1) !== 0;
    if (host === 0) return { kind: zero ? "zero" : "unallocated", host: 0, csize: 0 };
    if (host % this.cs !== 0 || host >= this.fileLength) {
      throw new ImageError(
        "CORRUPT",
        `${this.name}: cluster ${c} maps to ${host}, unaligned or outside the ${this.fileLength}-byte file`,
      );
    }
    return { kind: zero ? "zero" : "normal", host, csize: 0 };
  }

  has(offset: number): boolean {
    return this.entry(Math.floor(offset / this.cs)).kind !== "unallocated";
  }

  read(offset: number, length: number): Uint8Array {
    const c = Math.floor(offset / this.cs);
    const inC = offset - c * this.cs;
    const e = this.entry(c);
    switch (e.kind) {
      case "normal": {
        const got = this.file.read(e.host + inC, length);
        if (got.length === length) return got;
        const padded = new Uint8Array(length);
        padded.set(got);
        return padded;
      }
      case "compressed": {
        if (this.lastCompressed !== c) {
          const stored = this.file.read(e.host, Math.min(e.csize, this.fileLength - e.host));
          this.lastCompressedData = decompressCluster(
            this.header.compressionType,
            stored,
            this.cs,
            `${this.name}: cluster ${c}`,
          );
          this.lastCompressed = c;
        }
        return (this.lastCompressedData as Uint8Array).subarray(inC, inC + length);
      }
      default:
        return new Uint8Array(length);
    }
  }

  write(offset: number, data: Uint8Array, below: (offset: number, length: number) => Uint8Array): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} was opened read-only`);
    const c = Math.floor(offset / this.cs);
    const inC = offset - c * this.cs;
    if (inC + data.length > this.cs)
      throw new ImageError("INVALID_ARGUMENT", "a qcow2 write must stay inside one cluster");
    this.markDirty();
    const e = this.entry(c);
    if (e.kind === "normal") {
      this.file.write(e.host + inC, data);
      return;
    }
    let cluster: Uint8Array;
    if (e.kind === "zero") cluster = new Uint8Array(this.cs);
    else if (e.kind === "compressed") cluster = this.read(c * this.cs, this.cs).slice();
    else cluster = below(c * this.cs, this.cs).slice();
    cluster.set(data, inC);
    const host = this.allocate();
    this.file.write(host, cluster);
    if (this.lastCompressed === c) this.lastCompressed = -1;
    this.setEntry(c, host);
  }

  private allocate(): number {
    const host = this.fileEnd;
    this.fileEnd += this.cs;
    this.fileLength = Math.max(this.fileLength, this.fileEnd);
    return host;
  }

  private setEntry(c: number, host: number): void {
    const l1i = Math.floor(c / this.l2Entries);
    let t = this.l2(l1i);
    if (t === undefined) {
      const l2host = this.allocate();
      this.file.write(l2host, new Uint8Array(this.cs));
      this.l1[l1i] = l2host;
      const ent = new Uint8Array(8);
      const ev = new DataView(ent.buffer);
      ev.setUint32(0, 0x80000000 | Math.floor(l2host / TWO32));
      ev.setUint32(4, l2host >>> 0);
      this.file.write(this.header.l1TableOffset + l1i * 8, ent);
      t = this.l2(l1i) as DataView;
    }
    const at = (c % this.l2Entries) * 8;
    // COPIED (bit 63): refcount is exactly one, as it always is without snapshots.
    t.setUint32(at, 0x80000000 | Math.floor(host / TWO32));
    t.setUint32(at + 4, host >>> 0);
    this.file.write(this.l1[l1i] + at, new Uint8Array(t.buffer, at, 8));
  }

  /**
   * Rebuilds the refcounts from the L1/L2 tables (what `qemu-img check -r all` does for
   * leaks and refcount errors). Writable layers only; the dirty bit guards the rewrite.
   */
  rebuildRefcounts(): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} was opened read-only`);
    this.markDirty();
    this.sync();
  }

  /**
   * Names another backing file (and format) in the header, nothing else (`qemu-img rebase
   * -u`); `rebase` without -u first copies what differs into this layer.
   */
  setBacking(name: string | undefined, format: ImageFormat | undefined): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} was opened read-only`);
    this.header.backingFile = name === "" ? undefined : name;
    this.header.backingFormat = name === "" || name === undefined ? undefined : format;
    this.header.backingFileOffset = 0;
    this.header.backingFileSize = 0;
    this.markDirty();
    this.sync();
  }

  /**
   * Grows the virtual size (`qemu-img resize`): a larger L1 table, when needed, goes to the
   * end of the file. Shrinking is refused when clusters past the new end are allocated.
   */
  resize(newSize: number): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} was opened read-only`);
    if (!Number.isSafeInteger(newSize) || newSize < 0 || newSize % 512 !== 0)
      throw new ImageError(
        "INVALID_ARGUMENT",
        `${this.name}: new size ${newSize} is not a whole number of 512-byte sectors`,
      );
    if (newSize < this.size) {
      for (const [start] of this.extents()) {
        if (start + this.cs > newSize)
          throw new ImageError(
            "INVALID_ARGUMENT",
            `${this.name}: data at ${start} lies past the new size ${newSize}; shrinking would lose it`,
          );
      }
    }
    const needL1 = Math.ceil(newSize / (this.cs * this.l2Entries));
    this.markDirty();
    if (needL1 > this.l1.length) {
      const table = new Uint8Array(Math.ceil((needL1 * 8) / this.cs) * this.cs);
      const tv = new DataView(table.buffer);
      for (let i = 0; i < this.l1.length; i++) {
        const off = this.l1[i] as number;
        if (off === 0) continue;
        tv.setUint32(i * 8, 0x80000000 | Math.floor(off / TWO32));
        tv.setUint32(i * 8 + 4, off >>> 0);
      }
      const at = this.fileEnd;
      this.fileEnd += table.length;
      this.fileLength = Math.max(this.fileLength, this.fileEnd);
      this.file.write(at, table);
      const grown = new Float64Array(needL1);
      grown.set(this.l1);
      this.l1 = grown;
      this.header.l1TableOffset = at;
      this.header.l1Size = needL1;
    }
    this.header.size = newSize;
    this.size = newSize;
    this.sync();
  }

  private markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.writeHeader(this.header.incompat | INCOMPAT_DIRTY);
    this.file.sync?.();
  }

  private writeHeader(incompat: bigint): void {
    const bytes = serializeQcow2Header({ ...this.header, incompat, autoclear: 0n, refcountOrder: 4 });
    if (bytes.length > this.header.headerBytes && bytes.length > this.cs) {
      throw new ImageError("INVALID_ARGUMENT", `${this.name}: header does not fit its cluster`);
    }
    this.file.write(0, bytes);
  }

  *extents(): Iterable<[number, number]> {
    const total = Math.ceil(this.size / this.cs);
    for (let l1i = 0; l1i < this.l1.length; l1i++) {
      if (this.l1[l1i] === 0) continue;
      const end = Math.min(total, (l1i + 1) * this.l2Entries);
      for (let c = l1i * this.l2Entries; c < end; c++) {
        if (this.entry(c).kind !== "unallocated") yield [c * this.cs, this.cs];
      }
    }
  }

  /** Counts every cluster the tables reference (what a refcount rebuild or a check needs). */
  referencedClusters(): ClusterCounts {
    const counts = new ClusterCounts(this.cs);
    counts.addRange(0, Math.max(this.header.headerBytes, 1));
    if (this.header.l1Size > 0) counts.addRange(this.header.l1TableOffset, this.header.l1Size * 8);
    const total = Math.ceil(this.size / this.cs);
    for (let l1i = 0; l1i < this.l1.length; l1i++) {
      if (this.l1[l1i] === 0) continue;
      counts.add(this.l1[l1i] / this.cs);
      const end = Math.min(total, (l1i + 1) * this.l2Entries);
      for (let c = l1i * this.l2Entries; c < end; c++) {
        const e = this.entry(c);
        if (e.kind === "normal" || (e.kind === "zero" && e.host !== 0)) counts.add(e.host / this.cs);
        else if (e.kind === "compressed") counts.addRange(e.host - (e.host & 511), e.csize + (e.host & 511));
      }
    }
    return counts;
  }

  fileSize(): number {
    return this.file.size();
  }

  /** Rebuilds the refcounts after writes and clears the dirty bit: the file is consistent again. */
  sync(): void {
    if (!this.dirty) return;
    const counts = this.referencedClusters();
    const firstFree = Math.max(this.fileEnd / this.cs, counts.length);
    const r = writeRefcounts(this.file, counts, firstFree);
    this.file.sync?.();
    this.header.refcountTableOffset = r.tableOffset;
    this.header.refcountTableClusters = r.tableClusters;
    this.header.refcountOrder = 4;
    this.header.autoclear = 0n;
    this.header.incompat &= ~INCOMPAT_DIRTY;
    this.writeHeader(this.header.incompat);
    this.file.sync?.();
    this.fileEnd = r.end;
    this.fileLength = Math.max(this.fileLength, r.end);
    this.dirty = false;
  }

  close(): void {
    if (this.writable) this.sync();
    this.file.close();
  }
}
