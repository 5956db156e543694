import { BlockBuilder } from "./block-records.js";
import { xxh64 } from "./checksum.js";
import type { Codec } from "./codec.js";
import { CODEC_IDS } from "./codec.js";
import { codecById, codecByName } from "./codec-registry.js";
import { DedupTable } from "./dedup-table.js";
import { CompressError } from "./errors.js";
import {
  COMPAT_DEDUP,
  FOOTER_MAGIC,
  FOOTER_SIZE,
  FORMAT_VERSION,
  HEADER_MAGIC,
  HEADER_SIZE,
  INCOMPAT_BASE,
  INDEX_ENTRY_SIZE,
  type IndexEntry,
  MAX_PAGE_SHIFT,
  MIN_PAGE_SHIFT,
} from "./frame-layout.js";
import { fillByteOf, pagesEqual, wordsOf } from "./page-compare.js";
import { encodeXorDelta } from "./xor-delta.js";

export interface FramedWriterOptions {
  /** Page size in bytes, a power of two from 512 B to 1 MiB. Default 4096. */
  pageSize?: number;
  /** Codec name for blocks. Default "zstd". */
  codec?: string;
  /** Codec level; default the codec's own (zstd: 3). */
  level?: number;
  /**
   * Target decoded size of a block. Smaller blocks make reading one page cheaper, larger
   * ones compress better. Default 128 KiB.
   */
  blockBytes?: number;
  /** Most pages one block may cover (runs of zero pages are cheap, but bound the index). */
  maxPagesPerBlock?: number;
  /** Deduplicate identical pages. Default true. */
  dedup?: boolean;
  /** Distinct pages the dedup table keeps a copy of (its memory bound). Default 65536. */
  dedupMaxPages?: number;
  /**
   * The parent image's page N, for XOR-delta against it; undefined where the parent has
   * none. Giving this makes the file need the same base pages to be read.
   */
  basePage?: (pageNumber: number) => Uint8Array | undefined;
  /**
   * Receives the file as it is produced (each chunk only for the duration of the call: copy
   * it to keep it); without it, finish() returns the whole file.
   */
  onChunk?: (chunk: Uint8Array) => void;
  /**
   * Sees each block's decoded bytes (its page records, before the codec), in order, during
   * the call only. Their concatenation is the image's content whatever codec stores it:
   * what a codec-independent hash covers (recodeFramed keeps it).
   */
  onBlock?: (decoded: Uint8Array) => void;
}

export interface FramedWriterStats {
  fillPages: number;
  refPages: number;
  rawPages: number;
  deltaPages: number;
  basePages: number;
  blocks: number;
  bytesWritten: number;
}

function u64le(view: DataView, at: number, value: bigint): void {
  view.setBigUint64(at, value, true);
}

/**
 * Writes pages, in order, as a framed image: header, independently compressed blocks of
 * page records, then the index and footer. Streams: memory use is one block plus the dedup
 * table, whatever the image size.
 */
export class FramedWriter {
  readonly pageSize: number;
  readonly stats: FramedWriterStats = {
    fillPages: 0,
    refPages: 0,
    rawPages: 0,
    deltaPages: 0,
    basePages: 0,
    blocks: 0,
    bytesWritten: 0,
  };
  private readonly codec: Codec;
  private readonly level: number;
  private readonly blockBytes: number;
  private readonly maxPagesPerBlock: number;
  private readonly dedup: DedupTable | undefined;
  private readonly basePage: FramedWriterOptions["basePage"];
  private readonly sink: (chunk: Uint8Array) => void;
  private readonly streaming: boolean;
  private readonly onBlock: FramedWriterOptions["onBlock"];
  private readonly collected: Uint8Array[] = [];
  private readonly index: IndexEntry[] = [];
  private readonly block: BlockBuilder;
  private blockFirstPage = 0;
  private nextPage = 0;
  private finished = false;

  constructor(options: FramedWriterOptions = {}) {
    const pageSize = options.pageSize ?? 4096;
    const shift = Math.log2(pageSize);
    if (!Number.isInteger(shift) || shift < MIN_PAGE_SHIFT || shift > MAX_PAGE_SHIFT) {
      throw new CompressError(
        "INVALID_ARGUMENT",
        `page size ${pageSize}`,
        undefined,
        "a power of two 512..1 MiB",
      );
    }
    this.pageSize = pageSize;
    this.codec = codecByName(options.codec ?? "zstd");
    this.level = options.level ?? this.codec.defaultLevel;
    // Capped so that any block fits the readers' default 16 MiB decoded-block limit.
    this.blockBytes = Math.min(Math.max(options.blockBytes ?? 128 * 1024, pageSize), 8 * 1024 * 1024);
    this.maxPagesPerBlock = Math.min(Math.max(options.maxPagesPerBlock ?? 65536, 1), 2 ** 20);
    this.dedup = (options.dedup ?? true) ? new DedupTable(options.dedupMaxPages ?? 65536) : undefined;
    this.basePage = options.basePage;
    this.block = new BlockBuilder(this.blockBytes + pageSize + 16);
    this.streaming = options.onChunk !== undefined;
    this.sink = options.onChunk ?? ((chunk) => this.collected.push(chunk.slice()));
    this.onBlock = options.onBlock;
    this.emit(
      encodeFramedHeader(
        shift,
        this.codec.id,
        this.level,
        this.basePage ? INCOMPAT_BASE : 0,
        this.dedup ? COMPAT_DEDUP : 0,
      ),
    );
  }

  private emit(chunk: Uint8Array): void {
    this.stats.bytesWritten += chunk.length;
    this.sink(chunk);
  }

  /** Adds the next page; `page` must be exactly pageSize bytes and may be reused afterwards. */
  addPage(page: Uint8Array): void {
    if (this.finished) throw new CompressError("INVALID_ARGUMENT", "addPage after finish()");
    if (page.length !== this.pageSize) {
      throw new CompressError(
        "INVALID_ARGUMENT",
        `page of ${page.length} bytes`,
        undefined,
        `${this.pageSize}`,
      );
    }
    if (this.nextPage >= 0xffff_ffff) throw new CompressError("LIMIT_EXCEEDED", "more than 2^32-1 pages");
    const n = this.nextPage++;
    const b = this.block;
    const words = wordsOf(page);
    const fill = fillByteOf(page, words);
    if (fill >= 0) {
      b.fill(fill);
      this.stats.fillPages++;
    } else {
      const base = this.basePage?.(n);
      if (base !== undefined && base.length !== this.pageSize) {
        throw new CompressError(
          "INVALID_ARGUMENT",
          `base page ${n} has ${base.length} bytes`,
          undefined,
          `${this.pageSize}`,
        );
      }
      if (base !== undefined && pagesEqual(page, base)) {
        b.sameAsBase();
        this.stats.basePages++;
      } else {
        const earlier = this.dedup ? this.dedup.lookupOrAdd(n, page, words) : -1;
        if (earlier >= 0) {
          b.ref(earlier);
          this.stats.refPages++;
        } else {
          const delta = base === undefined ? undefined : encodeXorDelta(page, base);
          if (delta !== undefined) {
            b.delta(delta);
            this.stats.deltaPages++;
          } else {
            b.raw(page);
            this.stats.rawPages++;
          }
        }
      }
    }
    if (b.length >= this.blockBytes || b.pageCount >= this.maxPagesPerBlock) this.flushBlock();
  }

  /** Adds consecutive pages from one buffer whose length is a multiple of pageSize. */
  addPages(bytes: Uint8Array): void {
    if (bytes.length % this.pageSize !== 0) {
      throw new CompressError(
        "INVALID_ARGUMENT",
        `${bytes.length} bytes`,
        undefined,
        `a multiple of ${this.pageSize}`,
      );
    }
    for (let off = 0; off < bytes.length; off += this.pageSize) {
      this.addPage(bytes.subarray(off, off + this.pageSize));
    }
  }

  private flushBlock(): void {
    const b = this.block;
    if (b.pageCount === 0) return;
    const raw = b.bytes();
    this.onBlock?.(raw);
    let codec = this.codec;
    // Stored as they are, the block's bytes go to the sink without a copy (it copies).
    let stored = codec.id === CODEC_IDS.none ? raw : codec.encode(raw, this.level);
    // Incompressible blocks are stored as they are: never bigger than raw plus the index entry.
    if (stored.length >= raw.length && codec.id !== CODEC_IDS.none) {
      codec = codecById(CODEC_IDS.none);
      stored = raw;
    }
    this.index.push({
      offset: this.stats.bytesWritten,
      storedLength: stored.length,
      rawLength: raw.length,
      firstPage: this.blockFirstPage,
      pageCount: b.pageCount,
      codecId: codec.id,
      checksum: xxh64(stored),
    });
    this.emit(stored);
    this.stats.blocks++;
    this.blockFirstPage += b.pageCount;
    b.reset();
  }

  /** Writes the last block, the index and the footer. Returns the whole file if no onChunk. */
  finish(): Uint8Array {
    if (this.finished) throw new CompressError("INVALID_ARGUMENT", "finish() called twice");
    this.flushBlock();
    this.finished = true;
    const { index, footer } = encodeFramedIndex(this.index, this.stats.bytesWritten, this.nextPage);
    this.emit(index);
    this.emit(footer);
    if (this.streaming) return new Uint8Array(0);
    const out = new Uint8Array(this.stats.bytesWritten);
    let at = 0;
    for (const c of this.collected) {
      out.set(c, at);
      at += c.length;
    }
    this.collected.length = 0;
    return out;
  }
}

/** A framed image's 32-byte header (see docs/FORMAT.md). */
export function encodeFramedHeader(
  shift: number,
  codecId: number,
  level: number,
  incompat: number,
  compat: number,
): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  const view = new DataView(h.buffer);
  h.set(HEADER_MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, HEADER_SIZE, true);
  view.setUint32(12, incompat, true);
  view.setUint32(16, compat, true);
  h[20] = shift;
  h[21] = codecId;
  h[22] = Math.max(0, Math.min(255, level));
  u64le(view, 24, xxh64(h.subarray(0, 24)));
  return h;
}

/** A framed image's index and footer, for blocks ending at `indexOffset` and `pageCount` pages. */
export function encodeFramedIndex(
  entries: readonly IndexEntry[],
  indexOffset: number,
  pageCount: number,
): { index: Uint8Array; footer: Uint8Array } {
  const index = new Uint8Array(entries.length * INDEX_ENTRY_SIZE);
  const iv = new DataView(index.buffer);
  entries.forEach((e, i) => {
    const at = i * INDEX_ENTRY_SIZE;
    u64le(iv, at, BigInt(e.offset));
    iv.setUint32(at + 8, e.storedLength, true);
    iv.setUint32(at + 12, e.rawLength, true);
    iv.setUint32(at + 16, e.firstPage, true);
    iv.setUint32(at + 20, e.pageCount, true);
    index[at + 24] = e.codecId;
    u64le(iv, at + 32, e.checksum);
  });
  const footer = new Uint8Array(FOOTER_SIZE);
  const fv = new DataView(footer.buffer);
  u64le(fv, 0, BigInt(indexOffset));
  fv.setUint32(8, entries.length, true);
  fv.setUint32(12, pageCount, true);
  u64le(fv, 16, xxh64(index));
  u64le(fv, 24, xxh64(footer.subarray(0, 24)));
  footer.set(FOOTER_MAGIC, 32);
  return { index, footer };
}

/** Encodes a whole buffer of pages in one call. */
export function encodePages(
  bytes: Uint8Array,
  options: Omit<FramedWriterOptions, "onChunk"> = {},
): Uint8Array {
  const writer = new FramedWriter(options);
  writer.addPages(bytes);
  return writer.finish();
}
