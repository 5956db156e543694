import { FramedWriter, isCompressError } from "@amber/compress";
import { type BlockFile, isImageError } from "@amber/image";
import { encodeUtf8, pad8 } from "./bytes.js";
import { CheckpointError, isCheckpointError } from "./errors.js";
import { encodeSectionFields, type FieldRecord } from "./fields.js";
import { Blake3, blake3, checksum64 } from "./hash.js";
import {
  COMPAT_SQUASHED,
  computeDigest,
  DIGEST_BYTES,
  encodeHeader,
  encodePageMap,
  encodeTables,
  FORMAT_VERSION,
  type HeaderFields,
  headerLengthFor,
  INCOMPAT_DELTA,
  INCOMPAT_INCREMENTAL,
  KNOWN_AUTOCLEAR,
  KNOWN_COMPAT,
  KNOWN_INCOMPAT,
  SEGMENT_FLAG_CONTENT_HASH,
  SEGMENT_FLAG_DELTA,
  type SectionEntry,
  type SegmentEntry,
  sectionTableLength,
} from "./layout.js";
import type { CheckpointReader } from "./reader.js";

export interface SectionInput {
  name: string;
  /** This section's version (≥ 1). */
  version: number;
  /**
   * The oldest reader version that can read this section correctly (ignoring fields it does
   * not know). Default: `version` (older readers refuse it). Lower it when a version only
   * added fields.
   */
  minVersion?: number;
  fields: FieldRecord;
}

export interface PageEntry {
  index: number;
  bytes: Uint8Array;
}

/** Pages to store, ascending by index: a list/iterable of {index, bytes}, or a page source. */
export type PageInput =
  | Iterable<PageEntry>
  | { pages(): Iterable<number>; readPage(index: number): Uint8Array };

export interface SegmentInput {
  name: string;
  /** Guest-physical base address (informative to this package; the machine maps it). */
  base: bigint | number;
  /** Size in bytes. */
  size: number;
  /** Default 4096; a power of two from 512 B to 1 MiB. */
  pageSize?: number;
  /** What pages never stored read as (default 0). */
  initByte?: number;
  /**
   * The pages to store. A full image needs only the pages ever written (pages equal to the
   * init byte are dropped); an incremental one the pages dirtied since the parent.
   */
  pages: PageInput;
  /**
   * For an incremental image with delta: the parent's page `index` if the caller already
   * holds it (e.g. a copy kept from the parent's instant, `@amber/memory`'s `RamBaseline`),
   * so the writer need not read (decode) it from the parent; undefined: read it from the
   * parent. The bytes must be exactly the parent's: the delta is taken against them.
   */
  parentPage?: (index: number) => Uint8Array | undefined;
}

export interface CheckpointInput {
  /** Machine / ISA identifier, e.g. "riscv32-virt". */
  machine: string;
  creator: { name: string; version: string };
  /** Default: now. Not part of the digest. */
  createdAt?: Date | number;
  instructionCount?: bigint | number;
  /** Application flags (u32), stored and digested as they are. */
  flags?: number;
  sections: Iterable<SectionInput>;
  segments: Iterable<SegmentInput>;
  /** For an incremental image: the parent, opened. Pages not stored here are read from it. */
  parent?: CheckpointReader;
  /** Where the parent lives, relative to this image (a hint for finding it; the digest decides). */
  parentHint?: string;
  /** The search path (see `HeaderFields.searchPath`); not part of the digest. Default none. */
  searchPath?: readonly string[];
  /** XOR-delta changed pages against the parent's (default true when there is a parent). */
  delta?: boolean;
  /** Extra feature bits: compatible and autoclear bits are stored as given; unknown incompatible bits are refused. */
  features?: { incompatible?: number; compatible?: number; autoclear?: number };
  /**
   * compress codec for page blocks (default "zstd", level 3). "none" or "lz4" save fastest;
   * `compactCheckpoint` recompresses such an image to zstd later, keeping its digest.
   */
  codec?: string;
  /**
   * Store a page equal to an earlier one as a reference to it. Default: true, except for
   * the fast codecs "none" and "lz4", where keeping a copy of every distinct page costs
   * more than the save itself (compacting keeps the pages as stored).
   */
  dedup?: boolean;
  /**
   * Hash each segment's stored bytes, as images did before the CONTENT_HASH segment flag
   * (their digest then changes with the codec). Only for making fixtures of such images.
   */
  hashStoredBytes?: boolean;
  level?: number;
  /** Byte order of the checkpoint's own structures. Default little-endian; big-endian exists for tests. */
  byteOrder?: "little" | "big";
  /**
   * About how many bytes the image will take at most (e.g. the pages to store × the page
   * size), if the caller knows: `startCheckpointFile` then streams an image too big to gather
   * in memory from its first byte. Not stored; the image is the same either way.
   */
  sizeHint?: number;
}

export interface WriteResult {
  /** BLAKE3-256 of the image, as 64 hex digits. */
  digest: string;
  /** Bytes written. */
  size: number;
  stats: { sections: number; segments: number; storedPages: number; deltaPages: number; basePages: number };
}

/** Maps failures of the host's file into CheckpointErrors (NO_SPACE above all). */
export function hostError(e: unknown, file: string): unknown {
  if (isCheckpointError(e)) return e;
  if (isImageError(e)) {
    if (e.code === "NO_SPACE")
      return new CheckpointError("NO_SPACE", `no space left on device while writing`, file);
    // The file is named once, by the CheckpointError.
    const detail = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
    if (e.code === "NOT_FOUND") return new CheckpointError("NOT_FOUND", detail, file);
    return new CheckpointError("IO_ERROR", detail, file);
  }
  const code = (e as { code?: unknown })?.code;
  if (code === "ENOSPC")
    return new CheckpointError("NO_SPACE", "no space left on device while writing", file);
  if (isCompressError(e)) return new CheckpointError("INVALID_ARGUMENT", e.message, file);
  return e;
}

function checkName(name: string, what: string, seen: Set<string>): void {
  const n = encodeUtf8(name).length;
  if (n === 0 || n > 255)
    throw new CheckpointError("INVALID_ARGUMENT", `${what} name "${name}" must be 1..255 UTF-8 bytes`);
  if (seen.has(name)) throw new CheckpointError("INVALID_ARGUMENT", `${what} "${name}" given twice`);
  seen.add(name);
}

function checkU32(v: number, what: string, min = 0): void {
  if (!Number.isInteger(v) || v < min || v > 0xffffffff) {
    throw new CheckpointError("INVALID_ARGUMENT", `${what} ${v} must be an integer in [${min}, 2^32)`);
  }
}

/**
 * Lays out an image in a random-access file: the header area is reserved and written last,
 * sections and segment data are appended, the tables follow. The low-level half of
 * writeCheckpoint, also used by convert and squash to copy already-encoded parts.
 */
export class ImageAssembler {
  private pos: number;
  readonly sections: SectionEntry[] = [];
  readonly segments: SegmentEntry[] = [];
  private readonly sectionNames = new Set<string>();
  private readonly segmentNames = new Set<string>();

  constructor(
    readonly file: BlockFile,
    readonly littleEndian: boolean,
    readonly headerLength: number,
  ) {
    this.pos = headerLength;
  }

  private put(bytes: Uint8Array): number {
    const at = this.pos;
    if (bytes.length > 0) this.file.write(at, bytes);
    this.pos += bytes.length;
    return at;
  }

  private align(): void {
    const p = pad8(this.pos);
    if (p > this.pos) this.put(new Uint8Array(p - this.pos));
  }

  addSection(name: string, version: number, minVersion: number, bytes: Uint8Array): void {
    checkName(name, "section", this.sectionNames);
    checkU32(version, `section "${name}" version`, 1);
    checkU32(minVersion, `section "${name}" minimum version`, 1);
    if (minVersion > version) {
      throw new CheckpointError(
        "INVALID_ARGUMENT",
        `section "${name}": minimum version ${minVersion} > version ${version}`,
      );
    }
    this.align();
    const offset = this.put(bytes);
    this.sections.push({ name, version, minVersion, offset, length: bytes.length, hash: blake3(bytes) });
  }

  /**
   * Starts a segment's data; returns the sink for its framed bytes. Its data hash covers
   * what `content` is given when `hashContent` (the decoded blocks: meta.flags must then
   * have CONTENT_HASH), else the bytes written; `end` may instead be given the hash (a copy
   * of a segment whose hash is known).
   */
  beginSegment(
    name: string,
    hashContent = false,
  ): {
    write(chunk: Uint8Array): void;
    content(decoded: Uint8Array): void;
    end(meta: SegmentMeta, ranges: Uint32Array, dataHash?: Uint8Array): void;
  } {
    checkName(name, "segment", this.segmentNames);
    this.align();
    const dataOffset = this.pos;
    const hash = new Blake3();
    return {
      write: (chunk) => {
        if (!hashContent) hash.update(chunk);
        this.put(chunk);
      },
      content: (decoded) => {
        if (hashContent) hash.update(decoded);
      },
      end: (meta, ranges, dataHash) => {
        const dataLength = this.pos - dataOffset;
        this.align();
        const pageMap = encodePageMap(ranges, this.littleEndian);
        const pageMapOffset = this.put(pageMap);
        let stored = 0;
        for (let i = 1; i < ranges.length; i += 2) stored += ranges[i]!;
        this.segments.push({
          name,
          base: meta.base,
          size: meta.size,
          pageShift: meta.pageShift,
          initByte: meta.initByte,
          flags: meta.flags,
          pageMapOffset,
          rangeCount: ranges.length / 2,
          storedPages: stored,
          dataOffset,
          dataLength,
          pageMapHash: blake3(pageMap),
          dataHash: dataHash ?? hash.digest(),
        });
      },
    };
  }

  /** Writes the tables and then the header; returns the digest. */
  finish(fields: Omit<HeaderFields, "headerLength" | "dataSize" | "littleEndian">): {
    digest: Uint8Array;
    size: number;
  } {
    this.align();
    const tables = encodeTables(this.sections, this.segments, this.littleEndian);
    const tableOffset = this.put(tables);
    const header: HeaderFields = {
      ...fields,
      littleEndian: this.littleEndian,
      headerLength: this.headerLength,
      dataSize: this.pos - this.headerLength,
    };
    const digest = computeDigest(header, this.sections, this.segments);
    const secLen = sectionTableLength(this.sections);
    const bytes = encodeHeader(
      header,
      tableOffset,
      secLen,
      tables.length - secLen,
      checksum64(tables),
      this.sections.length,
      this.segments.length,
      digest,
    );
    this.file.write(0, bytes);
    return { digest, size: this.pos };
  }
}

export interface SegmentMeta {
  base: bigint;
  size: number;
  pageShift: number;
  initByte: number;
  flags: number;
}

/** Collects ascending page indexes into [first, count] ranges. */
export class RangeBuilder {
  private buf = new Uint32Array(64);
  private n = 0;
  /** Logical index of each stored page, in order (for delta base lookups). */
  private idx = new Uint32Array(256);
  count = 0;

  add(index: number): void {
    if (this.count === this.idx.length) {
      const g = new Uint32Array(this.idx.length * 2);
      g.set(this.idx);
      this.idx = g;
    }
    this.idx[this.count++] = index;
    if (this.n > 0 && this.buf[this.n - 2]! + this.buf[this.n - 1]! === index) {
      this.buf[this.n - 1]!++;
      return;
    }
    if (this.n + 2 > this.buf.length) {
      const g = new Uint32Array(this.buf.length * 2);
      g.set(this.buf);
      this.buf = g;
    }
    this.buf[this.n++] = index;
    this.buf[this.n++] = 1;
  }

  logical(k: number): number {
    return this.idx[k]!;
  }

  ranges(): Uint32Array {
    return this.buf.slice(0, this.n);
  }
}

function* pageEntries(input: PageInput): Iterable<PageEntry> {
  if (typeof (input as { pages?: unknown }).pages === "function") {
    const src = input as { pages(): Iterable<number>; readPage(index: number): Uint8Array };
    for (const index of src.pages()) yield { index, bytes: src.readPage(index) };
  } else {
    yield* input as Iterable<PageEntry>;
  }
}

function isFilled(page: Uint8Array, value: number): boolean {
  for (let i = 0; i < page.length; i++) if (page[i] !== value) return false;
  return true;
}

/**
 * Writes a checkpoint into `file` (random access: the header is written last, so a save cut
 * short leaves a file without a valid header, refused as BAD_MAGIC). For files on disk use
 * `writeCheckpointFile` from "@amber/checkpoint/node", which adds temp + fsync + rename.
 */
export function writeCheckpoint(file: BlockFile, input: CheckpointInput): WriteResult {
  try {
    return writeInner(file, input);
  } catch (e) {
    throw hostError(e, file.name);
  }
}

function writeInner(file: BlockFile, input: CheckpointInput): WriteResult {
  const le = (input.byteOrder ?? "little") === "little";
  const parent = input.parent;
  const features = input.features ?? {};
  const extraIncompat = features.incompatible ?? 0;
  if ((extraIncompat & ~KNOWN_INCOMPAT) !== 0) {
    throw new CheckpointError(
      "INVALID_ARGUMENT",
      `unknown incompatible feature bits 0x${extraIncompat.toString(16)}`,
    );
  }
  const useDelta = parent !== undefined && input.delta !== false;
  const parentHint = parent === undefined ? "" : (input.parentHint ?? "");
  const fields = {
    formatVersion: FORMAT_VERSION,
    incompatibleFeatures: (parent ? INCOMPAT_INCREMENTAL : 0) | (useDelta ? INCOMPAT_DELTA : 0),
    compatibleFeatures: (features.compatible ?? 0) >>> 0,
    autoclearFeatures: (features.autoclear ?? 0) >>> 0,
    instructionCount: BigInt(input.instructionCount ?? 0),
    createdAt: input.createdAt === undefined ? Date.now() : Number(input.createdAt),
    flags: input.flags ?? 0,
    machine: input.machine,
    creatorName: input.creator.name,
    creatorVersion: input.creator.version,
    parentDigest: parent ? parent.digestBytes.slice() : new Uint8Array(DIGEST_BYTES),
    parentHint,
    searchPath: [...(input.searchPath ?? [])],
  };
  checkU32(fields.flags, "flags");
  if (fields.instructionCount < 0n || fields.instructionCount >= 1n << 64n) {
    throw new CheckpointError("INVALID_ARGUMENT", "instruction count must fit a u64");
  }
  const asm = new ImageAssembler(file, le, headerLengthFor(fields));
  for (const s of input.sections) {
    asm.addSection(s.name, s.version, s.minVersion ?? s.version, encodeSectionFields(s.fields, le));
  }
  const stats = { sections: asm.sections.length, segments: 0, storedPages: 0, deltaPages: 0, basePages: 0 };
  for (const seg of input.segments) {
    const pageSize = seg.pageSize ?? 4096;
    const pageShift = Math.log2(pageSize);
    if (!Number.isInteger(pageShift) || pageShift < 9 || pageShift > 20) {
      throw new CheckpointError(
        "INVALID_ARGUMENT",
        `segment "${seg.name}": page size ${pageSize} is not a power of two in 512..1 MiB`,
      );
    }
    if (!Number.isSafeInteger(seg.size) || seg.size < 0 || seg.size > 2 ** 48) {
      throw new CheckpointError(
        "INVALID_ARGUMENT",
        `segment "${seg.name}": size ${seg.size} must be in [0, 2^48]`,
      );
    }
    const base = BigInt(seg.base);
    if (base < 0n || base >= 1n << 64n)
      throw new CheckpointError("INVALID_ARGUMENT", `segment "${seg.name}": base must fit a u64`);
    const initByte = seg.initByte ?? 0;
    const pageCount = Math.ceil(seg.size / pageSize);
    const parentSeg = useDelta ? parent!.findSegment(seg.name) : undefined;
    const deltaOk = parentSeg !== undefined && parentSeg.pageSize === pageSize;
    const contentHash = input.hashStoredBytes !== true;
    const sink = asm.beginSegment(seg.name, contentHash);
    const ranges = new RangeBuilder();
    const writer = new FramedWriter({
      pageSize,
      codec: input.codec ?? "zstd",
      level: input.level,
      dedup: input.dedup ?? !FAST_CODECS.has(input.codec ?? "zstd"),
      onBlock: contentHash ? (raw) => sink.content(raw) : undefined,
      onChunk: (c) => sink.write(c),
      basePage: deltaOk
        ? (k) => {
            const p = ranges.logical(k);
            if (p >= parentSeg!.pageCount) return undefined;
            return seg.parentPage?.(p) ?? parentSeg!.readPage(p);
          }
        : undefined,
    });
    let last = -1;
    for (const { index, bytes } of pageEntries(seg.pages)) {
      if (!Number.isInteger(index) || index <= last || index >= pageCount) {
        throw new CheckpointError(
          "INVALID_ARGUMENT",
          `segment "${seg.name}": page ${index} out of order or outside its ${pageCount} pages`,
        );
      }
      if (bytes.length !== pageSize) {
        throw new CheckpointError(
          "INVALID_ARGUMENT",
          `segment "${seg.name}": page ${index} has ${bytes.length} bytes, not ${pageSize}`,
        );
      }
      last = index;
      if (parent === undefined && isFilled(bytes, initByte)) continue;
      ranges.add(index);
      writer.addPage(bytes);
    }
    writer.finish();
    stats.storedPages += ranges.count;
    stats.deltaPages += writer.stats.deltaPages;
    stats.basePages += writer.stats.basePages;
    sink.end(
      {
        base,
        size: seg.size,
        pageShift,
        initByte,
        flags: (deltaOk ? SEGMENT_FLAG_DELTA : 0) | (contentHash ? SEGMENT_FLAG_CONTENT_HASH : 0),
      },
      ranges.ranges(),
    );
    stats.segments++;
  }
  if (!useDelta || !asm.segments.some((g) => g.flags & SEGMENT_FLAG_DELTA))
    fields.incompatibleFeatures &= ~INCOMPAT_DELTA;
  fields.incompatibleFeatures |= extraIncompat;
  const { digest, size } = asm.finish(fields);
  file.sync?.();
  return { digest: toHexDigest(digest), size, stats };
}

/** Codecs whose saves skip dedup by default (see CheckpointInput.dedup). */
const FAST_CODECS = new Set(["none", "lz4"]);

export function toHexDigest(d: Uint8Array): string {
  let s = "";
  for (const b of d) s += b.toString(16).padStart(2, "0");
  return s;
}

export { COMPAT_SQUASHED, KNOWN_AUTOCLEAR, KNOWN_COMPAT };
