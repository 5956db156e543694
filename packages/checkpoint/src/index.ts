export type { BlockFile } from "@amber/image";
export { MemoryBlockFile } from "@amber/image";
export { type CompactOptions, type CompactResult, compactCheckpoint } from "./compact.js";
export {
  DIRECTORY_FORMAT,
  type DirectorySink,
  MANIFEST,
  MemoryDirectory,
  openDirectory,
  safeFileName,
  writeDirectoryLayout,
  writeSingleFile,
} from "./directory.js";
export { CheckpointError, type CheckpointErrorCode, isCheckpointError } from "./errors.js";
export {
  decodeSectionFields,
  encodeSectionFields,
  type FieldRecord,
  type FieldType,
  type FieldValue,
  recordFromJson,
  recordToJson,
  Typed,
  typed,
} from "./fields.js";
export { type Blake3Backend, blake3, initCheckpoint, useBlake3Backend } from "./hash.js";
export { inputOfReader } from "./input-of-reader.js";
export {
  COMPAT_SQUASHED,
  DEFAULT_READER_LIMITS,
  FORMAT_VERSION,
  type HeaderFields,
  INCOMPAT_DELTA,
  INCOMPAT_INCREMENTAL,
  type ReaderLimits,
  type SectionEntry,
  type SegmentEntry,
} from "./layout.js";
export { CheckpointReader } from "./reader.js";
export type {
  DirectorySource,
  OpenOptions,
  ParentLocation,
  ParentRef,
  Section,
  SectionSpec,
} from "./reader-types.js";
export { SegmentReader } from "./segment-reader.js";
export { type SquashOptions, squash } from "./squash.js";
export {
  type CheckpointInput,
  type PageEntry,
  type PageInput,
  type SectionInput,
  type SegmentInput,
  type WriteResult,
  writeCheckpoint,
} from "./writer.js";
