import { equalBytes, toHex } from "./hash.js";
import {
  computeDigest,
  type HeaderFields,
  INCOMPAT_DELTA,
  INCOMPAT_INCREMENTAL,
  isZero,
  KNOWN_INCOMPAT,
  KNOWN_SEGMENT_FLAGS,
  type ReaderLimits,
  SEGMENT_FLAG_DELTA,
  type SectionEntry,
  type SegmentEntry,
} from "./layout.js";
import { err } from "./read-errors.js";

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

/** Incompatible feature bits this reader does not know mean the image cannot be read correctly. */
export function refuseUnknownIncompatible(header: HeaderFields, name: string): void {
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
