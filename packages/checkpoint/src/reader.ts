import type { BlockFile } from "@amber/image";
import { decodeSectionFields, type FieldRecord } from "./fields.js";
import { blake3, equalBytes, toHex } from "./hash.js";
import {
  DEFAULT_READER_LIMITS,
  type HeaderFields,
  INCOMPAT_INCREMENTAL,
  type ReaderLimits,
  type SectionEntry,
  type SegmentEntry,
} from "./layout.js";
import { checkLayout } from "./layout-check.js";
import { checkParentSegments, openParent } from "./parent-chain.js";
import { err, guard } from "./read-errors.js";
import type { OpenOptions, PartStore, Section, SectionSpec } from "./reader-types.js";
import { asSpecified, checkSectionVersion } from "./section-versions.js";
import { SegmentReader } from "./segment-reader.js";
import { FileStore, parseFile } from "./single-file.js";

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
      return new CheckpointReader(new FileStore(file, sections), header, sections, segments, digest, options);
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
    this.parent =
      this.isIncremental && !options.withoutParent
        ? openParent(this, options, CheckpointReader.open)
        : undefined;
    this.segments = segments.map((e) => new SegmentReader(this, e, options));
    if (this.parent) checkParentSegments(this, this.parent);
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
    if (spec !== undefined) checkSectionVersion(e, spec, this.header, this.name);
    let fields = this.decoded.get(name);
    if (fields === undefined) {
      const bytes = this.sectionBytes(name);
      fields = guard(this.name, () =>
        decodeSectionFields(bytes, h.littleEndian, false, this.name, e.offset, name),
      );
      this.decoded.set(name, fields);
    }
    const out = spec === undefined ? { ...fields } : asSpecified(fields, e, spec);
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
