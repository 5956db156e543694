import type { CheckpointReader, FieldValue } from "@amber/checkpoint";
import { pagesEqual } from "@amber/compress";
import { registerName } from "@amber/isa";

function sameValue(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<number | bigint>;
    const y = b as unknown as ArrayLike<number | bigint>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameValue(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, FieldValue>;
  return ka.every((k) => k in rb && sameValue((a as Record<string, FieldValue>)[k], rb[k]));
}

function showValue(v: FieldValue | undefined): string {
  if (v === undefined) return "(absent)";
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
  if (typeof v === "bigint") return `0x${v.toString(16)}`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return String(v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${(v as unknown as ArrayLike<unknown>).length}]`;
  return Array.isArray(v) ? `[${v.length} records]` : "{record}";
}

interface FieldDiff {
  /** The field, or one element of an array field (`x10`, `pmpaddr3`, `mrom[12]`). */
  name: string;
  /** Another name for it (a register's ABI name: `a0`). */
  alias?: string;
  a: string;
  b: string;
}

interface SectionDiff {
  name: string;
  /** Only in one image: "a" or "b". */
  onlyIn?: "a" | "b";
  fields: FieldDiff[];
}

/** Arrays up to this long are compared element by element, one line per element that differs. */
const MAX_ELEMENT_LINES = 64;

/** Names of an array field's elements: the hart's registers, PMP entries; else `field[i]`. */
function elementName(section: string, field: string, i: number): { name: string; alias?: string } {
  if (/^hart\d+$/.test(section) && field === "x") return { name: `x${i}`, alias: registerName(i) };
  if (/^csr\d+$/.test(section) && (field === "pmpaddr" || field === "pmpcfg"))
    return { name: `${field}${i}` };
  return { name: `${field}[${i}]` };
}

const element = (v: number | bigint): string =>
  typeof v === "bigint" ? `0x${v.toString(16)}` : `0x${(v >>> 0).toString(16)}`;

/**
 * The differences of one field. Typed arrays are compared element by element: registers
 * and CSR arrays line by line with their names and values, long arrays (a boot ROM) as a
 * count and the first element that differs.
 */
function fieldDiffs(
  section: string,
  field: string,
  a: FieldValue | undefined,
  b: FieldValue | undefined,
): FieldDiff[] {
  if (sameValue(a, b)) return [];
  if (
    ArrayBuffer.isView(a) &&
    ArrayBuffer.isView(b) &&
    a.constructor === b.constructor &&
    !(a instanceof DataView) &&
    !(b instanceof DataView)
  ) {
    const x = a as unknown as ArrayLike<number | bigint>;
    const y = b as unknown as ArrayLike<number | bigint>;
    const n = Math.max(x.length, y.length);
    const differing: number[] = [];
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) differing.push(i);
    const show = (arr: ArrayLike<number | bigint>, i: number) =>
      i < arr.length ? element(arr[i] as number | bigint) : "(absent)";
    if (n <= MAX_ELEMENT_LINES)
      return differing.map((i) => ({ ...elementName(section, field, i), a: show(x, i), b: show(y, i) }));
    const first = differing[0] as number;
    return [
      {
        name: field,
        a: `${differing.length} of ${n} elements differ, first [${first}] = ${show(x, first)}`,
        b: show(y, first),
      },
    ];
  }
  return [{ name: field, a: showValue(a), b: showValue(b) }];
}
interface SegmentDiff {
  name: string;
  onlyIn?: "a" | "b";
  /** Geometry (base, size, page size, init byte) differs: pages not compared. */
  geometry?: boolean;
  pages: number[];
}

/** What differs between two images: sections' fields by name, RAM pages by content. */
export function diffImages(a: CheckpointReader, b: CheckpointReader) {
  const sections: SectionDiff[] = [];
  const names = [...new Set([...a.sectionNames, ...b.sectionNames])];
  for (const name of names) {
    const inA = a.sectionNames.includes(name);
    const inB = b.sectionNames.includes(name);
    if (!inA || !inB) {
      sections.push({ name, onlyIn: inA ? "a" : "b", fields: [] });
      continue;
    }
    const fa = a.section(name).fields as Record<string, FieldValue>;
    const fb = b.section(name).fields as Record<string, FieldValue>;
    const fields: SectionDiff["fields"] = [];
    for (const f of [...new Set([...Object.keys(fa), ...Object.keys(fb)])])
      fields.push(...fieldDiffs(name, f, fa[f], fb[f]));
    if (fields.length > 0) sections.push({ name, fields });
  }
  const segments: SegmentDiff[] = [];
  const segNames = [...new Set([...a.segments.map((s) => s.name), ...b.segments.map((s) => s.name)])];
  for (const name of segNames) {
    const sa = a.findSegment(name);
    const sb = b.findSegment(name);
    if (sa === undefined || sb === undefined) {
      segments.push({ name, onlyIn: sa ? "a" : "b", pages: [] });
      continue;
    }
    if (
      sa.base !== sb.base ||
      sa.size !== sb.size ||
      sa.pageSize !== sb.pageSize ||
      sa.initByte !== sb.initByte
    ) {
      segments.push({ name, geometry: true, pages: [] });
      continue;
    }
    const candidates = [...new Set([...sa.presentPages(), ...sb.presentPages()])].sort((x, y) => x - y);
    const pages = candidates.filter((p) => !pagesEqual(sa.readPage(p).slice(), sb.readPage(p)));
    if (pages.length > 0) segments.push({ name, pages });
  }
  const instructions =
    a.header.instructionCount === b.header.instructionCount
      ? undefined
      : { a: a.header.instructionCount.toString(), b: b.header.instructionCount.toString() };
  return {
    identical: sections.length === 0 && segments.length === 0,
    digests: { a: a.digest, b: b.digest },
    instructions,
    sections,
    segments,
  };
}

/** Type of what `diffImages` finds. */
export type ImageDiff = ReturnType<typeof diffImages>;

/** `amber diff`'s text: one line per differing field, per segment a count and the first pages. */
export function formatImageDiff(d: ImageDiff, pa: string, pb: string, a: CheckpointReader): string {
  const lines: string[] = [];
  if (d.instructions) lines.push(`instructions: ${d.instructions.a} vs ${d.instructions.b}`);
  for (const s of d.sections) {
    if (s.onlyIn) lines.push(`section ${s.name}: only in ${s.onlyIn === "a" ? pa : pb}`);
    for (const f of s.fields)
      lines.push(`${s.name}.${f.name}${f.alias === undefined ? "" : ` (${f.alias})`}: ${f.a} vs ${f.b}`);
  }
  for (const g of d.segments) {
    if (g.onlyIn) lines.push(`segment ${g.name}: only in ${g.onlyIn === "a" ? pa : pb}`);
    else if (g.geometry) lines.push(`segment ${g.name}: different base, size, page size or init byte`);
    else {
      const seg = a.segment(g.name);
      const shown = g.pages
        .slice(0, 32)
        .map((p) => `0x${(seg.base + BigInt(p * seg.pageSize)).toString(16)}`);
      lines.push(
        `${g.name}: ${g.pages.length} page${g.pages.length === 1 ? "" : "s"} differ: ${shown.join(" ")}${g.pages.length > 32 ? " ..." : ""}`,
      );
    }
  }
  if (d.identical) lines.push(`${pa} and ${pb}: same state`);
  return `${lines.join("\n")}\n`;
}
