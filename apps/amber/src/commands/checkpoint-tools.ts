import * as path from "node:path";
import {
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
import { diffImages, formatImageDiff } from "@amber/monitor";
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
        writeOut(formatImageDiff(d, pa, pb, a));
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
    .requiredOption("--layout <layout>", "file (one .amber file) or dir (a directory with manifest.json)")
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
    .argument("<a>", "an image file or a registry REF")
    .argument("<b>", "an image file or a registry REF")
    .option("--json", "print JSON")
    .option("--cache <dir>", "chunk cache for a REF")
    .addHelpText(
      "after",
      `
Sections are compared field by field (by name), RAM pages by content.
Exit status 0 if the states are the same, 1 if they differ, 125 if an image cannot be read.`,
    )
    .action((a: string, b: string, o) => setStatus(diffCommand(writeOut, a, b, o.json === true)));
}
