import type { ByteSource } from "@amber/compress";
import type { BlockFile } from "@amber/image";
import { checksum64, toHex } from "./hash.js";
import {
  decodeHeader,
  decodeTables,
  detectByteOrder,
  FIXED_HEADER_SIZE,
  FORMAT_VERSION,
  HEADER_CHECKSUM_AT,
  type HeaderFields,
  isZero,
  MAX_HEADER_LENGTH,
  RANGE_ENTRY_SIZE,
  type ReaderLimits,
  type SectionEntry,
  type SegmentEntry,
} from "./layout.js";
import { refuseUnknownIncompatible } from "./layout-check.js";
import { err, fileReadsInto, readExactly, readIntoExactly } from "./read-errors.js";
import type { PageMapPart, PartStore } from "./reader-types.js";

/**
 * Sections lying within this many bytes of each other (a writer puts them back to back) are
 * read with one read, at the first section asked for: a resume reads them all.
 */
const SECTIONS_SPAN_MAX = 256 * 1024;

/** The single-file layout: where an image's parts are in its one file. */
export class FileStore implements PartStore {
  /** The sections' bytes, read at the first section asked for (see SECTIONS_SPAN_MAX). */
  private span: { offset: number; bytes: Uint8Array } | undefined;

  constructor(
    readonly file: BlockFile,
    /** The image's sections, to read them together. */
    private readonly sections: readonly SectionEntry[] = [],
  ) {}
  get name(): string {
    return this.file.name;
  }
  /** The section's bytes as stored (their hash is the reader's to check). */
  sectionBytes(e: SectionEntry): PageMapPart {
    const span = this.sectionSpan();
    const bytes =
      span !== undefined && e.offset >= span.offset && e.offset + e.length <= span.offset + span.bytes.length
        ? span.bytes.subarray(e.offset - span.offset, e.offset - span.offset + e.length)
        : readExactly(this.file, e.offset, e.length, `section "${e.name}"`);
    return { bytes, file: this.name, offset: e.offset };
  }
  private sectionSpan(): { offset: number; bytes: Uint8Array } | undefined {
    if (this.span !== undefined || this.sections.length < 2) return this.span;
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    for (const s of this.sections) {
      start = Math.min(start, s.offset);
      end = Math.max(end, s.offset + s.length);
    }
    if (end - start > SECTIONS_SPAN_MAX) return undefined;
    this.span = { offset: start, bytes: readExactly(this.file, start, end - start, "sections") };
    return this.span;
  }
  pageMapBytes(e: SegmentEntry): PageMapPart {
    const n = e.rangeCount * RANGE_ENTRY_SIZE;
    return {
      bytes: readExactly(this.file, e.pageMapOffset, n, `page map of "${e.name}"`),
      file: this.name,
      offset: e.pageMapOffset,
    };
  }
  segmentData(e: SegmentEntry): { source: ByteSource; file: string; offset: number } {
    const f = this.file;
    const base = e.dataOffset;
    const what = `data of "${e.name}"`;
    const source: ByteSource = {
      size: e.dataLength,
      read: (offset, length) =>
        readExactly(f, base + offset, Math.max(0, Math.min(length, e.dataLength - offset)), what),
      readInto: fileReadsInto(f)
        ? (offset, into) =>
            readIntoExactly(
              f,
              base + offset,
              into.subarray(0, Math.max(0, Math.min(into.length, e.dataLength - offset))),
              what,
            )
        : undefined,
    };
    return { source, file: this.name, offset: base };
  }
  close(): void {
    this.file.close();
  }
}

/**
 * Bytes read at once from the start of an image: the fixed header and, in all but unusual
 * images, the strings after it (the rest of a longer header is read after).
 */
const HEADER_READ = 512;

/** Parses and checks header and tables of a single-file image; reads nothing else. */
export function parseFile(
  file: BlockFile,
  limits: ReaderLimits,
): { header: HeaderFields; sections: SectionEntry[]; segments: SegmentEntry[]; digest: Uint8Array } {
  const name = file.name;
  const size = file.size();
  if (size < 4)
    err(
      "TRUNCATED",
      `${size}-byte file is too short for a checkpoint header`,
      name,
      0,
      `≥ ${FIXED_HEADER_SIZE} bytes`,
    );
  // One read for magic, fixed header and (most often) the whole header.
  const head = readExactly(file, 0, Math.min(size, HEADER_READ), "header");
  const first = head.subarray(0, 4);
  const le = detectByteOrder(first);
  if (le === undefined) {
    if (isZero(first))
      err("BAD_MAGIC", "no checkpoint header (all zero: a save that never finished?)", name, 0, '"AMCK"');
    err(
      "BAD_MAGIC",
      `not an Amber checkpoint (starts ${toHex(first)})`,
      name,
      0,
      '"AMCK" (41 4d 43 4b, or byte-swapped)',
    );
  }
  if (size < FIXED_HEADER_SIZE)
    err(
      "TRUNCATED",
      `${size}-byte file is shorter than the header`,
      name,
      size,
      `≥ ${FIXED_HEADER_SIZE} bytes`,
    );
  const fixed = head.subarray(0, FIXED_HEADER_SIZE);
  const dv = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  const version = dv.getUint16(4, le);
  if (version !== FORMAT_VERSION) {
    err(
      "UNSUPPORTED_VERSION",
      `format version ${version} is not supported`,
      name,
      4,
      `version ${FORMAT_VERSION}`,
    );
  }
  const fixedLength = dv.getUint16(6, le);
  const headerLength = dv.getUint32(8, le);
  if (fixedLength < FIXED_HEADER_SIZE || fixedLength % 8 !== 0) {
    err("CORRUPT", `fixed header length ${fixedLength}`, name, 6, `a multiple of 8, ≥ ${FIXED_HEADER_SIZE}`);
  }
  if (headerLength < fixedLength || headerLength % 8 !== 0 || headerLength > MAX_HEADER_LENGTH) {
    err(
      "CORRUPT",
      `header length ${headerLength}`,
      name,
      8,
      `a multiple of 8 in [${fixedLength}, ${MAX_HEADER_LENGTH}]`,
    );
  }
  // A copy that the checksum field can be zeroed in.
  const hbytes = new Uint8Array(headerLength);
  hbytes.set(head.subarray(0, Math.min(headerLength, head.length)));
  if (headerLength > head.length) {
    hbytes.set(readExactly(file, head.length, headerLength - head.length, "header"), head.length);
  }
  const stored = new DataView(hbytes.buffer).getBigUint64(HEADER_CHECKSUM_AT, le);
  hbytes.fill(0, HEADER_CHECKSUM_AT, HEADER_CHECKSUM_AT + 8);
  const actual = checksum64(hbytes);
  if (stored !== actual) {
    err(
      "CHECKSUM_MISMATCH",
      "header checksum does not match",
      name,
      HEADER_CHECKSUM_AT,
      `xxh64 ${actual.toString(16)}, found ${stored.toString(16)}`,
    );
  }
  const { header, loc } = decodeHeader(hbytes, le, name);
  refuseUnknownIncompatible(header, name);
  if (headerLength + header.dataSize > size) {
    err(
      "TRUNCATED",
      `header declares ${headerLength + header.dataSize} bytes but the file has ${size}`,
      name,
      size,
      `${headerLength + header.dataSize} bytes`,
    );
  }
  if (headerLength + header.dataSize < size) {
    err(
      "CORRUPT",
      `${size - headerLength - header.dataSize} bytes after the declared end`,
      name,
      headerLength + header.dataSize,
      `the file to end there`,
    );
  }
  if (loc.sectionCount > limits.maxSections)
    err("LIMIT_EXCEEDED", `${loc.sectionCount} sections`, name, 52, `≤ ${limits.maxSections}`);
  if (loc.segmentCount > limits.maxSegments)
    err("LIMIT_EXCEEDED", `${loc.segmentCount} segments`, name, 56, `≤ ${limits.maxSegments}`);
  const tablesLen = loc.sectionTableLength + loc.segmentTableLength;
  if (tablesLen > limits.maxTableBytes)
    err("LIMIT_EXCEEDED", `tables of ${tablesLen} bytes`, name, 80, `≤ ${limits.maxTableBytes}`);
  if (loc.tableOffset < headerLength || loc.tableOffset + tablesLen > size) {
    err(
      "CORRUPT",
      `tables at ${loc.tableOffset}+${tablesLen} lie outside the data`,
      name,
      72,
      `within [${headerLength}, ${size}]`,
    );
  }
  const tables = readExactly(file, loc.tableOffset, tablesLen, "tables");
  const tsum = checksum64(tables);
  if (tsum !== loc.tablesChecksum) {
    err(
      "CHECKSUM_MISMATCH",
      "tables checksum does not match",
      name,
      loc.tableOffset,
      `xxh64 ${loc.tablesChecksum.toString(16)}, computed ${tsum.toString(16)}`,
    );
  }
  const { sections, segments } = decodeTables(tables, le, name, loc.tableOffset, loc);
  const inData = (off: number, len: number) => off >= headerLength && off + len <= loc.tableOffset;
  for (const s of sections) {
    if (!inData(s.offset, s.length))
      err(
        "CORRUPT",
        `section "${s.name}" at ${s.offset}+${s.length} lies outside the data`,
        name,
        loc.tableOffset,
        `within [${headerLength}, ${loc.tableOffset}]`,
      );
  }
  for (const g of segments) {
    if (!inData(g.dataOffset, g.dataLength))
      err(
        "CORRUPT",
        `data of segment "${g.name}" at ${g.dataOffset}+${g.dataLength} lies outside the data`,
        name,
        loc.tableOffset,
        `within [${headerLength}, ${loc.tableOffset}]`,
      );
    if (!inData(g.pageMapOffset, g.rangeCount * RANGE_ENTRY_SIZE))
      err(
        "CORRUPT",
        `page map of segment "${g.name}" lies outside the data`,
        name,
        loc.tableOffset,
        `within [${headerLength}, ${loc.tableOffset}]`,
      );
  }
  return { header, sections, segments, digest: loc.digest };
}
