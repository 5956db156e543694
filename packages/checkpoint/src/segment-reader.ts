import { DEFAULT_LIMITS, FramedReader, isCompressError } from "@amber/compress";
import { Blake3 as Blake3Stream, blake3, equalBytes, toHex } from "./hash.js";
import { SEGMENT_FLAG_CONTENT_HASH, SEGMENT_FLAG_DELTA, type SegmentEntry } from "./layout.js";
import { err, fromCompressError, guard } from "./read-errors.js";
import type { CheckpointReader } from "./reader.js";
import type { OpenOptions } from "./reader-types.js";

/** One memory segment: pages read lazily, falling back through the parent chain. */
export class SegmentReader {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly initByte: number;
  /** Pages stored in this image (not counting parents). */
  readonly storedPageCount: number;
  private ranges: Uint32Array | undefined;
  /** Stored ordinal at the start of each range. */
  private starts: Uint32Array | undefined;
  private framed: FramedReader | undefined;
  /** A page of init bytes, for pageView (never written). */
  private initPage: Uint8Array | undefined;
  private readonly parentSeg: SegmentReader | undefined;

  constructor(
    readonly image: CheckpointReader,
    readonly entry: SegmentEntry,
    private readonly options: OpenOptions,
  ) {
    this.name = entry.name;
    this.base = entry.base;
    this.size = entry.size;
    this.pageSize = 2 ** entry.pageShift;
    this.pageCount = Math.ceil(entry.size / this.pageSize);
    this.initByte = entry.initByte;
    this.storedPageCount = entry.storedPages;
    const p = image.parent?.findSegment(entry.name);
    this.parentSeg = p && p.pageSize === this.pageSize ? p : undefined;
  }

  private fileName(): string {
    return this.image.name;
  }

  /** The [first, count] ranges of the pages this image stores (loaded and checked on first use). */
  storedRanges(): Uint32Array {
    if (this.ranges !== undefined) return this.ranges;
    const e = this.entry;
    const part = guard(this.fileName(), () => this.image.store.pageMapBytes(e));
    if (!equalBytes(blake3(part.bytes), e.pageMapHash)) {
      err(
        "CHECKSUM_MISMATCH",
        `page map of segment "${e.name}" does not match its hash`,
        part.file,
        part.offset,
        `BLAKE3 ${toHex(e.pageMapHash)}`,
      );
    }
    const dv = new DataView(part.bytes.buffer, part.bytes.byteOffset, part.bytes.byteLength);
    const le = this.image.header.littleEndian;
    const ranges = new Uint32Array(e.rangeCount * 2);
    const starts = new Uint32Array(e.rangeCount);
    let next = 0;
    let total = 0;
    for (let i = 0; i < e.rangeCount; i++) {
      const first = dv.getUint32(i * 8, le);
      const count = dv.getUint32(i * 8 + 4, le);
      const at = part.offset === undefined ? undefined : part.offset + i * 8;
      if (count === 0 || first < next || first + count > this.pageCount) {
        err(
          "CORRUPT",
          `segment "${e.name}": range ${i} [${first}, +${count}] overlaps, is empty or lies outside ${this.pageCount} pages`,
          part.file,
          at,
          "ascending, non-empty ranges inside the segment",
        );
      }
      ranges[i * 2] = first;
      ranges[i * 2 + 1] = count;
      starts[i] = total;
      total += count;
      next = first + count;
    }
    if (total !== e.storedPages) {
      err(
        "CORRUPT",
        `segment "${e.name}": ranges cover ${total} pages, the table says ${e.storedPages}`,
        part.file,
        part.offset,
        `${e.storedPages} pages`,
      );
    }
    this.starts = starts;
    this.ranges = ranges;
    return ranges;
  }

  /** Ordinal of page `p` among the stored pages, or -1. */
  private ordinal(p: number): number {
    const r = this.storedRanges();
    const starts = this.starts!;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const first = r[mid * 2]!;
      if (p < first) hi = mid - 1;
      else if (p >= first + r[mid * 2 + 1]!) lo = mid + 1;
      else return starts[mid]! + (p - first);
    }
    return -1;
  }

  /** The logical page of stored ordinal k. */
  private logical(k: number): number {
    const r = this.storedRanges();
    const starts = this.starts!;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return r[lo * 2]! + (k - starts[lo]!);
  }

  private reader(): FramedReader {
    if (this.framed) return this.framed;
    const e = this.entry;
    const { source, file, offset } = guard(this.fileName(), () => this.image.store.segmentData(e));
    const delta = (e.flags & SEGMENT_FLAG_DELTA) !== 0;
    try {
      this.storedRanges();
      this.framed = FramedReader.open(source, {
        limits: { ...DEFAULT_LIMITS, ...this.options.decodeLimits },
        cacheBlocks: this.options.cacheBlocks,
        basePage: delta
          ? (k) => {
              const p = this.logical(k);
              // A view: the delta is decoded from it at once, into this reader's own page.
              return this.parentSeg && p < this.parentSeg.pageCount ? this.parentSeg.pageView(p) : undefined;
            }
          : undefined,
      });
    } catch (x) {
      if (isCompressError(x)) throw fromCompressError(x, file, offset, `page data of segment "${e.name}"`);
      throw x;
    }
    const f = this.framed;
    if (f.pageCount !== e.storedPages || f.pageSize !== this.pageSize) {
      this.framed = undefined;
      err(
        "CORRUPT",
        `segment "${e.name}": page data holds ${f.pageCount} pages of ${f.pageSize} bytes`,
        file,
        offset,
        `${e.storedPages} pages of ${this.pageSize} bytes`,
      );
    }
    return f;
  }

  private checkPage(p: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.pageCount) {
      err(
        "OUT_OF_RANGE",
        `page ${p} is outside segment "${this.name}" (${this.pageCount} pages)`,
        this.fileName(),
      );
    }
  }

  /** Whether this image itself stores page `p`. */
  hasPage(p: number): boolean {
    this.checkPage(p);
    return this.ordinal(p) >= 0;
  }

  /** Whether page `p` is stored in this image or a parent (else it reads as the init byte). */
  isPresent(p: number): boolean {
    if (this.hasPage(p)) return true;
    return this.parentSeg !== undefined && p < this.parentSeg.pageCount && this.parentSeg.isPresent(p);
  }

  /** Page `p` (a fresh copy): from this image, else the parent chain, else init bytes. */
  readPage(p: number): Uint8Array {
    this.checkPage(p);
    const k = this.ordinal(p);
    if (k >= 0) {
      const f = this.reader();
      try {
        return f.readPage(k); // a fresh array already
      } catch (x) {
        if (isCompressError(x)) {
          const { file, offset } = this.image.store.segmentData(this.entry);
          throw fromCompressError(x, file, offset, `page ${p} of segment "${this.name}"`);
        }
        throw x;
      }
    }
    if (this.parentSeg !== undefined && p < this.parentSeg.pageCount) return this.parentSeg.readPage(p);
    return new Uint8Array(this.pageSize).fill(this.initByte);
  }

  /**
   * Page `p` as a view, for a caller that copies it at once (RAM loading a page): valid only
   * until the next read of this segment or of its parents, and never to be written. Checked
   * exactly as readPage; it saves allocating a page (see FramedReader.pageView).
   */
  pageView(p: number): Uint8Array {
    this.checkPage(p);
    const k = this.ordinal(p);
    if (k >= 0) {
      const f = this.reader();
      try {
        return f.pageView(k);
      } catch (x) {
        if (isCompressError(x)) {
          const { file, offset } = this.image.store.segmentData(this.entry);
          throw fromCompressError(x, file, offset, `page ${p} of segment "${this.name}"`);
        }
        throw x;
      }
    }
    if (this.parentSeg !== undefined && p < this.parentSeg.pageCount) return this.parentSeg.pageView(p);
    if (this.initPage === undefined) this.initPage = new Uint8Array(this.pageSize).fill(this.initByte);
    return this.initPage;
  }

  /** Reads bytes at a segment offset (may span pages). */
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      err(
        "OUT_OF_RANGE",
        `bytes ${offset}+${length} lie outside segment "${this.name}" (${this.size} bytes)`,
        this.fileName(),
      );
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const p = Math.floor(at / this.pageSize);
      const inPage = at - p * this.pageSize;
      const n = Math.min(this.pageSize - inPage, length - done);
      out.set(this.readPage(p).subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  /** Page numbers stored in this image, ascending. */
  *storedPages(): Generator<number> {
    const r = this.storedRanges();
    for (let i = 0; i < r.length; i += 2) for (let p = r[i]!; p < r[i]! + r[i + 1]!; p++) yield p;
  }

  /** Page numbers present in this image or its parents, ascending (each once). */
  *presentPages(): Generator<number> {
    const own = this.storedPages();
    const below = this.parentSeg ? this.parentSeg.presentPages() : undefined;
    let a = own.next();
    let b = below?.next();
    const limit = this.pageCount;
    while (!a.done || (b && !b.done)) {
      const av = a.done ? Number.POSITIVE_INFINITY : a.value;
      const bv = !b || b.done ? Number.POSITIVE_INFINITY : b.value;
      if (av <= bv) {
        yield av;
        if (av === bv) b = below!.next();
        a = own.next();
      } else {
        if (bv < limit) yield bv;
        b = below!.next();
      }
    }
  }

  /** Checks the page map and data hashes and decodes every stored page. */
  verify(): void {
    const e = this.entry;
    this.storedRanges();
    const { source, file, offset } = guard(this.fileName(), () => this.image.store.segmentData(e));
    const h = new Blake3Stream();
    if ((e.flags & SEGMENT_FLAG_CONTENT_HASH) !== 0) {
      // The hash covers the decoded blocks (each block's checksum is checked on the way).
      const f = this.reader();
      try {
        for (let i = 0; i < f.blockCount; i++) h.update(f.decodedBlock(i));
      } catch (x) {
        if (isCompressError(x)) throw fromCompressError(x, file, offset, `page data of segment "${e.name}"`);
        throw x;
      }
    } else {
      const step = 1 << 20;
      for (let at = 0; at < source.size; at += step)
        h.update(source.read(at, Math.min(step, source.size - at)));
    }
    if (!equalBytes(h.digest(), e.dataHash)) {
      err(
        "CHECKSUM_MISMATCH",
        `page data of segment "${e.name}" does not match its hash`,
        file,
        offset,
        `BLAKE3 ${toHex(e.dataHash)}`,
      );
    }
    for (const p of this.storedPages()) this.readPage(p);
  }
}
