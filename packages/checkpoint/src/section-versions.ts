import type { FieldRecord } from "./fields.js";
import type { HeaderFields, SectionEntry } from "./layout.js";
import { err } from "./read-errors.js";
import type { SectionSpec } from "./reader-types.js";

// A section's version against what the reader knows (QEMU vmstate's version_id and
// minimum_version_id), and its fields brought to the reader's version.

/** Refuses a section written by a newer incompatible version, or older than `spec` still loads. */
export function checkSectionVersion(e: SectionEntry, spec: SectionSpec, h: HeaderFields, file: string): void {
  const name = e.name;
  if (e.minVersion > spec.version) {
    err(
      "SECTION_TOO_NEW",
      `section "${name}" is version ${e.version} and needs a reader of version ≥ ${e.minVersion}; this reader knows version ${spec.version} (image written by ${h.creatorName} ${h.creatorVersion})`,
      file,
      e.offset,
      `minimum version ≤ ${spec.version}`,
    );
  }
  if (e.version < spec.minVersion) {
    err(
      "SECTION_TOO_OLD",
      `section "${name}" is version ${e.version}; this reader loads versions ${spec.minVersion}..${spec.version} (image written by ${h.creatorName} ${h.creatorVersion})`,
      file,
      e.offset,
      `version ≥ ${spec.minVersion}`,
    );
  }
}

/** The stored fields (not modified) upgraded from an older version, then missing ones given their defaults. */
export function asSpecified(fields: FieldRecord, e: SectionEntry, spec: SectionSpec): FieldRecord {
  let out: FieldRecord = { ...fields };
  if (e.version < spec.version && spec.upgrade) out = spec.upgrade(out, e.version);
  for (const [k, v] of Object.entries(spec.defaults ?? {})) if (!(k in out)) out[k] = v;
  return out;
}
