import * as path from "node:path";
import {
  type CheckpointReader,
  type FieldValue,
  inputOfReader,
  CheckpointReader as Reader,
  writeCheckpoint,
  writeDirectoryLayout,
} from "@amber/checkpoint";
import {
  convertCheckpoint,
  squashCheckpoint,
  writeCheckpointFile,
  writeDirectoryAtomic,
} from "@amber/checkpoint/node";
import { MemoryBlockFile } from "@amber/image";
import { SECTION_SPECS } from "@amber/machine";
import type { Command } from "commander";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";

const CODECS = ["none", "lz4", "zstd"];

function parseLevel(level: string | undefined): number | undefined {
  if (level === undefined) return undefined;
  if (!/^-?\d+$/.test(level)) {
    throw new UserError(`--level: cannot read "${level}" as a whole number`, ExitCode.Usage);
  }
  return Number(level);
}

/** `amber convert A B --layout file|dir [--codec C] [--level N]`. */
function convertCommand(
  writeOut: (t: string) => void,
  src: string,
  dst: string,
  options: { layout?: string; codec?: string; level?: string },
): number {
  const layout =
    options.layout === "file"
      ? "file"
      : options.layout === "dir" || options.layout === "directory"
        ? "directory"
        : undefined;
  if (layout === undefined) {
    throw new UserError(`--layout: give "file" or "dir", not "${options.layout}"`, ExitCode.Usage);
  }
  if (options.codec !== undefined && !CODECS.includes(options.codec)) {
    throw new UserError(`--codec: give one of ${CODECS.join(", ")}, not "${options.codec}"`, ExitCode.Usage);
  }
  const level = parseLevel(options.level);
  if (level !== undefined && options.codec === undefined) {
    throw new UserError("--level needs --codec", ExitCode.Usage);
  }
  if (path.resolve(src) === path.resolve(dst)) {
    throw new UserError("convert: the output must not be the input", ExitCode.Usage);
  }
  let digest: string;
  if (options.codec === undefined) {
    try {
      digest = convertCheckpoint(src, dst, layout, { sections: SECTION_SPECS });
    } catch (e) {
      return checkpointFailure(e, src);
    }
  } else {
    // Re-encoding the page blocks: the same state, stored with another codec.
    const reader = openImage(src);
    try {
      const input = { ...inputOfReader(reader, false), codec: options.codec, level };
      if (layout === "file") digest = writeCheckpointFile(dst, input).digest;
      else {
        const mem = new MemoryBlockFile();
        writeCheckpoint(mem, input);
        const encoded = Reader.open(mem, { parent: reader.parent });
        digest = "";
        writeDirectoryAtomic(dst, (dir) => {
          digest = writeDirectoryLayout(encoded, dir);
        });
      }
    } catch (e) {
      return checkpointFailure(e, src);
    } finally {
      reader.close();
    }
  }
  writeOut(`${dst}: ${digest}\n`);
  return ExitCode.Ok;
}

/** `amber squash PATH OUT`: the chain ending at PATH as one full image. */
function squashCommand(writeOut: (t: string) => void, src: string, dst: string): number {
  if (path.resolve(src) === path.resolve(dst)) {
    throw new UserError("squash: the output must not be the input", ExitCode.Usage);
  }
  let digest: string;
  try {
    digest = squashCheckpoint(src, dst, { sections: SECTION_SPECS }).digest;
  } catch (e) {
    return checkpointFailure(e, src);
  }
  writeOut(`${dst}: ${digest}\n`);
  return ExitCode.Ok;
}

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

function samePage(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface SectionDiff {
  name: string;
  /** Only in one image: "a" or "b". */
  onlyIn?: "a" | "b";
  fields: { name: string; a: string; b: string }[];
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
    for (const f of [...new Set([...Object.keys(fa), ...Object.keys(fb)])]) {
      if (!sameValue(fa[f], fb[f])) fields.push({ name: f, a: showValue(fa[f]), b: showValue(fb[f]) });
    }
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
    const pages = candidates.filter((p) => !samePage(sa.readPage(p).slice(), sb.readPage(p)));
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

/** `amber diff A B [--json]`: exit 0 identical, 1 different (as cmp). */
function diffCommand(writeOut: (t: string) => void, pa: string, pb: string, json: boolean): number {
  const a = openImage(pa);
  try {
    const b = openImage(pb);
    try {
      let d: ReturnType<typeof diffImages>;
      try {
        d = diffImages(a, b);
      } catch (e) {
        return checkpointFailure(e, `${pa} or ${pb}`);
      }
      if (json) writeOut(`${JSON.stringify(d, null, 2)}\n`);
      else {
        const lines: string[] = [];
        if (d.instructions) lines.push(`instructions: ${d.instructions.a} vs ${d.instructions.b}`);
        for (const s of d.sections) {
          if (s.onlyIn) lines.push(`section ${s.name}: only in ${s.onlyIn === "a" ? pa : pb}`);
          for (const f of s.fields) lines.push(`${s.name}.${f.name}: ${f.a} vs ${f.b}`);
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
        writeOut(`${lines.join("\n")}\n`);
      }
      return d.identical ? ExitCode.Ok : 1;
    } finally {
      b.close();
    }
  } finally {
    a.close();
  }
}

export function registerCheckpointToolCommands(
  program: Command,
  writeOut: (t: string) => void,
  setStatus: (s: number) => void,
): void {
  program
    .command("convert")
    .description("Convert a checkpoint between the single-file and directory layouts (same digest).")
    .argument("<checkpoint>")
    .argument("<out>")
    .requiredOption("--layout <layout>", "file (one .ambc file) or dir (a directory with manifest.json)")
    .option("--codec <codec>", "re-encode the page data: none, lz4 or zstd (the digest then changes)")
    .option("--level <n>", "compression level for --codec")
    .addHelpText(
      "after",
      `
Without --codec the conversion is lossless: the same blocks, the same digest. Prints the
output's digest. Exit status 125 for an unreadable or damaged image, 2 for a bad command line.`,
    )
    .action((src: string, dst: string, o) => setStatus(convertCommand(writeOut, src, dst, o)));
  program
    .command("squash")
    .description("Write an incremental checkpoint and its parents as one full image.")
    .argument("<checkpoint>")
    .argument("<out>")
    .addHelpText(
      "after",
      `
The output resumes exactly as the input does and needs no parent. Prints its digest.
Exit status 125 for an unreadable image or a missing parent.`,
    )
    .action((src: string, dst: string) => setStatus(squashCommand(writeOut, src, dst)));
  program
    .command("diff")
    .description("Show which registers, CSR fields and RAM pages differ between two checkpoints.")
    .argument("<a>")
    .argument("<b>")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Sections are compared field by field (by name), RAM pages by content.
Exit status 0 if the states are the same, 1 if they differ, 125 if an image cannot be read.`,
    )
    .action((a: string, b: string, o) => setStatus(diffCommand(writeOut, a, b, o.json === true)));
}
