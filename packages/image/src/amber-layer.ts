import { type ByteSource, FramedReader, isCompressError, xxh64 } from "@amber/compress";
import {
  KNOWN_INCOMPAT,
  LAYER_HEADER_SIZE,
  LAYER_MAGIC,
  LAYER_VERSION,
  MAX_BACKING_NAME,
  MAX_LAYER_SIZE,
  MAX_RANGES,
  RANGE_ENTRY_SIZE,
} from "./amber-layout.js";
import { AMBER_FORMAT_CODES } from "./amber-writer.js";
import { type BlockFile, readExactly } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { ImageFormat, Layer } from "./layer.js";

export function isAmberLayer(head: Uint8Array): boolean {
  return head.length >= 8 && LAYER_MAGIC.every((b, i) => head[i] === b);
}

/** Converts a failure inside the embedded framed image into this package's error type. */
function wrap<T>(file: BlockFile, dataOffset: number, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isCompressError(e)) {
      const code =
        e.code === "CODEC_ERROR" || e.code === "UNKNOWN_CODEC" || e.code === "NEED_BASE"
          ? "CORRUPT"
          : e.code === "NOT_INITIALIZED" || e.code === "INVALID_ARGUMENT"
            ? "INVALID_ARGUMENT"
            : e.code;
      throw new ImageError(
        code,
        `${file.name}: page data: ${e.message}`,
        e.offset === undefined ? undefined : dataOffset + e.offset,
      );
    }
    throw e;
  }
}

/**
 * A read-only Amber layer: the pages listed by its range table, each read by decoding one
 * block of the embedded framed image (so opening a big layer costs its index only).
 */
export class AmberLayer implements Layer {
  readonly format = "amber" as const;
  readonly writable = false;
  readonly size: number;
  readonly grain: number;
  readonly initByte: number;
  readonly backingName?: string;
  readonly backingFormat?: ImageFormat;
  readonly incompatFeatures: number;
  readonly compatFeatures: number;
  readonly autoclearFeatures: number;
  readonly name: string;
  /** First page of each range, its page count, and the rank of its first page among stored pages. */
  private readonly firsts: Float64Array;
  private readonly counts: Uint32Array;
  private readonly ranks: Float64Array;
  private readonly reader: FramedReader;
  private lastPage = -1;
  private lastData: Uint8Array | undefined;

  constructor(private readonly file: BlockFile) {
    this.name = file.name;
    const fileSize = file.size();
    if (fileSize < LAYER_HEADER_SIZE) {
      throw new ImageError(
        "TRUNCATED",
        `${file.name}: ${fileSize} bytes cannot hold an Amber layer header (${LAYER_HEADER_SIZE})`,
      );
    }
    const h = readExactly(file, 0, LAYER_HEADER_SIZE, "header").slice();
    if (!isAmberLayer(h))
      throw new ImageError("BAD_MAGIC", `${file.name}: not an Amber layer (bad magic)`, 0);
    const v = new DataView(h.buffer);
    const version = v.getUint16(8, true);
    if (version !== LAYER_VERSION) {
      throw new ImageError(
        "UNSUPPORTED_VERSION",
        `${file.name}: Amber layer version ${version}; this reader knows ${LAYER_VERSION}`,
        8,
      );
    }
    const stored = v.getBigUint64(88, true);
    const actual = xxh64(h.subarray(0, 88));
    if (stored !== actual) {
      throw new ImageError(
        "CHECKSUM_MISMATCH",
        `${file.name}: header checksum 0x${actual.toString(16)}, stored 0x${stored.toString(16)}`,
        88,
      );
    }
    if (v.getUint16(10, true) !== LAYER_HEADER_SIZE) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: header length ${v.getUint16(10, true)}, expected ${LAYER_HEADER_SIZE}`,
        10,
      );
    }
    this.incompatFeatures = v.getUint32(12, true);
    this.compatFeatures = v.getUint32(16, true);
    this.autoclearFeatures = v.getUint32(20, true);
    const unknown = this.incompatFeatures & ~KNOWN_INCOMPAT;
    if (unknown !== 0) {
      throw new ImageError(
        "UNSUPPORTED_FEATURE",
        `${file.name}: unknown incompatible features 0x${unknown.toString(16)}: written by a newer Amber`,
        12,
      );
    }
    const size = Number(v.getBigUint64(24, true));
    if (size > MAX_LAYER_SIZE)
      throw new ImageError("LIMIT_EXCEEDED", `${file.name}: logical size ${size} is absurd (max 2^52)`, 24);
    this.size = size;
    const shift = h[32];
    if (shift < 9 || shift > 20)
      throw new ImageError("CORRUPT", `${file.name}: page shift ${shift}, expected 9..20`, 32);
    this.grain = 2 ** shift;
    this.initByte = h[33];
    const fmt = h[34];
    if (fmt > 3)
      throw new ImageError("CORRUPT", `${file.name}: backing format code ${fmt}, expected 0..3`, 34);
    this.backingFormat = (Object.keys(AMBER_FORMAT_CODES) as ImageFormat[]).find(
      (k) => AMBER_FORMAT_CODES[k] === fmt,
    );
    const rangeCount = v.getUint32(36, true);
    const tableOffset = Number(v.getBigUint64(40, true));
    const dataOffset = Number(v.getBigUint64(48, true));
    const dataLength = Number(v.getBigUint64(56, true));
    const nameOffset = v.getUint32(64, true);
    const nameLength = v.getUint32(68, true);
    if (rangeCount > MAX_RANGES)
      throw new ImageError("LIMIT_EXCEEDED", `${file.name}: ${rangeCount} ranges (max ${MAX_RANGES})`, 36);
    const inside = (off: number, len: number) => off >= LAYER_HEADER_SIZE && off + len <= fileSize;
    if (!inside(tableOffset, rangeCount * RANGE_ENTRY_SIZE)) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: range table at ${tableOffset} (${rangeCount} entries) lies outside the ${fileSize}-byte file`,
        40,
      );
    }
    if (!inside(dataOffset, dataLength)) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: page data at ${dataOffset}+${dataLength} lies outside the ${fileSize}-byte file`,
        48,
      );
    }
    if (nameLength > MAX_BACKING_NAME || (nameLength > 0 && !inside(nameOffset, nameLength))) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: backing name at ${nameOffset}+${nameLength} is invalid`,
        64,
      );
    }
    if (nameLength > 0) {
      this.backingName = new TextDecoder("utf-8", { fatal: false }).decode(
        readExactly(file, nameOffset, nameLength, "backing name"),
      );
    }
    const table = readExactly(file, tableOffset, rangeCount * RANGE_ENTRY_SIZE, "range table");
    const tableSum = xxh64(table);
    if (tableSum !== v.getBigUint64(72, true)) {
      throw new ImageError(
        "CHECKSUM_MISMATCH",
        `${file.name}: range table checksum 0x${tableSum.toString(16)} does not match the header`,
        tableOffset,
      );
    }
    const tv = new DataView(table.buffer, table.byteOffset, table.length);
    this.firsts = new Float64Array(rangeCount);
    this.counts = new Uint32Array(rangeCount);
    this.ranks = new Float64Array(rangeCount);
    const pageCount = Math.ceil(size / this.grain);
    let nextFree = 0;
    let rank = 0;
    for (let i = 0; i < rangeCount; i++) {
      const first = Number(tv.getBigUint64(i * RANGE_ENTRY_SIZE, true));
      const count = tv.getUint32(i * RANGE_ENTRY_SIZE + 8, true);
      if (count === 0 || first < nextFree || first + count > pageCount) {
        throw new ImageError(
          "CORRUPT",
          `${file.name}: range ${i} (pages ${first}+${count}) overlaps the previous one or exceeds ${pageCount} pages`,
          tableOffset + i * RANGE_ENTRY_SIZE,
        );
      }
      this.firsts[i] = first;
      this.counts[i] = count;
      this.ranks[i] = rank;
      rank += count;
      nextFree = first + count;
    }
    const source: ByteSource = {
      size: dataLength,
      read: (offset, length) => file.read(dataOffset + offset, Math.min(length, dataLength - offset)),
    };
    this.reader = wrap(file, dataOffset, () =>
      FramedReader.open(source, { limits: { maxPages: Math.max(1, rank) } }),
    );
    if (this.reader.pageCount !== rank || this.reader.pageSize !== this.grain) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: page data holds ${this.reader.pageCount} pages of ${this.reader.pageSize} bytes; the range table lists ${rank} of ${this.grain}`,
        dataOffset,
      );
    }
  }

  /** Index in the stored pages of logical page `page`, or -1. */
  private rankOf(page: number): number {
    let lo = 0;
    let hi = this.firsts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const first = this.firsts[mid];
      if (page < first) hi = mid - 1;
      else if (page >= first + this.counts[mid]) lo = mid + 1;
      else return this.ranks[mid] + page - first;
    }
    return -1;
  }

  has(offset: number): boolean {
    return this.rankOf(Math.floor(offset / this.grain)) >= 0;
  }

  read(offset: number, length: number): Uint8Array {
    const page = Math.floor(offset / this.grain);
    if (page !== this.lastPage) {
      const rank = this.rankOf(page);
      if (rank < 0) throw new ImageError("OUT_OF_RANGE", `${this.name}: page ${page} is not stored here`);
      this.lastData = wrap(this.file, 0, () => this.reader.readPage(rank));
      this.lastPage = page;
    }
    const inPage = offset - page * this.grain;
    return (this.lastData as Uint8Array).subarray(inPage, inPage + length);
  }

  *extents(): Iterable<[number, number]> {
    for (let i = 0; i < this.firsts.length; i++) {
      yield [this.firsts[i] * this.grain, this.counts[i] * this.grain];
    }
  }

  get storedPages(): number {
    return this.reader.pageCount;
  }

  /** Decodes every block, verifying all checksums: what `amber image check` does. */
  verify(): void {
    for (let r = 0; r < this.reader.pageCount; r++) wrap(this.file, 0, () => this.reader.readPage(r));
  }

  fileSize(): number {
    return this.file.size();
  }

  sync(): void {}

  close(): void {
    this.file.close();
  }
}
