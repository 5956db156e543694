import type { ByteSource, DecodeLimits } from "@amber/compress";
import type { BlockFile } from "@amber/image";
import type { FieldRecord } from "./fields.js";
import type { ReaderLimits, SectionEntry, SegmentEntry } from "./layout.js";
import type { CheckpointReader } from "./reader.js";

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
