import { statSync } from "node:fs";
import { compactCheckpointFile } from "@amber/checkpoint/node";
import { SECTION_SPECS } from "@amber/machine";
import type { Command } from "commander";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";
import { checkpointFailure } from "./checkpoint-open.js";

/** Codecs compact may store with (the fast ones are what saves use). */
const CODECS = ["zstd", "lz4", "none"];

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** `amber compact IMAGE [--codec C] [--level N] [--json]`: recompress in place, digest kept. */
function compactCommand(
  writeOut: (t: string) => void,
  image: string,
  options: { codec?: string; level?: string; json?: boolean },
): number {
  const codec = options.codec ?? "zstd";
  if (!CODECS.includes(codec)) {
    throw new UserError(`--codec: give one of ${CODECS.join(", ")}, not "${codec}"`, ExitCode.Usage);
  }
  let level: number | undefined;
  if (options.level !== undefined) {
    if (!/^-?\d+$/.test(options.level)) {
      throw new UserError(`--level: cannot read "${options.level}" as a whole number`, ExitCode.Usage);
    }
    level = Number(options.level);
  }
  const before = fileSize(image);
  let digest: string;
  let after: number;
  try {
    ({ digest, size: after } = compactCheckpointFile(image, { sections: SECTION_SPECS, codec, level }));
  } catch (e) {
    return checkpointFailure(e, image);
  }
  if (options.json === true) {
    writeOut(`${JSON.stringify({ image, digest, codec, bytesBefore: before, bytesAfter: after })}\n`);
  } else {
    writeOut(`${image}: ${digest} (${before} → ${after} bytes, ${codec})\n`);
  }
  return ExitCode.Ok;
}

export function registerCompactCommand(
  program: Command,
  writeOut: (t: string) => void,
  setStatus: (s: number) => void,
): void {
  program
    .command("compact")
    .description("Recompress a checkpoint's page data in place (zstd by default); the digest stays the same.")
    .argument("<checkpoint>", "a single-file image (.ambc)")
    .option("--codec <codec>", `store the pages with: ${CODECS.join(", ")}`, "zstd")
    .option("--level <n>", "compression level (zstd: 1..19, default 3)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Saves store pages uncompressed, which is fastest; compact an image you keep or ship
(smaller, slower to write, as fast to resume). The content and the digest stay the same, so
incremental images naming it as their parent still resume. Written to a temporary file,
read back and renamed over the image: an interrupted compact leaves the image as it was.
Prints the digest. Exit status 125 for an unreadable or damaged image, 2 for a bad command line.`,
    )
    .action((image: string, o) => setStatus(compactCommand(writeOut, image, o)));
}
