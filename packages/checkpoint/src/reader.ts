import {
  type ByteSource,
  type CompressError,
  DEFAULT_LIMITS,
  type DecodeLimits,
  FramedReader,
  isCompressError,
} from "@amber/compress";
import type { BlockFile } from "@amber/image";
import { isImageError } from "@amber/image";
import { CheckpointError, type CheckpointErrorCode, isCheckpointError } from "./errors.js";
import { decodeSectionFields, type FieldRecord } from "./fields.js";
import { Blake3 as Blake3Stream, blake3, checksum64, equalBytes, toHex } from "./hash.js";
import {
  computeDigest,
  DEFAULT_READER_LIMITS,
  decodeHeader,
  decodeTables,
  detectByteOrder,
  FIXED_HEADER_SIZE,
  FORMAT_VERSION,
  HEADER_CHECKSUM_AT,
  type HeaderFields,
  INCOMPAT_DELTA,
  INCOMPAT_INCREMENTAL,
  isZero,
  KNOWN_INCOMPAT,
  KNOWN_SEGMENT_FLAGS,
  MAX_HEADER_LENGTH,
  RANGE_ENTRY_SIZE,
  type ReaderLimits,
  SEGMENT_FLAG_CONTENT_HASH,
  SEGMENT_FLAG_DELTA,
  type SectionEntry,
  type SegmentEntry,
} from "./layout.js";

/** What a reader knows about one section: QEMU vmstate's version_id / minimum_version_id. */
export interface SectionSpec {
  name: string;
  /** The version this reader implements. */
  version: number;
  /** The oldest stored version this reader still loads. */
  minVersion: number;
  /** Values for fields an older writer did not have. */
  defaults?: FieldRecord;
  /** Turns the fields of an older stored version into this version's (before defaults). */
  upgrade?: (fields: FieldRecord, fromVersion: number) => FieldRecord;
}

export interface Section {
  name: string;
  /** The version stored in the image. */
  version: number;
  minVersion: number;
  fields: FieldRecord;
}

export interface ParentRef {
  /** The parent's digest (64 hex digits) the child names. */
  digest: string;
  /** Where the child says the parent was (relative to the child), possibly "". */
  hint: string;
  /** The child's file name. */
  child: string;
}

/** Where a parent is: a file, a composed directory, or an already open reader. */
export type ParentLocation =
  | { file: BlockFile }
  | { directory: DirectorySource }
  | { reader: CheckpointReader };

/** Read access to a composed-directory image (see directory.ts). */
export interface DirectorySource {
  readonly name: string;
  /** A small file (manifest, section JSON) whole; throws CheckpointError NOT_FOUND when absent. */
  readFile(relPath: string): Uint8Array;
  /** A file for random access (segment data). */
  openFile(relPath: string): BlockFile;
}

export interface OpenOptions {
  /** The sections this reader knows, for version checks, defaults and upgrades. */
  sections?: Iterable<SectionSpec>;
  limits?: Partial<ReaderLimits>;
  /** Limits handed to @amber/compress for page data. */
  decodeLimits?: Partial<DecodeLimits>;
  /** Finds an incremental image's parent. Without it (and without `parent`), opening one fails with PARENT_MISSING. */
  resolveParent?: (ref: ParentRef) => ParentLocation | undefined;
  /** The parent, already open (checked against the digest the image names). */
  parent?: CheckpointReader;
  /** Page blocks each segment keeps decoded (default 4). */
  cacheBlocks?: number;
  /**
   * Open this one image without its parent (to inspect or check one file). Pages this image
   * does not store then read as the init byte, and delta pages fail: not for restoring.
   */
  withoutParent?: boolean;
  /** Internal: names of the images below which this one is being opened, to detect cycles. */
  chain?: string[];
}

export interface PageMapPart {
  bytes: Uint8Array;
  file: string;
  offset?: number;
}

/** Where an image's parts are: one file, or the files of a composed directory. */
export interface PartStore {
  readonly name: string;
  sectionBytes(e: SectionEntry): PageMapPart;
  pageMapBytes(e: SegmentEntry): PageMapPart;
  segmentData(e: SegmentEntry): { source: ByteSource; file: string; offset: number };
  close(): void;
}

function err(
  code: CheckpointErrorCode,
  detail: string,
  file: string,
  offset?: number,
  expected?: string,
): never {
  throw new CheckpointError(code, detail, file, offset, expected);
}

/** Reads exactly `length` bytes at `offset` or throws TRUNCATED naming what was read. */
export function readExactly(file: BlockFile, offset: number, length: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = length === 0 ? new Uint8Array(0) : file.read(offset, length);
  } catch (e) {
    if (isImageError(e)) err("IO_ERROR", `reading ${what}: ${e.message}`, file.name, offset);
    throw e;
  }
  if (bytes.length !== length) {
    err(
      "TRUNCATED",
      `${what} runs past the end of the ${file.size()}-byte file`,
      file.name,
      offset,
      `${length} bytes`,
    );
  }
  return bytes;
}

export function fromCompressError(
  e: CompressError,
  file: string,
  base: number,
  what: string,
): CheckpointError {
  const code: CheckpointErrorCode =
    e.code === "TRUNCATED" ||
    e.code === "CHECKSUM_MISMATCH" ||
    e.code === "LIMIT_EXCEEDED" ||
    e.code === "NOT_INITIALIZED"
      ? e.code
      : "CORRUPT";
  const detail = e.message.replace(/ \(at offset \d+\)$/, "");
  return new CheckpointError(
    code,
    `${what}: ${detail}`,
    file,
    e.offset === undefined ? base : base + e.offset,
    e.expected,
  );
}

class FileStore implements PartStore {
  constructor(readonly file: BlockFile) {}
  get name(): string {
    return this.file.name;
  }
  sectionBytes(e: SectionEntry): PageMapPart {
    return {
      bytes: readExactly(this.file, e.offset, e.length, `section "${e.name}"`),
      file: this.name,
      offset: e.offset,
    };
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
    const source: ByteSource = {
      size: e.dataLength,
      read: (offset, length) =>
        readExactly(
          f,
          base + offset,
          Math.max(0, Math.min(length, e.dataLength - offset)),
          `data of "${e.name}"`,
        ),
    };
    return { source, file: this.name, offset: base };
  }
  close(): void {
    this.file.close();
  }
}

/** Parses and checks header and tables of a single-file image; reads nothing else. */
function parseFile(
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
  const first = readExactly(file, 0, 4, "magic");
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
  const fixed = readExactly(file, 0, FIXED_HEADER_SIZE, "header");
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
  // A copy (a Node Buffer's slice() is a view) that the checksum field can be zeroed in.
  const hbytes = new Uint8Array(readExactly(file, 0, headerLength, "header"));
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

/** Checks what header and tables say, whatever layout they came from. */
export function checkLayout(
  name: string,
  header: HeaderFields,
  sections: SectionEntry[],
  segments: SegmentEntry[],
  storedDigest: Uint8Array,
  limits: ReaderLimits,
  tableOffset = 0,
): Uint8Array {
  refuseUnknownIncompatible(header, name);
  const incremental = (header.incompatibleFeatures & INCOMPAT_INCREMENTAL) !== 0;
  if (incremental === isZero(header.parentDigest)) {
    err(
      "CORRUPT",
      incremental ? "incremental image without a parent digest" : "full image with a parent digest",
      name,
      128,
      "INCREMENTAL bit ⇔ parent digest ≠ 0",
    );
  }
  if ((header.incompatibleFeatures & INCOMPAT_DELTA) !== 0 && !incremental)
    err("CORRUPT", "DELTA without INCREMENTAL", name, 12, "DELTA only with INCREMENTAL");
  const names = new Set<string>();
  for (const s of sections) {
    if (s.name.length === 0 || names.has(s.name))
      err("CORRUPT", `section name "${s.name}" empty or repeated`, name, tableOffset, "unique names");
    names.add(s.name);
    if (s.version < 1 || s.minVersion < 1 || s.minVersion > s.version) {
      err(
        "CORRUPT",
        `section "${s.name}": version ${s.version}, minimum ${s.minVersion}`,
        name,
        tableOffset,
        "1 ≤ minimum ≤ version",
      );
    }
    if (s.length > limits.maxSectionBytes)
      err(
        "LIMIT_EXCEEDED",
        `section "${s.name}" of ${s.length} bytes`,
        name,
        tableOffset,
        `≤ ${limits.maxSectionBytes}`,
      );
  }
  names.clear();
  for (const g of segments) {
    if (g.name.length === 0 || names.has(g.name))
      err("CORRUPT", `segment name "${g.name}" empty or repeated`, name, tableOffset, "unique names");
    names.add(g.name);
    if (g.pageShift < 9 || g.pageShift > 20)
      err("CORRUPT", `segment "${g.name}": page shift ${g.pageShift}`, name, tableOffset, "9..20");
    if (g.size > limits.maxSegmentBytes)
      err(
        "LIMIT_EXCEEDED",
        `segment "${g.name}" of ${g.size} bytes`,
        name,
        tableOffset,
        `≤ ${limits.maxSegmentBytes}`,
      );
    const pageCount = Math.ceil(g.size / 2 ** g.pageShift);
    if (
      g.storedPages > pageCount ||
      g.rangeCount > g.storedPages ||
      (g.storedPages > 0 && g.rangeCount === 0)
    ) {
      err(
        "CORRUPT",
        `segment "${g.name}": ${g.storedPages} stored pages in ${g.rangeCount} ranges of ${pageCount} pages`,
        name,
        tableOffset,
        "ranges ≤ stored pages ≤ page count",
      );
    }
    if (g.rangeCount > limits.maxRanges)
      err(
        "LIMIT_EXCEEDED",
        `segment "${g.name}": ${g.rangeCount} ranges`,
        name,
        tableOffset,
        `≤ ${limits.maxRanges}`,
      );
    if ((g.flags & ~KNOWN_SEGMENT_FLAGS) !== 0)
      err(
        "UNSUPPORTED_FEATURE",
        `segment "${g.name}": unknown flags 0x${g.flags.toString(16)}`,
        name,
        tableOffset,
        `only 0x${KNOWN_SEGMENT_FLAGS.toString(16)}`,
      );
    if ((g.flags & SEGMENT_FLAG_DELTA) !== 0 && (header.incompatibleFeatures & INCOMPAT_DELTA) === 0) {
      err(
        "CORRUPT",
        `segment "${g.name}" uses delta pages but the header lacks the DELTA feature`,
        name,
        tableOffset,
        "the DELTA bit",
      );
    }
  }
  const digest = computeDigest(header, sections, segments);
  if (!equalBytes(digest, storedDigest)) {
    err("CHECKSUM_MISMATCH", "image digest does not match its contents", name, 96, `BLAKE3 ${toHex(digest)}`);
  }
  return digest;
}

/**
 * An open checkpoint. Opening reads the header and tables only (and, for an incremental
 * image, the parents' headers and tables); sections are decoded and pages decompressed on
 * first use.
 */
export class CheckpointReader {
  readonly header: HeaderFields;
  readonly digestBytes: Uint8Array;
  readonly digest: string;
  readonly parent: CheckpointReader | undefined;
  readonly sectionEntries: readonly SectionEntry[];
  readonly segments: readonly SegmentReader[];
  private readonly specs = new Map<string, SectionSpec>();
  private readonly decoded = new Map<string, FieldRecord>();
  readonly limits: ReaderLimits;

  /** Opens a single-file image. */
  static open(file: BlockFile, options: OpenOptions = {}): CheckpointReader {
    const limits = { ...DEFAULT_READER_LIMITS, ...options.limits };
    return guard(file.name, () => {
      const { header, sections, segments, digest } = parseFile(file, limits);
      return new CheckpointReader(new FileStore(file), header, sections, segments, digest, options);
    });
  }

  /** @internal: used by `open` and by the directory layout. */
  constructor(
    readonly store: PartStore,
    header: HeaderFields,
    sections: SectionEntry[],
    segments: SegmentEntry[],
    storedDigest: Uint8Array,
    options: OpenOptions,
  ) {
    this.limits = { ...DEFAULT_READER_LIMITS, ...options.limits };
    this.header = header;
    this.digestBytes = checkLayout(store.name, header, sections, segments, storedDigest, this.limits);
    this.digest = toHex(this.digestBytes);
    this.sectionEntries = sections;
    for (const s of options.sections ?? []) this.specs.set(s.name, s);
    this.parent = this.isIncremental && !options.withoutParent ? openParent(this, options) : undefined;
    this.segments = segments.map((e) => new SegmentReader(this, e, options));
    if (this.parent) {
      for (const g of this.segments) {
        const p = this.parent.findSegment(g.name);
        if (p && p.pageSize !== g.pageSize) {
          err(
            "CORRUPT",
            `segment "${g.name}" has ${g.pageSize}-byte pages, its parent ${p.pageSize}`,
            store.name,
            undefined,
            "the parent's page size",
          );
        }
      }
    }
  }

  get name(): string {
    return this.store.name;
  }

  /** The image's size in the single-file layout: its file's size (header plus data). */
  get fileSize(): number {
    return this.header.headerLength + this.header.dataSize;
  }

  get isIncremental(): boolean {
    return (this.header.incompatibleFeatures & INCOMPAT_INCREMENTAL) !== 0;
  }

  get createdAt(): Date {
    return new Date(this.header.createdAt);
  }

  get parentDigest(): string | undefined {
    return this.isIncremental ? toHex(this.header.parentDigest) : undefined;
  }

  /** This image and its parents, newest first. */
  get chain(): CheckpointReader[] {
    const out: CheckpointReader[] = [];
    for (let r: CheckpointReader | undefined = this; r; r = r.parent) out.push(r);
    return out;
  }

  get sectionNames(): string[] {
    return this.sectionEntries.map((s) => s.name);
  }

  private entry(name: string): SectionEntry {
    const e = this.sectionEntries.find((s) => s.name === name);
    if (e === undefined)
      err(
        "NOT_FOUND",
        `no section "${name}" (sections: ${this.sectionNames.join(", ") || "none"})`,
        this.name,
      );
    return e;
  }

  /** The section's encoded bytes, checked against their hash. */
  sectionBytes(name: string): Uint8Array {
    const e = this.entry(name);
    return guard(this.name, () => {
      const part = this.store.sectionBytes(e);
      if (!equalBytes(blake3(part.bytes), e.hash)) {
        err(
          "CHECKSUM_MISMATCH",
          `section "${name}" does not match its hash`,
          part.file,
          part.offset,
          `BLAKE3 ${toHex(e.hash)}`,
        );
      }
      return part.bytes;
    });
  }

  /** The fields with their stored types kept (`Typed` numbers), for lossless copies. */
  typedFields(name: string): FieldRecord {
    const e = this.entry(name);
    const bytes = this.sectionBytes(name);
    return guard(this.name, () =>
      decodeSectionFields(bytes, this.header.littleEndian, true, this.name, e.offset, name),
    );
  }

  hasSection(name: string): boolean {
    return this.sectionEntries.some((s) => s.name === name);
  }

  /**
   * A section's fields by name, checked against the reader's spec for it (given here or at
   * open): refused when written by a newer incompatible version or older than the reader
   * still loads; older versions are upgraded and missing fields get their defaults.
   */
  section(name: string, spec: SectionSpec | undefined = this.specs.get(name)): Section {
    const e = this.entry(name);
    const h = this.header;
    if (spec !== undefined) {
      if (e.minVersion > spec.version) {
        err(
          "SECTION_TOO_NEW",
          `section "${name}" is version ${e.version} and needs a reader of version ≥ ${e.minVersion}; this reader knows version ${spec.version} (image written by ${h.creatorName} ${h.creatorVersion})`,
          this.name,
          e.offset,
          `minimum version ≤ ${spec.version}`,
        );
      }
      if (e.version < spec.minVersion) {
        err(
          "SECTION_TOO_OLD",
          `section "${name}" is version ${e.version}; this reader loads versions ${spec.minVersion}..${spec.version} (image written by ${h.creatorName} ${h.creatorVersion})`,
          this.name,
          e.offset,
          `version ≥ ${spec.minVersion}`,
        );
      }
    }
    let fields = this.decoded.get(name);
    if (fields === undefined) {
      const bytes = this.sectionBytes(name);
      fields = guard(this.name, () =>
        decodeSectionFields(bytes, h.littleEndian, false, this.name, e.offset, name),
      );
      this.decoded.set(name, fields);
    }
    let out: FieldRecord = { ...fields };
    if (spec !== undefined) {
      if (e.version < spec.version && spec.upgrade) out = spec.upgrade(out, e.version);
      for (const [k, v] of Object.entries(spec.defaults ?? {})) if (!(k in out)) out[k] = v;
    }
    return { name, version: e.version, minVersion: e.minVersion, fields: out };
  }

  /** Every section, decoded with the registered specs. */
  sections(): Map<string, Section> {
    return new Map(this.sectionNames.map((n) => [n, this.section(n)]));
  }

  findSegment(name: string): SegmentReader | undefined {
    return this.segments.find((s) => s.name === name);
  }

  segment(name: string): SegmentReader {
    const s = this.findSegment(name);
    if (s === undefined)
      err(
        "NOT_FOUND",
        `no segment "${name}" (segments: ${this.segments.map((g) => g.name).join(", ") || "none"})`,
        this.name,
      );
    return s;
  }

  /**
   * Checks everything: every section's hash and encoding, every segment's page map and data
   * hash, every page block's checksum and decoding, then the parent chain.
   */
  verify(): void {
    for (const n of this.sectionNames) this.typedFields(n);
    for (const g of this.segments) g.verify();
    this.parent?.verify();
  }

  close(): void {
    this.store.close();
    this.parent?.close();
  }
}

/** Runs `fn`, turning stray errors (compress, image, RangeError) into CheckpointErrors naming the file. */
export function guard<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isCheckpointError(e)) throw e;
    if (isCompressError(e)) throw fromCompressError(e, file, 0, "page data");
    if (isImageError(e)) throw new CheckpointError("IO_ERROR", e.message, file);
    if (e instanceof RangeError || e instanceof TypeError)
      throw new CheckpointError("CORRUPT", `unreadable structure: ${e.message}`, file);
    throw e;
  }
}

function openParent(child: CheckpointReader, options: OpenOptions): CheckpointReader {
  const digest = toHex(child.header.parentDigest);
  const chain = [...(options.chain ?? []), child.name];
  if (chain.length > child.limits.maxChainDepth) {
    err(
      "PARENT_CYCLE",
      `parent chain deeper than ${child.limits.maxChainDepth} images`,
      child.name,
      128,
      `≤ ${child.limits.maxChainDepth} images`,
    );
  }
  let parent: CheckpointReader | undefined = options.parent;
  if (parent === undefined) {
    const loc = options.resolveParent?.({ digest, hint: child.header.parentHint, child: child.name });
    if (loc === undefined) {
      err(
        "PARENT_MISSING",
        `parent ${digest} not found${child.header.parentHint ? ` (hint: "${child.header.parentHint}")` : ""}`,
        child.name,
        128,
        "a resolvable parent",
      );
    }
    const locName = "reader" in loc ? loc.reader.name : "file" in loc ? loc.file.name : loc.directory.name;
    if (chain.includes(locName)) {
      err(
        "PARENT_CYCLE",
        `parent "${locName}" is already in the chain ${chain.join(" → ")}`,
        child.name,
        128,
        "a chain without repeats",
      );
    }
    const next: OpenOptions = { ...options, parent: undefined, chain };
    if ("reader" in loc) parent = loc.reader;
    else if ("file" in loc) parent = CheckpointReader.open(loc.file, next);
    else parent = openDirectoryImpl!(loc.directory, next);
  }
  if (parent.digest !== digest) {
    err(
      "PARENT_MISMATCH",
      `parent "${parent.name}" has digest ${parent.digest}`,
      child.name,
      128,
      `digest ${digest}`,
    );
  }
  return parent;
}

/** Set by directory.ts (avoids an import cycle). */
export let openDirectoryImpl: ((dir: DirectorySource, options: OpenOptions) => CheckpointReader) | undefined;
export function setOpenDirectory(fn: (dir: DirectorySource, options: OpenOptions) => CheckpointReader): void {
  openDirectoryImpl = fn;
}

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
              return this.parentSeg && p < this.parentSeg.pageCount ? this.parentSeg.readPage(p) : undefined;
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
        return f.readPage(k).slice();
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

/** Incompatible feature bits this reader does not know mean the image cannot be read correctly. */
function refuseUnknownIncompatible(header: HeaderFields, name: string): void {
  const unknown = header.incompatibleFeatures & ~KNOWN_INCOMPAT;
  if (unknown !== 0) {
    err(
      "UNSUPPORTED_FEATURE",
      `unknown incompatible feature bits 0x${unknown.toString(16)} (written by ${header.creatorName} ${header.creatorVersion})`,
      name,
      12,
      `only bits 0x${KNOWN_INCOMPAT.toString(16)}`,
    );
  }
}
