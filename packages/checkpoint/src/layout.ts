import { ByteReader, ByteWriter, encodeUtf8, pad8 } from "./bytes.js";
import { CheckpointError } from "./errors.js";
import { blake3, checksum64 } from "./hash.js";

/** Read as a u32 in the file's byte order: "AMCK" in a little-endian file. */
export const MAGIC = 0x4b434d41;
/** The same u32 read in the other byte order: the file is big-endian (or little, for a big-endian reader). */
export const MAGIC_SWAPPED = 0x414d434b;
export const FORMAT_VERSION = 1;
export const FIXED_HEADER_SIZE = 192;
export const MAX_HEADER_LENGTH = 64 * 1024;
export const HEADER_CHECKSUM_AT = 184;
export const DIGEST_BYTES = 32;

export const INCOMPAT_INCREMENTAL = 1 << 0;
export const INCOMPAT_DELTA = 1 << 1;
export const KNOWN_INCOMPAT = INCOMPAT_INCREMENTAL | INCOMPAT_DELTA;
export const COMPAT_SQUASHED = 1 << 0;
export const KNOWN_COMPAT = COMPAT_SQUASHED;
export const KNOWN_AUTOCLEAR = 0;

export const SEGMENT_FLAG_DELTA = 1 << 0;
/**
 * The segment's data hash is BLAKE3 of its page data's decoded content (every block's page
 * records, before the codec) rather than of the stored bytes, and the digest record holds 0
 * for its data length: recompressing the page data keeps the hash and the digest.
 */
export const SEGMENT_FLAG_CONTENT_HASH = 1 << 1;
export const KNOWN_SEGMENT_FLAGS = SEGMENT_FLAG_DELTA | SEGMENT_FLAG_CONTENT_HASH;

export const SECTION_ENTRY_FIXED = 56;
export const SEGMENT_ENTRY_FIXED = 120;
export const RANGE_ENTRY_SIZE = 8;

export interface ReaderLimits {
  maxSections: number;
  maxSegments: number;
  maxSectionBytes: number;
  maxTableBytes: number;
  maxRanges: number;
  maxSegmentBytes: number;
  maxChainDepth: number;
}

export const DEFAULT_READER_LIMITS: Readonly<ReaderLimits> = Object.freeze({
  maxSections: 4096,
  maxSegments: 256,
  maxSectionBytes: 64 * 1024 * 1024,
  maxTableBytes: 16 * 1024 * 1024,
  maxRanges: 1 << 24,
  // 2^48 bytes: far above any guest, and page counts stay < 2^32 at 64 KiB pages.
  maxSegmentBytes: 2 ** 48,
  maxChainDepth: 64,
});

/** Header fields, as the writer states them and the reader reports them. */
export interface HeaderFields {
  formatVersion: number;
  littleEndian: boolean;
  headerLength: number;
  incompatibleFeatures: number;
  compatibleFeatures: number;
  autoclearFeatures: number;
  dataSize: number;
  instructionCount: bigint;
  /** Milliseconds since the Unix epoch; not part of the digest. */
  createdAt: number;
  flags: number;
  machine: string;
  creatorName: string;
  creatorVersion: string;
  /** 32 zero bytes when the image has no parent. */
  parentDigest: Uint8Array;
  /** Where the parent was when this image was written; a hint only, not part of the digest. */
  parentHint: string;
  /**
   * The search path: directories (relative to the image, or absolute) that the files the
   * machine references (disks) are named against, `%1%` being the first. Where, not what:
   * not part of the digest, so `amber relocate` rewrites it and children still find the image.
   */
  searchPath: readonly string[];
}

/** Separates the search path's directories in the header string (a NUL is in no path). */
export const SEARCH_PATH_SEPARATOR = "\0";

/** The search path as the header's fifth string. */
export function encodeSearchPath(dirs: readonly string[]): string {
  for (const d of dirs) {
    if (d === "" || d.includes(SEARCH_PATH_SEPARATOR))
      throw new CheckpointError("INVALID_ARGUMENT", `search path directory "${d}" is empty or holds a NUL`);
  }
  return dirs.join(SEARCH_PATH_SEPARATOR);
}

export interface SectionEntry {
  name: string;
  version: number;
  minVersion: number;
  offset: number;
  length: number;
  hash: Uint8Array;
}

export interface SegmentEntry {
  name: string;
  base: bigint;
  size: number;
  pageShift: number;
  initByte: number;
  flags: number;
  pageMapOffset: number;
  rangeCount: number;
  storedPages: number;
  dataOffset: number;
  dataLength: number;
  pageMapHash: Uint8Array;
  dataHash: Uint8Array;
}

export interface Layout {
  header: HeaderFields;
  tableOffset: number;
  sections: SectionEntry[];
  segments: SegmentEntry[];
  digest: Uint8Array;
}

export function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** The canonical record the digest is the BLAKE3 of (always little-endian; see FORMAT.md). */
export function digestRecord(
  h: HeaderFields,
  sections: SectionEntry[],
  segments: SegmentEntry[],
): Uint8Array {
  const w = new ByteWriter(true);
  const str = (s: string) => {
    const b = encodeUtf8(s);
    w.u32(b.length).bytes(b);
  };
  w.bytes(encodeUtf8("amber-checkpoint-digest-v1\n"));
  w.u8(h.littleEndian ? 0 : 1);
  w.u16(h.formatVersion);
  w.u32(h.incompatibleFeatures).u32(h.compatibleFeatures);
  w.u64(h.instructionCount).u32(h.flags);
  str(h.machine);
  str(h.creatorName);
  str(h.creatorVersion);
  w.bytes(h.parentDigest);
  w.u32(sections.length);
  for (const s of sections) {
    str(s.name);
    w.u32(s.version).u32(s.minVersion).u32(s.length).bytes(s.hash);
  }
  w.u32(segments.length);
  for (const g of segments) {
    str(g.name);
    w.u64(g.base).u64(g.size).u8(g.pageShift).u8(g.initByte).u32(g.flags);
    // A content-hashed segment's stored length depends on the codec; its hash covers the content.
    w.u32(g.rangeCount)
      .u32(g.storedPages)
      .u64(g.flags & SEGMENT_FLAG_CONTENT_HASH ? 0 : g.dataLength);
    w.bytes(g.pageMapHash).bytes(g.dataHash);
  }
  return w.finish();
}

export function computeDigest(
  h: HeaderFields,
  sections: SectionEntry[],
  segments: SegmentEntry[],
): Uint8Array {
  return blake3(digestRecord(h, sections, segments));
}

export function encodeTables(sections: SectionEntry[], segments: SegmentEntry[], le: boolean): Uint8Array {
  const w = new ByteWriter(le);
  for (const s of sections) {
    const name = encodeUtf8(s.name);
    w.u32(s.version).u32(s.minVersion).u64(s.offset).u32(s.length).u16(name.length).u16(0).bytes(s.hash);
    w.bytes(name).pad(8);
  }
  for (const g of segments) {
    const name = encodeUtf8(g.name);
    w.u64(g.base).u64(g.size).u8(g.pageShift).u8(g.initByte).u16(name.length).u32(g.flags);
    w.u64(g.pageMapOffset).u32(g.rangeCount).u32(g.storedPages);
    w.u64(g.dataOffset).u64(g.dataLength).bytes(g.pageMapHash).bytes(g.dataHash);
    w.bytes(name).pad(8);
  }
  return w.finish();
}

export function sectionTableLength(sections: SectionEntry[]): number {
  let n = 0;
  for (const s of sections) n += SECTION_ENTRY_FIXED + pad8(encodeUtf8(s.name).length);
  return n;
}

export function encodeHeader(
  h: HeaderFields,
  tableOffset: number,
  sectionTableLen: number,
  segmentTableLen: number,
  tablesChecksum: bigint,
  sectionCount: number,
  segmentCount: number,
  digest: Uint8Array,
): Uint8Array {
  const le = h.littleEndian;
  const strings = [
    h.machine,
    h.creatorName,
    h.creatorVersion,
    h.parentHint,
    encodeSearchPath(h.searchPath),
  ].map(encodeUtf8);
  const w = new ByteWriter(le);
  w.u32(MAGIC).u16(h.formatVersion).u16(FIXED_HEADER_SIZE).u32(h.headerLength);
  w.u32(h.incompatibleFeatures).u32(h.compatibleFeatures).u32(h.autoclearFeatures);
  w.u64(h.dataSize).u64(h.instructionCount).i64(BigInt(h.createdAt)).u32(h.flags);
  w.u32(sectionCount).u32(segmentCount);
  for (const s of strings.slice(0, 4)) w.u16(s.length);
  w.u16(strings[4]!.length).u16(0);
  w.u64(tableOffset).u32(sectionTableLen).u32(segmentTableLen).u64(tablesChecksum);
  w.bytes(digest).bytes(h.parentDigest);
  w.bytes(new Uint8Array(24)).u64(0n);
  for (const s of strings) w.bytes(s);
  w.pad(8);
  const out = w.finish();
  if (out.length !== h.headerLength) throw new Error(`header length ${out.length} ≠ ${h.headerLength}`);
  new DataView(out.buffer).setBigUint64(HEADER_CHECKSUM_AT, checksum64(out), le);
  return out;
}

export function headerLengthFor(
  h: Pick<HeaderFields, "machine" | "creatorName" | "creatorVersion" | "parentHint" | "searchPath">,
): number {
  let n = 0;
  for (const s of [
    h.machine,
    h.creatorName,
    h.creatorVersion,
    h.parentHint,
    encodeSearchPath(h.searchPath),
  ]) {
    const len = encodeUtf8(s).length;
    if (len > 4096)
      throw new CheckpointError("INVALID_ARGUMENT", `header string "${s.slice(0, 40)}…" is over 4096 bytes`);
    n += len;
  }
  return pad8(FIXED_HEADER_SIZE + n);
}

/** The fixed part's fields that locate everything else; checked before use by the reader. */
export interface HeaderLocators {
  fixedLength: number;
  sectionCount: number;
  segmentCount: number;
  tableOffset: number;
  sectionTableLength: number;
  segmentTableLength: number;
  tablesChecksum: bigint;
  digest: Uint8Array;
}

/** Byte order of a file from its first four bytes, or undefined when they are not the magic. */
export function detectByteOrder(first4: Uint8Array): boolean | undefined {
  const v = new DataView(first4.buffer, first4.byteOffset, 4).getUint32(0, true);
  if (v === MAGIC) return true;
  if (v === MAGIC_SWAPPED) return false;
  return undefined;
}

export function decodeHeader(
  bytes: Uint8Array,
  le: boolean,
  file: string,
): { header: HeaderFields; loc: HeaderLocators } {
  const r = new ByteReader(bytes, le, file, 0, "header");
  r.u32("magic");
  const formatVersion = r.u16("format version");
  const fixedLength = r.u16("fixed header length");
  const headerLength = r.u32("header length");
  const incompatibleFeatures = r.u32("incompatible features");
  const compatibleFeatures = r.u32("compatible features");
  const autoclearFeatures = r.u32("autoclear features");
  const dataSize = r.safe64("data size");
  const instructionCount = r.u64("instruction count");
  const createdAt = Number(r.i64("creation time"));
  const flags = r.u32("flags");
  const sectionCount = r.u32("section count");
  const segmentCount = r.u32("segment count");
  const lens = [
    r.u16("machine id length"),
    r.u16("creator name length"),
    r.u16("creator version length"),
    r.u16("parent hint length"),
    r.u16("search path length"),
  ];
  r.u16("reserved");
  const tableOffset = r.safe64("table offset");
  const sectionTableLength = r.u32("section table length");
  const segmentTableLength = r.u32("segment table length");
  const tablesChecksum = r.u64("tables checksum");
  const digest = r.take(DIGEST_BYTES, "digest").slice();
  const parentDigest = r.take(DIGEST_BYTES, "parent digest").slice();
  r.pos = fixedLength;
  let total = 0;
  for (const l of lens) total += l;
  if (fixedLength + total > headerLength) {
    r.fail(
      `strings of ${total} bytes do not fit the ${headerLength}-byte header`,
      `≤ ${headerLength - fixedLength} bytes`,
      60,
    );
  }
  const [machine, creatorName, creatorVersion, parentHint, searchText] = lens.map((l, i) =>
    r.utf8(l, ["machine id", "creator name", "creator version", "parent hint", "search path"][i]!),
  ) as [string, string, string, string, string];
  const searchPath = searchText === "" ? [] : searchText.split(SEARCH_PATH_SEPARATOR);
  if (searchPath.includes("")) r.fail("an empty directory in the search path", "non-empty directories", 68);
  return {
    header: {
      formatVersion,
      littleEndian: le,
      headerLength,
      incompatibleFeatures,
      compatibleFeatures,
      autoclearFeatures,
      dataSize,
      instructionCount,
      createdAt,
      flags,
      machine,
      creatorName,
      creatorVersion,
      parentDigest,
      parentHint,
      searchPath,
    },
    loc: {
      fixedLength,
      sectionCount,
      segmentCount,
      tableOffset,
      sectionTableLength,
      segmentTableLength,
      tablesChecksum,
      digest,
    },
  };
}

export function decodeTables(
  bytes: Uint8Array,
  le: boolean,
  file: string,
  base: number,
  loc: HeaderLocators,
): { sections: SectionEntry[]; segments: SegmentEntry[] } {
  const sections: SectionEntry[] = [];
  const segments: SegmentEntry[] = [];
  const r = new ByteReader(bytes.subarray(0, loc.sectionTableLength), le, file, base, "section table");
  for (let i = 0; i < loc.sectionCount; i++) {
    const version = r.u32("section version");
    const minVersion = r.u32("section minimum version");
    const offset = r.safe64("section offset");
    const length = r.u32("section length");
    const nameLen = r.u16("section name length");
    r.u16("reserved");
    const hash = r.take(DIGEST_BYTES, "section hash").slice();
    const name = r.utf8(nameLen, "section name");
    r.skipPad(8);
    sections.push({ name, version, minVersion, offset, length, hash });
  }
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes after the last entry`, "the table to end there");
  const s = new ByteReader(
    bytes.subarray(loc.sectionTableLength),
    le,
    file,
    base + loc.sectionTableLength,
    "segment table",
  );
  for (let i = 0; i < loc.segmentCount; i++) {
    const baseAddr = s.u64("segment base");
    const size = s.safe64("segment size");
    const pageShift = s.u8("page shift");
    const initByte = s.u8("init byte");
    const nameLen = s.u16("segment name length");
    const flags = s.u32("segment flags");
    const pageMapOffset = s.safe64("page map offset");
    const rangeCount = s.u32("range count");
    const storedPages = s.u32("stored page count");
    const dataOffset = s.safe64("data offset");
    const dataLength = s.safe64("data length");
    const pageMapHash = s.take(DIGEST_BYTES, "page map hash").slice();
    const dataHash = s.take(DIGEST_BYTES, "data hash").slice();
    const name = s.utf8(nameLen, "segment name");
    s.skipPad(8);
    segments.push({
      name,
      base: baseAddr,
      size,
      pageShift,
      initByte,
      flags,
      pageMapOffset,
      rangeCount,
      storedPages,
      dataOffset,
      dataLength,
      pageMapHash,
      dataHash,
    });
  }
  if (s.remaining !== 0) s.fail(`${s.remaining} bytes after the last entry`, "the table to end there");
  return { sections, segments };
}

/** Page map: ranges [first page, count] of the pages a segment stores, ascending. */
export function encodePageMap(ranges: Uint32Array, le: boolean): Uint8Array {
  const w = new ByteWriter(le);
  for (let i = 0; i < ranges.length; i++) w.u32(ranges[i]!);
  return w.finish();
}
