import { findRecord, type ParsedBlock, parseBlock } from "./block-records.js";
import { ByteReader } from "./byte-reader.js";
import { type ByteSource, bytesSource, readExactly } from "./byte-source.js";
import { xxh64 } from "./checksum.js";
import { CODEC_IDS } from "./codec.js";
import { codecById } from "./codec-registry.js";
import { CompressError } from "./errors.js";
import {
  FOOTER_MAGIC,
  FOOTER_SIZE,
  FORMAT_VERSION,
  HEADER_MAGIC,
  HEADER_SIZE,
  INDEX_ENTRY_SIZE,
  type IndexEntry,
  KNOWN_INCOMPAT,
  MAX_PAGE_SHIFT,
  MIN_PAGE_SHIFT,
  RECORD_BASE_RUN,
  RECORD_DELTA,
  RECORD_FILL_RUN,
  RECORD_RAW,
  RECORD_REF,
} from "./frame-layout.js";
import { type DecodeLimits, resolveLimits } from "./limits.js";
import { decodeXorDelta } from "./xor-delta.js";

export interface FramedReaderOptions {
  limits?: Partial<DecodeLimits>;
  /** The parent image's page N, needed for DELTA and BASE_RUN pages. */
  basePage?: (pageNumber: number) => Uint8Array | undefined;
  /** Decoded blocks kept for the next reads. Default 4. */
  cacheBlocks?: number;
}

export type PageKind = "fill" | "ref" | "raw" | "delta" | "base";
const KIND_NAMES: PageKind[] = ["fill", "ref", "raw", "delta", "base"];
const CODEC_NONE = CODEC_IDS.none;
/** Index entries checked together, the first time one of them is used (see checkWindow). */
const INDEX_WINDOW = 256;

function checkMagic(bytes: Uint8Array, magic: Uint8Array, offset: number, what: string): void {
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic[i]) {
      throw new CompressError(
        "BAD_MAGIC",
        `${what} magic is wrong`,
        offset + i,
        `byte 0x${magic[i].toString(16)}`,
      );
    }
  }
}

function checkSum(bytes: Uint8Array, stored: bigint, offset: number, what: string): void {
  const actual = xxh64(bytes);
  if (actual !== stored) {
    throw new CompressError(
      "CHECKSUM_MISMATCH",
      `${what} checksum is 0x${actual.toString(16)}, stored 0x${stored.toString(16)}`,
      offset,
      `xxh64 0x${stored.toString(16)}`,
    );
  }
}

/**
 * Random access to a framed page image. Opening reads and validates the header, footer and
 * index only; reading page N decodes the one block that holds it (plus, for a deduplicated
 * page, the block of the page it refers to), verifying that block's checksum first.
 */
export class FramedReader {
  readonly pageSize: number;
  readonly pageCount: number;
  readonly codecId: number;
  readonly incompatFeatures: number;
  readonly compatFeatures: number;
  /**
   * The index as read (entries of INDEX_ENTRY_SIZE bytes). Its checksum and its ends are
   * checked at open; its entries window by window, before any of them is first used.
   */
  private readonly indexView: DataView;
  /** By window of INDEX_WINDOW entries: 1 once its entries are checked (see checkWindow). */
  private readonly checkedWindows: Uint8Array;
  /** Where the index lies in the data, for error messages. */
  private readonly indexAt: number;
  private entries: IndexEntry[] | undefined;
  private readonly limits: DecodeLimits;
  private readonly basePage: FramedReaderOptions["basePage"];
  private readonly cacheSize: number;
  private readonly cache = new Map<number, ParsedBlock>();
  /**
   * Decoded blocks whose bytes this reader read into buffers of its own (stored blocks read
   * through `ByteSource.readInto`): when one leaves the cache, its buffer is kept in `spare`
   * and the next such block of the same size is read into it, so reading a file block after
   * block reuses a few buffers instead of allocating one per block.
   */
  private readonly ownBuffer = new WeakSet<ParsedBlock>();
  private spare: Uint8Array | undefined;
  /** Where `pageView` builds a page that has no bytes of its own in a block (fill, delta). */
  private viewPage: Uint8Array | undefined;
  /** The byte `viewPage` is filled with, or -1 when it holds something else. */
  private viewFill = -1;

  private constructor(
    private readonly source: ByteSource,
    options: FramedReaderOptions,
  ) {
    this.limits = resolveLimits(options.limits);
    this.basePage = options.basePage;
    this.cacheSize = Math.max(1, options.cacheBlocks ?? 4);
    if (source.size < HEADER_SIZE + FOOTER_SIZE) {
      throw new CompressError(
        "TRUNCATED",
        `${source.size} bytes cannot hold a header and a footer`,
        0,
        `at least ${HEADER_SIZE + FOOTER_SIZE} bytes`,
      );
    }

    const headerBytes = readExactly(source, 0, HEADER_SIZE, "header");
    checkMagic(headerBytes, HEADER_MAGIC, 0, "header");
    const h = new ByteReader(headerBytes, 0);
    h.pos = 8;
    const version = h.u16("version");
    if (version !== FORMAT_VERSION) {
      throw new CompressError("UNSUPPORTED_VERSION", `format version ${version}`, 8, `${FORMAT_VERSION}`);
    }
    const headerLength = h.u16("header length");
    if (headerLength !== HEADER_SIZE) {
      throw new CompressError("CORRUPT", `header length ${headerLength}`, 10, `${HEADER_SIZE}`);
    }
    this.incompatFeatures = h.u32("incompatible features");
    this.compatFeatures = h.u32("compatible features");
    const shift = h.u8("page shift");
    this.codecId = h.u8("codec id");
    h.u8("level");
    h.u8("reserved");
    checkSum(headerBytes.subarray(0, 24), h.u64("header checksum"), 24, "header");
    // Checked after the checksum: a flipped bit reports CHECKSUM_MISMATCH, not a fake feature.
    const unknown = this.incompatFeatures & ~KNOWN_INCOMPAT;
    if (unknown !== 0) {
      throw new CompressError(
        "UNSUPPORTED_FEATURE",
        `unknown incompatible features 0x${unknown.toString(16)}`,
        12,
        `only bits 0x${KNOWN_INCOMPAT.toString(16)}`,
      );
    }
    if (shift < MIN_PAGE_SHIFT || shift > MAX_PAGE_SHIFT) {
      throw new CompressError("CORRUPT", `page shift ${shift}`, 20, `${MIN_PAGE_SHIFT}..${MAX_PAGE_SHIFT}`);
    }
    this.pageSize = 2 ** shift;

    const footerOffset = source.size - FOOTER_SIZE;
    const footerBytes = readExactly(source, footerOffset, FOOTER_SIZE, "footer");
    // The footer is written last: without its magic the file was cut off or never finished.
    for (let i = 0; i < FOOTER_MAGIC.length; i++) {
      if (footerBytes[32 + i] !== FOOTER_MAGIC[i]) {
        throw new CompressError(
          "TRUNCATED",
          "no footer at the end of the data: cut off or not finished",
          footerOffset + 32 + i,
          "the footer magic \\x8AAMBEND\\n",
        );
      }
    }
    const f = new ByteReader(footerBytes, footerOffset);
    const indexOffsetBig = f.u64("index offset");
    const blockCount = f.u32("block count");
    const pageCount = f.u32("page count");
    const indexChecksum = f.u64("index checksum");
    checkSum(footerBytes.subarray(0, 24), f.u64("footer checksum"), footerOffset + 24, "footer");

    if (blockCount > this.limits.maxBlocks) {
      throw new CompressError(
        "LIMIT_EXCEEDED",
        `${blockCount} blocks`,
        footerOffset + 8,
        `≤ ${this.limits.maxBlocks}`,
      );
    }
    if (pageCount > this.limits.maxPages) {
      throw new CompressError(
        "LIMIT_EXCEEDED",
        `${pageCount} pages`,
        footerOffset + 12,
        `≤ ${this.limits.maxPages}`,
      );
    }
    const indexLength = blockCount * INDEX_ENTRY_SIZE;
    const expectedIndexOffset = footerOffset - indexLength;
    if (expectedIndexOffset < HEADER_SIZE || indexOffsetBig !== BigInt(expectedIndexOffset)) {
      throw new CompressError(
        "CORRUPT",
        `index offset ${indexOffsetBig} with ${blockCount} blocks does not end at the footer`,
        footerOffset,
        `index offset ${expectedIndexOffset}`,
      );
    }
    const indexBytes = readExactly(source, expectedIndexOffset, indexLength, "index");
    checkSum(indexBytes, indexChecksum, expectedIndexOffset, "index");
    this.indexView = new DataView(indexBytes.buffer, indexBytes.byteOffset, indexBytes.byteLength);
    this.indexAt = expectedIndexOffset;
    this.pageCount = pageCount;
    this.checkedWindows = new Uint8Array(Math.ceil(blockCount / INDEX_WINDOW));
    this.checkEnds(blockCount);
  }

  static open(source: Uint8Array | ByteSource, options: FramedReaderOptions = {}): FramedReader {
    return new FramedReader(source instanceof Uint8Array ? bytesSource(source) : source, options);
  }

  /**
   * Checks the index's ends at open: the first block starts at page 0 right after the header,
   * the last ends at page `pageCount` where the index begins. The entries between are checked
   * window by window when first used (`checkWindow`): each is where the one before it ends, so
   * once every window is checked (`index`, or reading every block) the whole index has been
   * checked as one pass at open would have, and opening a big image for a few pages (a lazy
   * resume) reads through a few entries, not all of them.
   */
  private checkEnds(blockCount: number): void {
    if (blockCount === 0) {
      if (this.pageCount !== 0 || this.indexAt !== HEADER_SIZE) {
        throw new CompressError(
          "CORRUPT",
          `index covers 0 pages and data up to ${HEADER_SIZE}`,
          this.indexAt,
          `${this.pageCount} pages and data up to ${this.indexAt}`,
        );
      }
      return;
    }
    this.checkEntry(0);
    const last = blockCount - 1;
    this.checkEntry(last);
    const v = this.indexView;
    const o = last * INDEX_ENTRY_SIZE;
    const pagesEnd = v.getUint32(o + 16, true) + v.getUint32(o + 20, true);
    const dataEnd = this.offsetOf(last) + v.getUint32(o + 8, true);
    if (pagesEnd !== this.pageCount || dataEnd !== this.indexAt) {
      throw new CompressError(
        "CORRUPT",
        `index covers ${pagesEnd} pages and data up to ${dataEnd}`,
        this.indexAt,
        `${this.pageCount} pages and data up to ${this.indexAt}`,
      );
    }
  }

  /** Checks the entries of the window holding entry i, once. */
  private checkWindow(i: number): void {
    const w = Math.floor(i / INDEX_WINDOW);
    if (this.checkedWindows[w] === 1) return;
    const end = Math.min(this.blockCount, (w + 1) * INDEX_WINDOW);
    for (let j = w * INDEX_WINDOW; j < end; j++) this.checkEntry(j);
    this.checkedWindows[w] = 1;
  }

  /** Block i's stored offset (its high word checked: below 2^53). */
  private offsetOf(i: number): number {
    const v = this.indexView;
    const o = i * INDEX_ENTRY_SIZE;
    const hi = v.getUint32(o + 4, true);
    if (hi > 0x1f_ffff) {
      throw new CompressError("CORRUPT", "block offset exceeds 2^53", this.indexAt + o, "a value below 2^53");
    }
    return hi * 2 ** 32 + v.getUint32(o, true);
  }

  /**
   * Checks index entry i against the one before it: blocks back to back in page order, known
   * codecs, bounded sizes.
   */
  private checkEntry(i: number): void {
    const v = this.indexView;
    const at = this.indexAt;
    const o = i * INDEX_ENTRY_SIZE;
    const entryAt = at + o;
    const p = o - INDEX_ENTRY_SIZE;
    const dataEnd = i === 0 ? HEADER_SIZE : this.offsetOf(i - 1) + v.getUint32(p + 8, true);
    const nextPage = i === 0 ? 0 : v.getUint32(p + 16, true) + v.getUint32(p + 20, true);
    const offset = this.offsetOf(i);
    const storedLength = v.getUint32(o + 8, true);
    const rawLength = v.getUint32(o + 12, true);
    const firstPage = v.getUint32(o + 16, true);
    const count = v.getUint32(o + 20, true);
    // Blocks are written back to back, in page order, between the header and the index.
    if (offset !== dataEnd || offset + storedLength > at) {
      throw new CompressError(
        "CORRUPT",
        `block ${i} at ${offset}+${storedLength} is not where the previous block ends`,
        entryAt,
        `offset ${dataEnd}, ending by ${at}`,
      );
    }
    if (firstPage !== nextPage || count === 0 || nextPage + count > this.pageCount) {
      throw new CompressError(
        "CORRUPT",
        `block ${i} covers pages ${firstPage}+${count}`,
        entryAt + 16,
        `first page ${nextPage}, 1..${this.pageCount - nextPage} pages`,
      );
    }
    if (rawLength > this.limits.maxBlockBytes) {
      throw new CompressError(
        "LIMIT_EXCEEDED",
        `block ${i} declares ${rawLength} decoded bytes`,
        entryAt + 12,
        `≤ ${this.limits.maxBlockBytes}`,
      );
    }
    codecById(v.getUint8(o + 24), entryAt + 24);
  }

  /** Block i's index entry (checked, with its window, at its first use). */
  entry(i: number): IndexEntry {
    this.checkWindow(i);
    const v = this.indexView;
    const o = i * INDEX_ENTRY_SIZE;
    return {
      offset: v.getUint32(o + 4, true) * 2 ** 32 + v.getUint32(o, true),
      storedLength: v.getUint32(o + 8, true),
      rawLength: v.getUint32(o + 12, true),
      firstPage: v.getUint32(o + 16, true),
      pageCount: v.getUint32(o + 20, true),
      codecId: v.getUint8(o + 24),
      checksum: v.getBigUint64(o + 32, true),
    };
  }

  /** Every block's index entry, in order. */
  get index(): readonly IndexEntry[] {
    if (this.entries === undefined) {
      const out: IndexEntry[] = [];
      for (let i = 0; i < this.blockCount; i++) out.push(this.entry(i));
      this.entries = out;
    }
    return this.entries;
  }

  private firstPageOf(i: number): number {
    return this.indexView.getUint32(i * INDEX_ENTRY_SIZE + 16, true);
  }

  get blockCount(): number {
    return this.indexView.byteLength / INDEX_ENTRY_SIZE;
  }

  /** Index of the block holding page n (binary search on first pages). */
  blockOf(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n >= this.pageCount) {
      throw new CompressError("OUT_OF_RANGE", `page ${n}`, undefined, `0..${this.pageCount - 1}`);
    }
    let lo = 0;
    let hi = this.blockCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.firstPageOf(mid) <= n) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Block i, found by `blockOf` for page n, which it must hold: the search reads first pages
   * of entries not checked yet, and a damaged one (checksum right, content not) can lead it
   * astray.
   */
  private holding(i: number, n: number): ParsedBlock {
    const block = this.loadBlock(i);
    if (n < block.firstPage || n >= block.firstPage + block.pageCount) {
      throw new CompressError(
        "CORRUPT",
        `page ${n} is not in block ${i} (pages ${block.firstPage}+${block.pageCount}), where the index leads`,
        this.indexAt + i * INDEX_ENTRY_SIZE + 16,
        "first pages ascending through the index",
      );
    }
    return block;
  }

  private loadBlock(i: number): ParsedBlock {
    const cached = this.cache.get(i);
    if (cached !== undefined) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.cache.delete(i);
      this.cache.set(i, cached);
      return cached;
    }
    const e = this.entry(i);
    // A stored block read through readInto goes into a buffer of the reader's (a spare one
    // when it fits); its checksum is checked before any of it is parsed or used.
    const own =
      e.codecId === CODEC_NONE && e.storedLength === e.rawLength && this.source.readInto !== undefined;
    let bytes: Uint8Array;
    if (own) {
      const spare = this.spare;
      this.spare = undefined;
      const into =
        spare !== undefined && spare.length === e.storedLength ? spare : new Uint8Array(e.storedLength);
      bytes = this.decodedBlock(i, into);
    } else bytes = this.decodedBlock(i);
    const parsed = parseBlock(bytes, e.firstPage, e.pageCount, this.pageSize, e.offset);
    if (own) this.ownBuffer.add(parsed);
    this.cache.set(i, parsed);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as number;
      const evicted = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      // Nothing keeps an evicted block's bytes: readPage copies, and a pageView is valid only
      // until the next read of this reader (this one).
      if (this.ownBuffer.has(evicted)) this.spare = evicted.bytes;
    }
    return parsed;
  }

  /**
   * Block i's decoded bytes (its page records), its checksum checked first: what the
   * writer's `onBlock` saw, whatever codec stores it. A new array, unless `into` is given
   * (the reader's own buffer, of the block's stored length, for a stored block).
   */
  decodedBlock(i: number, into?: Uint8Array): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.blockCount) {
      throw new CompressError("OUT_OF_RANGE", `block ${i}`, undefined, `0..${this.blockCount - 1}`);
    }
    const e = this.entry(i);
    const stored = readExactly(this.source, e.offset, e.storedLength, `block ${i}`, into);
    checkSum(stored, e.checksum, e.offset, `block ${i}`);
    // Stored as is: the bytes read are the block (no copy; nothing writes to a decoded block).
    if (e.codecId === CODEC_NONE && stored.length === e.rawLength) return stored;
    try {
      return codecById(e.codecId, e.offset).decode(stored, e.rawLength);
    } catch (err) {
      if (err instanceof CompressError && err.code !== "CODEC_ERROR") throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new CompressError(
        "CODEC_ERROR",
        `block ${i}: ${detail}`,
        e.offset,
        `${e.rawLength} decoded bytes`,
      );
    }
  }

  /** How page n is stored, without rebuilding it. */
  pageKind(n: number): PageKind {
    const block = this.holding(this.blockOf(n), n);
    return KIND_NAMES[block.kind[findRecord(block, n)]];
  }

  /** Page n's content: a fresh array of pageSize bytes the caller may keep or modify. */
  readPage(n: number): Uint8Array {
    return this.readPageAt(n, true);
  }

  /**
   * Page n's content as a view, for a caller that copies it at once (RAM loading a page): it
   * is valid only until the next read of this reader (any page, block or view) and must not
   * be written. Blocks are checked exactly as for readPage; what differs is that no page is
   * allocated: a stored page is a view into its decoded block, a filled or delta page is
   * built in one page the reader reuses, and a page the same as its base is the base page.
   */
  pageView(n: number): Uint8Array {
    return this.pageViewAt(n, true);
  }

  private pageViewAt(n: number, mayFollowRef: boolean): Uint8Array {
    const i = this.blockOf(n);
    const block = this.holding(i, n);
    const r = findRecord(block, n);
    const param = block.param[r];
    switch (block.kind[r]) {
      case RECORD_FILL_RUN: {
        const page = this.scratchPage();
        if (this.viewFill !== param) {
          page.fill(param);
          this.viewFill = param;
        }
        return page;
      }
      case RECORD_RAW:
        return block.bytes.subarray(param, param + this.pageSize);
      case RECORD_REF:
        if (!mayFollowRef) return this.readPageAt(n, false); // throws, as readPage does
        return this.pageViewAt(param, false);
      case RECORD_DELTA:
        this.viewFill = -1; // even if the delta turns out damaged halfway
        return decodeXorDelta(
          block.bytes.subarray(param, param + block.dataLength[r]),
          this.base(n),
          this.entry(i).offset,
          this.scratchPage(),
        );
      case RECORD_BASE_RUN:
        return this.base(n);
      default:
        return this.readPageAt(n, mayFollowRef); // throws, as readPage does
    }
  }

  private scratchPage(): Uint8Array {
    if (this.viewPage === undefined) this.viewPage = new Uint8Array(this.pageSize);
    return this.viewPage;
  }

  private readPageAt(n: number, mayFollowRef: boolean): Uint8Array {
    const i = this.blockOf(n);
    const block = this.holding(i, n);
    const r = findRecord(block, n);
    const param = block.param[r];
    switch (block.kind[r]) {
      case RECORD_FILL_RUN:
        return new Uint8Array(this.pageSize).fill(param);
      case RECORD_RAW:
        return block.bytes.slice(param, param + this.pageSize);
      case RECORD_REF:
        if (!mayFollowRef) {
          throw new CompressError(
            "CORRUPT",
            `page ${n} is a reference to a reference`,
            this.entry(i).offset,
            "references only to stored pages",
          );
        }
        return this.readPageAt(param, false);
      case RECORD_DELTA:
        return decodeXorDelta(
          block.bytes.subarray(param, param + block.dataLength[r]),
          this.base(n),
          this.entry(i).offset,
        );
      case RECORD_BASE_RUN:
        return this.base(n).slice();
      default:
        throw new CompressError("CORRUPT", `record kind ${block.kind[r]}`, this.entry(i).offset, "kind 0..4");
    }
  }

  private base(n: number): Uint8Array {
    const base = this.basePage?.(n);
    if (base === undefined) {
      throw new CompressError(
        "NEED_BASE",
        `page ${n} is a delta and no base page was given`,
        undefined,
        "a base page",
      );
    }
    if (base.length !== this.pageSize) {
      throw new CompressError(
        "INVALID_ARGUMENT",
        `base page ${n} has ${base.length} bytes`,
        undefined,
        `${this.pageSize}`,
      );
    }
    return base;
  }

  /** Every page, concatenated; bounded by limits.maxOutputBytes. */
  readAll(): Uint8Array {
    const total = this.pageCount * this.pageSize;
    if (total > this.limits.maxOutputBytes) {
      throw new CompressError(
        "LIMIT_EXCEEDED",
        `image decodes to ${total} bytes`,
        undefined,
        `≤ ${this.limits.maxOutputBytes}`,
      );
    }
    const out = new Uint8Array(total);
    const size = this.pageSize;
    // Which pages were REFs, so a reference's target is checked without reloading its block
    // (reloading evicted blocks made readAll of deduplicated images decode blocks repeatedly).
    const isRef = new Uint8Array(this.pageCount);
    for (let i = 0; i < this.blockCount; i++) {
      const block = this.loadBlock(i);
      for (let r = 0; r < block.recordCount; r++) {
        const first = block.recordFirstPage[r];
        const end =
          r + 1 < block.recordCount ? block.recordFirstPage[r + 1] : block.firstPage + block.pageCount;
        const param = block.param[r];
        switch (block.kind[r]) {
          case RECORD_FILL_RUN:
            // `out` starts zeroed: zero runs cost nothing, which keeps sparse images fast.
            if (param !== 0) out.fill(param, first * size, end * size);
            break;
          case RECORD_RAW:
            out.set(block.bytes.subarray(param, param + size), first * size);
            break;
          case RECORD_REF:
            // The target is an earlier page, so it is already in `out`; a reference to a
            // reference is still refused, exactly as readPage does.
            if (isRef[param] !== 0) {
              throw new CompressError(
                "CORRUPT",
                `page ${first} refers to page ${param}, itself a reference`,
                this.entry(i).offset,
                "references only to stored pages",
              );
            }
            isRef[first] = 1;
            out.copyWithin(first * size, param * size, (param + 1) * size);
            break;
          default:
            for (let n = first; n < end; n++) out.set(this.readPageAt(n, true), n * size);
        }
      }
    }
    return out;
  }
}

/** Decodes a whole framed image held in memory. */
export function decodePages(bytes: Uint8Array, options: FramedReaderOptions = {}): Uint8Array {
  return FramedReader.open(bytes, options).readAll();
}
