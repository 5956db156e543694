import { CompressError } from "./errors.js";
import { RECORD_BASE_RUN, RECORD_DELTA, RECORD_FILL_RUN, RECORD_RAW, RECORD_REF } from "./frame-layout.js";

/**
 * The decoded content of one block: page records, each covering one page or a run of pages.
 *   FILL_RUN  kind u8, fill u8, count u32        pages of one repeated byte
 *   REF       kind u8, page u32                  same content as an earlier (non-REF) page
 *   RAW       kind u8, page bytes
 *   DELTA     kind u8, length u32, delta bytes   XOR-delta against the base page
 *   BASE_RUN  kind u8, count u32                 pages identical to their base pages
 */
export class BlockBuilder {
  private buf: Uint8Array;
  length = 0;
  pageCount = 0;
  private lastRunPos = -1;
  private lastRunKind = -1;
  private lastFill = -1;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  private putU32(value: number): void {
    const b = this.buf;
    const p = this.length;
    b[p] = value & 0xff;
    b[p + 1] = (value >>> 8) & 0xff;
    b[p + 2] = (value >>> 16) & 0xff;
    b[p + 3] = value >>> 24;
    this.length += 4;
  }

  private bumpRun(countPos: number): void {
    const b = this.buf;
    const count =
      (b[countPos] | (b[countPos + 1] << 8) | (b[countPos + 2] << 16) | (b[countPos + 3] << 24)) + 1;
    b[countPos] = count & 0xff;
    b[countPos + 1] = (count >>> 8) & 0xff;
    b[countPos + 2] = (count >>> 16) & 0xff;
    b[countPos + 3] = count >>> 24;
  }

  private endRun(): void {
    this.lastRunKind = -1;
  }

  fill(value: number): void {
    this.pageCount++;
    if (this.lastRunKind === RECORD_FILL_RUN && this.lastFill === value) {
      this.bumpRun(this.lastRunPos);
      return;
    }
    this.reserve(6);
    this.buf[this.length++] = RECORD_FILL_RUN;
    this.buf[this.length++] = value;
    this.lastRunKind = RECORD_FILL_RUN;
    this.lastFill = value;
    this.lastRunPos = this.length;
    this.putU32(1);
  }

  sameAsBase(): void {
    this.pageCount++;
    if (this.lastRunKind === RECORD_BASE_RUN) {
      this.bumpRun(this.lastRunPos);
      return;
    }
    this.reserve(5);
    this.buf[this.length++] = RECORD_BASE_RUN;
    this.lastRunKind = RECORD_BASE_RUN;
    this.lastRunPos = this.length;
    this.putU32(1);
  }

  ref(target: number): void {
    this.pageCount++;
    this.endRun();
    this.reserve(5);
    this.buf[this.length++] = RECORD_REF;
    this.putU32(target);
  }

  raw(page: Uint8Array): void {
    this.pageCount++;
    this.endRun();
    this.reserve(1 + page.length);
    this.buf[this.length++] = RECORD_RAW;
    this.buf.set(page, this.length);
    this.length += page.length;
  }

  delta(delta: Uint8Array): void {
    this.pageCount++;
    this.endRun();
    this.reserve(5 + delta.length);
    this.buf[this.length++] = RECORD_DELTA;
    this.putU32(delta.length);
    this.buf.set(delta, this.length);
    this.length += delta.length;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
    this.pageCount = 0;
    this.endRun();
  }
}

/**
 * A parsed block: one entry per record, with the first page each covers, so a page is
 * found by binary search. `param` is the fill byte (FILL_RUN), the target page (REF) or the
 * data offset in `bytes` (RAW, DELTA); `dataLength` is the delta length.
 */
export interface ParsedBlock {
  bytes: Uint8Array;
  firstPage: number;
  pageCount: number;
  recordFirstPage: Int32Array;
  kind: Uint8Array;
  param: Int32Array;
  dataLength: Int32Array;
  recordCount: number;
}

/**
 * Parses and validates a decoded block. `blockOffset` is the block's file offset, used in
 * errors (record offsets are given within the decoded block, after it).
 */
export function parseBlock(
  bytes: Uint8Array,
  firstPage: number,
  pageCount: number,
  pageSize: number,
  blockOffset: number,
): ParsedBlock {
  // Every record is at least 2 bytes, so this bounds the record arrays by the raw length
  // that the limits already allowed.
  const maxRecords = Math.min(pageCount, Math.ceil(bytes.length / 2));
  const recordFirstPage = new Int32Array(maxRecords);
  const kind = new Uint8Array(maxRecords);
  const param = new Int32Array(maxRecords);
  const dataLength = new Int32Array(maxRecords);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let page = 0;
  let r = 0;
  const where = (p: number): string => `decoded block at file offset ${blockOffset}, byte ${p}`;
  const need = (count: number, what: string): void => {
    if (pos + count > bytes.length) {
      throw new CompressError(
        "TRUNCATED",
        `${where(pos)}: record cut off`,
        blockOffset,
        `${count} bytes of ${what}`,
      );
    }
  };
  while (pos < bytes.length) {
    if (page >= pageCount || r >= maxRecords) {
      throw new CompressError(
        "CORRUPT",
        `${where(pos)}: records describe more than ${pageCount} pages`,
        blockOffset,
        `${pageCount} pages`,
      );
    }
    const k = bytes[pos];
    const at = pos;
    pos++;
    recordFirstPage[r] = firstPage + page;
    kind[r] = k;
    let covers = 1;
    switch (k) {
      case RECORD_FILL_RUN:
        need(5, "a fill run");
        param[r] = bytes[pos];
        covers = view.getUint32(pos + 1, true);
        pos += 5;
        break;
      case RECORD_BASE_RUN:
        need(4, "a base run");
        covers = view.getUint32(pos, true);
        pos += 4;
        break;
      case RECORD_REF: {
        need(4, "a page reference");
        const target = view.getUint32(pos, true);
        if (target >= firstPage + page) {
          throw new CompressError(
            "CORRUPT",
            `${where(at)}: page ${firstPage + page} refers to page ${target}`,
            blockOffset,
            "an earlier page",
          );
        }
        param[r] = target;
        pos += 4;
        break;
      }
      case RECORD_RAW:
        need(pageSize, "a raw page");
        param[r] = pos;
        pos += pageSize;
        break;
      case RECORD_DELTA: {
        need(4, "a delta length");
        const len = view.getUint32(pos, true);
        pos += 4;
        need(len, "delta bytes");
        param[r] = pos;
        dataLength[r] = len;
        pos += len;
        break;
      }
      default:
        throw new CompressError(
          "CORRUPT",
          `${where(at)}: unknown record kind ${k}`,
          blockOffset,
          "kind 0..4",
        );
    }
    if (covers === 0 || page + covers > pageCount) {
      throw new CompressError(
        "CORRUPT",
        `${where(at)}: run of ${covers} pages does not fit the block's ${pageCount - page} remaining pages`,
        blockOffset,
        `1..${pageCount - page}`,
      );
    }
    page += covers;
    r++;
  }
  if (page !== pageCount) {
    throw new CompressError(
      "CORRUPT",
      `decoded block at file offset ${blockOffset} describes ${page} pages`,
      blockOffset,
      `${pageCount} pages`,
    );
  }
  return { bytes, firstPage, pageCount, recordFirstPage, kind, param, dataLength, recordCount: r };
}

/** Index of the record covering `pageNumber` (which must lie inside the block). */
export function findRecord(block: ParsedBlock, pageNumber: number): number {
  let lo = 0;
  let hi = block.recordCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (block.recordFirstPage[mid] <= pageNumber) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
