import type { ByteSource } from "@amber/compress";
import { type BlockFile, MemoryBlockFile } from "@amber/image";
import { decodeUtf8, encodeUtf8 } from "./bytes.js";
import { CheckpointError } from "./errors.js";
import { encodeSectionFields, type JsonValue, recordFromJson, recordToJson } from "./fields.js";
import { checksum64, fromHex, toHex } from "./hash.js";
import {
  DEFAULT_READER_LIMITS,
  DIGEST_BYTES,
  encodePageMap,
  FORMAT_VERSION,
  type HeaderFields,
  headerLengthFor,
  KNOWN_AUTOCLEAR,
  SEGMENT_FLAG_CONTENT_HASH,
  type SectionEntry,
  type SegmentEntry,
} from "./layout.js";
import { setOpenDirectory } from "./parent-chain.js";
import { fileReadsInto, guard, readExactly, readIntoExactly } from "./read-errors.js";
import { CheckpointReader } from "./reader.js";
import type { DirectorySource, OpenOptions, PageMapPart, PartStore } from "./reader-types.js";
import { hostError, ImageAssembler } from "./writer.js";

export const MANIFEST = "manifest.json";
export const DIRECTORY_FORMAT = "amber-checkpoint-directory";
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/** Write access to a directory being filled (Node: a temporary directory renamed into place). */
export interface DirectorySink {
  readonly name: string;
  createFile(relPath: string): BlockFile;
}

/** A directory held in memory: for browsers and tests. Both a source and a sink. */
export class MemoryDirectory implements DirectorySource, DirectorySink {
  readonly files = new Map<string, MemoryBlockFile>();
  constructor(readonly name = "memory-dir") {}
  createFile(relPath: string): BlockFile {
    const f = new MemoryBlockFile(new Uint8Array(0), `${this.name}/${relPath}`);
    this.files.set(relPath, f);
    return f;
  }
  readFile(relPath: string): Uint8Array {
    return this.openFile(relPath).read(0, Number.MAX_SAFE_INTEGER).slice();
  }
  openFile(relPath: string): BlockFile {
    const f = this.files.get(relPath);
    if (f === undefined) throw new CheckpointError("NOT_FOUND", `${relPath}: no such file`, this.name);
    return f;
  }
}

/** A file name for a section or segment: [A-Za-z0-9._-] kept, everything else %XX (UTF-8). */
export function safeFileName(name: string): string {
  let out = "";
  for (const b of encodeUtf8(name)) {
    const c = String.fromCharCode(b);
    out +=
      /[A-Za-z0-9_-]/.test(c) || (c === "." && out.length > 0)
        ? c
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function writeWhole(sink: DirectorySink, rel: string, bytes: Uint8Array): void {
  const f = sink.createFile(rel);
  f.write(0, bytes);
  f.sync?.();
  f.close();
}

function json(v: unknown): Uint8Array {
  return encodeUtf8(`${JSON.stringify(v, null, 2)}\n`);
}

/**
 * Writes `reader`'s image as a composed directory: a readable manifest.json, one JSON file
 * per section and the segments' page data as @amber/compress framed files, exactly the
 * bytes the single file holds. Lossless: the digest stays the same.
 */
export function writeDirectoryLayout(
  reader: CheckpointReader,
  sink: DirectorySink,
  searchPath: readonly string[] = reader.header.searchPath,
): string {
  try {
    const h = { ...reader.header, searchPath };
    const sections = reader.sectionEntries.map((e) => {
      const file = `sections/${safeFileName(e.name)}.json`;
      const fields = recordToJson(reader.typedFields(e.name));
      writeWhole(sink, file, json({ name: e.name, version: e.version, minVersion: e.minVersion, fields }));
      return {
        name: e.name,
        version: e.version,
        minVersion: e.minVersion,
        file,
        length: e.length,
        blake3: toHex(e.hash),
      };
    });
    const segments = reader.segments.map((g) => {
      const e = g.entry;
      const file = `segments/${safeFileName(e.name)}.ambp`;
      const { source } = reader.store.segmentData(e);
      const out = sink.createFile(file);
      const step = 1 << 20;
      for (let at = 0; at < source.size; at += step)
        out.write(at, source.read(at, Math.min(step, source.size - at)));
      out.sync?.();
      out.close();
      const r = g.storedRanges();
      const pages: [number, number][] = [];
      for (let i = 0; i < r.length; i += 2) pages.push([r[i]!, r[i + 1]!]);
      return {
        name: e.name,
        base: `0x${e.base.toString(16)}`,
        size: e.size,
        pageSize: g.pageSize,
        initByte: e.initByte,
        flags: e.flags,
        storedPages: e.storedPages,
        pages,
        file,
        dataLength: e.dataLength,
        blake3: toHex(e.dataHash),
        pageMapBlake3: toHex(e.pageMapHash),
      };
    });
    const manifest = {
      format: DIRECTORY_FORMAT,
      formatVersion: h.formatVersion,
      digest: reader.digest,
      byteOrder: h.littleEndian ? "little" : "big",
      machine: h.machine,
      creator: { name: h.creatorName, version: h.creatorVersion },
      createdAt: h.createdAt,
      created: Number.isFinite(new Date(h.createdAt).getTime()) ? new Date(h.createdAt).toISOString() : null,
      instructionCount: h.instructionCount.toString(),
      flags: h.flags,
      features: {
        incompatible: h.incompatibleFeatures,
        compatible: h.compatibleFeatures,
        autoclear: h.autoclearFeatures & KNOWN_AUTOCLEAR,
      },
      parent: reader.isIncremental ? { digest: toHex(h.parentDigest), hint: h.parentHint } : null,
      // Only when there is one, so a manifest without it reads (and checksums) as before.
      ...(h.searchPath.length > 0 ? { searchPath: [...h.searchPath] } : {}),
      sections,
      segments,
    };
    // The manifest last: a directory without one is not an image.
    writeWhole(sink, MANIFEST, json({ ...manifest, checksum: manifestChecksum(manifest) }));
    return reader.digest;
  } catch (e) {
    throw hostError(e, sink.name);
  }
}

/**
 * Copies any image (either layout) into a single file; lossless: the digest stays the same.
 * `searchPath` replaces the image's (not part of the digest): how `relocate` rewrites it.
 */
export function writeSingleFile(
  reader: CheckpointReader,
  file: BlockFile,
  searchPath: readonly string[] = reader.header.searchPath,
): string {
  try {
    const h = { ...reader.header, searchPath };
    const asm = new ImageAssembler(file, h.littleEndian, headerLengthFor(h));
    for (const e of reader.sectionEntries)
      asm.addSection(e.name, e.version, e.minVersion, reader.sectionBytes(e.name));
    for (const g of reader.segments) {
      const e = g.entry;
      const ranges = g.storedRanges();
      const { source } = reader.store.segmentData(e);
      const sink = asm.beginSegment(e.name);
      const step = 1 << 20;
      for (let at = 0; at < source.size; at += step)
        sink.write(source.read(at, Math.min(step, source.size - at)).slice());
      // A content hash is the content's, whatever bytes store it: carried over as it is.
      sink.end(
        { base: e.base, size: e.size, pageShift: e.pageShift, initByte: e.initByte, flags: e.flags },
        ranges,
        (e.flags & SEGMENT_FLAG_CONTENT_HASH) !== 0 ? e.dataHash : undefined,
      );
    }
    const { digest } = asm.finish({ ...h, autoclearFeatures: h.autoclearFeatures & KNOWN_AUTOCLEAR });
    file.sync?.();
    const hex = toHex(digest);
    if (hex !== reader.digest) {
      throw new CheckpointError(
        "CHECKSUM_MISMATCH",
        `copy has digest ${hex}`,
        file.name,
        undefined,
        `digest ${reader.digest}`,
      );
    }
    return hex;
  } catch (e) {
    throw hostError(e, file.name);
  }
}

// ---------------------------------------------------------------- reading a directory

class ManifestError extends Error {}

function field<T>(obj: Record<string, unknown>, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = obj[key];
  if (!check(v)) throw new ManifestError(`"${key}" must be ${what}`);
  return v;
}
const isU32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isSafe = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isHash = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
const isByte = (v: unknown): v is number => isU32(v) && v <= 255;

class DirStore implements PartStore {
  /**
   * The segments' data files, opened with the image: pages are read lazily, and from the
   * files as they were at open even if a save swaps a new directory in under the same name
   * meanwhile (a file opened only at its first page would be the new image's, whose framed
   * index checks out on its own). A file that cannot be opened now is tried again, and
   * reported, at its first page.
   */
  private readonly opened = new Map<string, BlockFile>();

  constructor(
    readonly dir: DirectorySource,
    readonly sectionFiles: Map<string, string>,
    readonly segmentFiles: Map<string, { file: string; ranges: Uint32Array }>,
    readonly le: boolean,
  ) {
    for (const [name, s] of segmentFiles) {
      try {
        this.opened.set(name, dir.openFile(s.file));
      } catch {
        // reported at the segment's first page, as before
      }
    }
  }
  get name(): string {
    return this.dir.name;
  }
  sectionBytes(e: SectionEntry): PageMapPart {
    const rel = this.sectionFiles.get(e.name)!;
    const where = `${this.dir.name}/${rel}`;
    const text = decodeUtf8(this.dir.readFile(rel));
    let bytes: Uint8Array;
    try {
      if (text === undefined) throw new Error("not UTF-8");
      const doc = JSON.parse(text) as { fields?: JsonValue };
      if (!isObj(doc)) throw new Error("not a JSON object");
      bytes = encodeSectionFields(recordFromJson(doc.fields ?? null), this.le);
    } catch (x) {
      throw new CheckpointError(
        "CORRUPT",
        `section "${e.name}": ${(x as Error).message}`,
        where,
        undefined,
        "a section JSON file",
      );
    }
    return { bytes, file: where };
  }
  pageMapBytes(e: SegmentEntry): PageMapPart {
    const s = this.segmentFiles.get(e.name)!;
    return { bytes: encodePageMap(s.ranges, this.le), file: `${this.dir.name}/${MANIFEST}` };
  }
  segmentData(e: SegmentEntry): { source: ByteSource; file: string; offset: number } {
    const rel = this.segmentFiles.get(e.name)!.file;
    let f = this.opened.get(e.name);
    if (f === undefined) {
      f = this.dir.openFile(rel);
      this.opened.set(e.name, f);
    }
    if (f.size() !== e.dataLength) {
      throw new CheckpointError(
        f.size() < e.dataLength ? "TRUNCATED" : "CORRUPT",
        `segment "${e.name}" data is ${f.size()} bytes`,
        `${this.dir.name}/${rel}`,
        Math.min(f.size(), e.dataLength),
        `${e.dataLength} bytes`,
      );
    }
    const what = `data of "${e.name}"`;
    const file = f;
    const source: ByteSource = {
      size: e.dataLength,
      read: (offset, length) =>
        readExactly(file, offset, Math.max(0, Math.min(length, e.dataLength - offset)), what),
      readInto: fileReadsInto(file)
        ? (offset, into) =>
            readIntoExactly(
              file,
              offset,
              into.subarray(0, Math.max(0, Math.min(into.length, e.dataLength - offset))),
              what,
            )
        : undefined,
    };
    return { source, file: f.name, offset: 0 };
  }
  close(): void {
    for (const f of this.opened.values()) f.close();
    this.opened.clear();
  }
}

/**
 * xxh64 (16 hex digits) of the manifest's other fields, serialized compactly in their order:
 * it covers what the digest leaves out (createdAt, created, the parent hint, autoclear bits),
 * as the single file's header checksum does.
 */
function manifestChecksum(fields: Record<string, unknown>): string {
  return checksum64(encodeUtf8(JSON.stringify(fields)))
    .toString(16)
    .padStart(16, "0");
}

/** Opens a composed-directory image (reads manifest.json; sections and pages on first use). */
export function openDirectory(dir: DirectorySource, options: OpenOptions = {}): CheckpointReader {
  const limits = { ...DEFAULT_READER_LIMITS, ...options.limits };
  const where = `${dir.name}/${MANIFEST}`;
  return guard(dir.name, () => {
    const mf = dir.openFile(MANIFEST);
    if (mf.size() > MAX_MANIFEST_BYTES) {
      throw new CheckpointError(
        "LIMIT_EXCEEDED",
        `manifest of ${mf.size()} bytes`,
        where,
        0,
        `≤ ${MAX_MANIFEST_BYTES}`,
      );
    }
    let m: Record<string, unknown>;
    try {
      const text = decodeUtf8(readExactly(mf, 0, mf.size(), "manifest"));
      if (text === undefined) throw new ManifestError("not UTF-8");
      const parsed: unknown = JSON.parse(text);
      if (!isObj(parsed)) throw new ManifestError("not a JSON object");
      m = parsed;
    } catch (x) {
      throw new CheckpointError(
        "BAD_MAGIC",
        `not a checkpoint manifest: ${(x as Error).message}`,
        where,
        0,
        "JSON",
      );
    }
    if (m.format !== DIRECTORY_FORMAT) {
      throw new CheckpointError(
        "BAD_MAGIC",
        `"format" is ${JSON.stringify(m.format)}`,
        where,
        undefined,
        `"${DIRECTORY_FORMAT}"`,
      );
    }
    if (m.formatVersion !== FORMAT_VERSION) {
      throw new CheckpointError(
        "UNSUPPORTED_VERSION",
        `format version ${JSON.stringify(m.formatVersion)}`,
        where,
        undefined,
        `${FORMAT_VERSION}`,
      );
    }
    const { checksum, ...covered } = m;
    if (typeof checksum !== "string" || !/^[0-9a-f]{16}$/.test(checksum)) {
      throw new CheckpointError(
        "CORRUPT",
        '"checksum" is missing or not 16 hex digits',
        where,
        undefined,
        "xxh64 of the other fields",
      );
    }
    const actual = manifestChecksum(covered);
    if (actual !== checksum) {
      throw new CheckpointError(
        "CHECKSUM_MISMATCH",
        `manifest fields changed since it was written (checksum ${actual}, stored ${checksum})`,
        where,
        undefined,
        "the fields the stored checksum covers",
      );
    }
    try {
      const creator = field(m, "creator", isObj, "an object");
      const features = field(m, "features", isObj, "an object");
      const parent = m.parent === null ? null : field(m, "parent", isObj, "an object or null");
      const byteOrder = field(
        m,
        "byteOrder",
        (v): v is string => v === "little" || v === "big",
        '"little" or "big"',
      );
      const le = byteOrder === "little";
      const ic = field(
        m,
        "instructionCount",
        (v): v is string => isStr(v) && /^[0-9]{1,20}$/.test(v),
        "a decimal string",
      );
      const header: HeaderFields = {
        formatVersion: FORMAT_VERSION,
        littleEndian: le,
        headerLength: 0,
        incompatibleFeatures: field(features, "incompatible", isU32, "a u32"),
        compatibleFeatures: field(features, "compatible", isU32, "a u32"),
        autoclearFeatures: field(features, "autoclear", isU32, "a u32"),
        dataSize: 0,
        instructionCount: BigInt(ic),
        createdAt: field(
          m,
          "createdAt",
          (v): v is number => typeof v === "number" && Number.isSafeInteger(v),
          "an integer",
        ),
        flags: field(m, "flags", isU32, "a u32"),
        machine: field(m, "machine", isStr, "a string"),
        creatorName: field(creator, "name", isStr, "a string"),
        creatorVersion: field(creator, "version", isStr, "a string"),
        parentDigest: parent
          ? fromHex(field(parent, "digest", isHash, "64 hex digits"))!
          : new Uint8Array(DIGEST_BYTES),
        parentHint: parent ? field(parent, "hint", isStr, "a string") : "",
        searchPath:
          m.searchPath === undefined
            ? []
            : field(
                m,
                "searchPath",
                (v): v is string[] =>
                  Array.isArray(v) && v.every((d) => isStr(d) && d !== "" && !d.includes("\0")),
                "an array of directory names",
              ),
      };
      if (header.instructionCount >= 1n << 64n) throw new ManifestError('"instructionCount" must fit a u64');
      const digest = fromHex(field(m, "digest", isHash, "64 hex digits"))!;
      const secs = field(m, "sections", Array.isArray, "an array") as unknown[];
      const segs = field(m, "segments", Array.isArray, "an array") as unknown[];
      if (secs.length > limits.maxSections)
        throw new CheckpointError(
          "LIMIT_EXCEEDED",
          `${secs.length} sections`,
          where,
          undefined,
          `≤ ${limits.maxSections}`,
        );
      if (segs.length > limits.maxSegments)
        throw new CheckpointError(
          "LIMIT_EXCEEDED",
          `${segs.length} segments`,
          where,
          undefined,
          `≤ ${limits.maxSegments}`,
        );
      const sectionFiles = new Map<string, string>();
      const sections: SectionEntry[] = secs.map((s, i) => {
        if (!isObj(s)) throw new ManifestError(`sections[${i}] must be an object`);
        const e: SectionEntry = {
          name: field(s, "name", isStr, "a string"),
          version: field(s, "version", isU32, "a u32"),
          minVersion: field(s, "minVersion", isU32, "a u32"),
          offset: 0,
          length: field(s, "length", isU32, "a u32"),
          hash: fromHex(field(s, "blake3", isHash, "64 hex digits"))!,
        };
        sectionFiles.set(e.name, field(s, "file", isStr, "a string"));
        return e;
      });
      const segmentFiles = new Map<string, { file: string; ranges: Uint32Array }>();
      const segments: SegmentEntry[] = segs.map((g, i) => {
        if (!isObj(g)) throw new ManifestError(`segments[${i}] must be an object`);
        const pageSize = field(g, "pageSize", isU32, "a u32");
        const pages = field(g, "pages", Array.isArray, "an array of [first, count]") as unknown[];
        if (pages.length > limits.maxRanges)
          throw new CheckpointError(
            "LIMIT_EXCEEDED",
            `segments[${i}]: ${pages.length} ranges`,
            where,
            undefined,
            `≤ ${limits.maxRanges}`,
          );
        const ranges = new Uint32Array(pages.length * 2);
        pages.forEach((r, j) => {
          if (!Array.isArray(r) || r.length !== 2 || !isU32(r[0]) || !isU32(r[1]))
            throw new ManifestError(`segments[${i}].pages[${j}] must be [first, count]`);
          ranges[j * 2] = r[0];
          ranges[j * 2 + 1] = r[1];
        });
        const baseText = field(
          g,
          "base",
          (v): v is string => isStr(v) && /^0x[0-9a-f]{1,16}$/.test(v),
          "a hex string",
        );
        const e: SegmentEntry = {
          name: field(g, "name", isStr, "a string"),
          base: BigInt(baseText),
          size: field(g, "size", isSafe, "a non-negative integer"),
          pageShift: Math.log2(pageSize),
          initByte: field(g, "initByte", isByte, "a byte"),
          flags: field(g, "flags", isU32, "a u32"),
          pageMapOffset: 0,
          rangeCount: pages.length,
          storedPages: field(g, "storedPages", isU32, "a u32"),
          dataOffset: 0,
          dataLength: field(g, "dataLength", isSafe, "a non-negative integer"),
          pageMapHash: fromHex(field(g, "pageMapBlake3", isHash, "64 hex digits"))!,
          dataHash: fromHex(field(g, "blake3", isHash, "64 hex digits"))!,
        };
        if (!Number.isInteger(e.pageShift))
          throw new ManifestError(`segments[${i}].pageSize ${pageSize} is not a power of two`);
        segmentFiles.set(e.name, { file: field(g, "file", isStr, "a string"), ranges });
        return e;
      });
      for (const f of [...sectionFiles.values(), ...[...segmentFiles.values()].map((s) => s.file)]) {
        if (f.startsWith("/") || f.split("/").includes(".."))
          throw new ManifestError(`file "${f}" leaves the directory`);
      }
      const store = new DirStore(dir, sectionFiles, segmentFiles, le);
      return new CheckpointReader(store, header, sections, segments, digest, options);
    } catch (x) {
      if (x instanceof ManifestError)
        throw new CheckpointError("CORRUPT", x.message, where, undefined, "a valid manifest");
      throw x;
    }
  });
}

setOpenDirectory(openDirectory);
