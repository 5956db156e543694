/**
 * Byte layout of the framed page image (docs/FORMAT.md is the normative description; the
 * constants here must match its tables). All integers little-endian.
 */

/** "\x8AAMBPG\r\n": the high byte and CR LF catch 7-bit and newline-mangling transfers. */
export const HEADER_MAGIC = Uint8Array.of(0x8a, 0x41, 0x4d, 0x42, 0x50, 0x47, 0x0d, 0x0a);
/** "\x8AAMBEND\n": the last 8 bytes of a complete file; a cut-off file lacks them. */
export const FOOTER_MAGIC = Uint8Array.of(0x8a, 0x41, 0x4d, 0x42, 0x45, 0x4e, 0x44, 0x0a);

export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 32;
export const FOOTER_SIZE = 40;
export const INDEX_ENTRY_SIZE = 40;

/** Incompatible feature: DELTA / BASE_RUN records present; pages need the parent's base page. */
export const INCOMPAT_BASE = 1 << 0;
export const KNOWN_INCOMPAT = INCOMPAT_BASE;
/** Compatible feature: the writer deduplicated pages (REF records may appear). Informative. */
export const COMPAT_DEDUP = 1 << 0;

export const MIN_PAGE_SHIFT = 9;
export const MAX_PAGE_SHIFT = 20;

/** Page record kinds inside a decoded block. */
export const RECORD_FILL_RUN = 0;
export const RECORD_REF = 1;
export const RECORD_RAW = 2;
export const RECORD_DELTA = 3;
export const RECORD_BASE_RUN = 4;

export interface IndexEntry {
  offset: number;
  storedLength: number;
  rawLength: number;
  firstPage: number;
  pageCount: number;
  codecId: number;
  checksum: bigint;
}
