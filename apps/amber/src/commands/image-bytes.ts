import * as fs from "node:fs";
import * as path from "node:path";
import {
  IMAGE_FORMATS,
  type Image,
  type ImageFormat,
  isImageFormat,
  openImage,
  saveDiff,
} from "@amber/image";
import { nodeImageHost, writeFileAtomic } from "@amber/image/node";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { parseCount, parseSize } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { imageUserError } from "./image-disks.js";

/**
 * Byte access to an image through the same layer stack the machine sees (Simics' image
 * kit): `amber image read IMG OFFSET LEN` and `amber image write IMG OFFSET < data`.
 */

function formatOption(name: string | undefined): ImageFormat | undefined {
  if (name === undefined) return undefined;
  if (!isImageFormat(name))
    throw new UserError(`-f ${name}: unknown format (${IMAGE_FORMATS.join(", ")})`, ExitCode.Usage);
  return name;
}

/** A byte offset or count: decimal (4096, 1e6), with a binary unit (64K, 1M) or hexadecimal (0x1000). */
function count(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text)
    ? Number.parseInt(text.slice(2), 16)
    : /[kmg]/i.test(text)
      ? parseSize(text)
      : parseCount(text);
  if (Number.isNaN(n))
    throw new UserError(`${what}: cannot read "${text}" as a whole number`, ExitCode.Usage);
  return n;
}

/** Refuses a range outside the image (one line naming it and the image's size). */
function checkRange(file: string, image: Image, offset: number, length: number): void {
  if (offset + length > image.size) {
    throw new UserError(
      `${file}: bytes ${offset}..${offset + length} lie past the end of the image (${image.size} bytes)`,
      ExitCode.Usage,
    );
  }
}

/** `hexdump -C`'s layout: offset, 16 bytes in two groups of 8, the printable ones between bars. */
export function hexDump(bytes: Uint8Array, start: number): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    let hex = "";
    let text = "";
    for (let j = 0; j < 16; j++) {
      if (j === 8) hex += " ";
      const b = row[j];
      hex += b === undefined ? "   " : ` ${b.toString(16).padStart(2, "0")}`;
      if (b !== undefined) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
    }
    out += `${(start + i).toString(16).padStart(8, "0")} ${hex}  |${text}|\n`;
  }
  return out;
}

/** `amber image read IMG OFFSET LEN [--raw]`: the bytes as the machine would read them. */
export function imageRead(
  env: CliEnv,
  writeOut: (t: string) => void,
  file: string,
  offsetText: string,
  lengthText: string,
  o: { format?: string; raw?: boolean },
): number {
  const offset = count(offsetText, "OFFSET");
  const length = count(lengthText, "LEN");
  let image: Image | undefined;
  try {
    image = openImage(nodeImageHost, file, { format: formatOption(o.format) });
    checkRange(file, image, offset, length);
    const bytes = image.read(offset, length);
    if (o.raw) env.io.stdout(bytes);
    else writeOut(hexDump(bytes, offset));
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    image?.close();
  }
}

/** All of the guest-side stdin (the CLI's input), until its end. */
function readAllInput(env: CliEnv): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = env.io.stdin(1 << 16);
    if (chunk === null) break;
    if (chunk.length === 0) continue;
    parts.push(chunk.slice());
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `amber image write IMG OFFSET [-o TOP] [--in-place] < data`: writes stdin at OFFSET. By
 * default into a new top layer (a diff file over IMG, which stays unchanged; qcow2 over a
 * qcow2, else Amber); `--in-place` writes into IMG itself (raw, qcow2 and vhdx only).
 */
export function imageWrite(
  env: CliEnv,
  file: string,
  offsetText: string,
  o: { format?: string; output?: string; inPlace?: boolean },
): number {
  const offset = count(offsetText, "OFFSET");
  if (o.inPlace && o.output !== undefined) {
    throw new UserError("--in-place writes into the image itself: drop -o", ExitCode.Usage);
  }
  const data = readAllInput(env);
  if (data.length === 0)
    throw new UserError(
      `${file}: nothing on stdin to write at ${offset} (amber image write IMG OFFSET < data); nothing written`,
      ExitCode.Usage,
    );
  let image: Image | undefined;
  try {
    image = openImage(nodeImageHost, file, { format: formatOption(o.format), writable: o.inPlace === true });
    checkRange(file, image, offset, data.length);
    const top = image.layers[image.layers.length - 1]!;
    if (o.inPlace) {
      if (!image.writeThrough) {
        throw new UserError(
          `${file}: a ${top.format} layer cannot be written in place: write a new top layer (drop --in-place)`,
          ExitCode.Failure,
        );
      }
      image.write(offset, data);
      image.sync();
      env.stderr(`amber: wrote ${data.length} bytes at ${offset} into ${file}\n`);
      return ExitCode.Ok;
    }
    const format: ImageFormat = top.format === "qcow2" ? "qcow2" : "amber";
    const output = o.output ?? `${file}.top.${format === "qcow2" ? "qcow2" : "amberdisk"}`;
    if (fs.existsSync(output)) {
      throw new UserError(
        `${output}: exists; name the new top layer with -o (an image is never overwritten)`,
        ExitCode.Usage,
      );
    }
    image.write(offset, data);
    const img = image;
    const backingName = path.relative(path.dirname(path.resolve(output)), path.resolve(file));
    writeFileAtomic(output, (f) => saveDiff(img, f, { format, backingName, backingFormat: top.format }));
    env.stderr(
      `amber: wrote ${data.length} bytes at ${offset} into a new top layer ${output} over ${file}\n`,
    );
    return ExitCode.Ok;
  } catch (e) {
    return imageUserError(e);
  } finally {
    image?.close();
  }
}

/** Adds `read` and `write` to the `amber image` command (registered by image.ts). */
export function registerImageByteCommands(
  program: Command,
  env: CliEnv,
  writeOut: (t: string) => void,
  setStatus: (s: number) => void,
): void {
  const image = program.commands.find((c) => c.name() === "image");
  if (image === undefined) throw new Error("amber image is not registered");
  image
    .command("read")
    .description("Print LEN bytes at OFFSET as the machine reads them (all layers): hex and ASCII, or --raw.")
    .argument("<file>")
    .argument("<offset>", "byte offset (e.g. 4096, 64K, 0x1000)")
    .argument("<len>", "number of bytes")
    .option("-f <format>", "format of the file (default: detected)")
    .option("--raw", "write the bytes themselves to stdout")
    .addHelpText(
      "after",
      `
Reads through every layer as the machine does: a qcow2's backing chain, Amber disk layers
(.amberdisk) over their bases, raw files. Offsets and lengths take 0x… and binary units.
Exit status: 0, 2 for a range past the end of the image or a bad number, 125 when the
image (or a file of its chain) cannot be read.`,
    )
    .action((file: string, offset: string, len: string, o) =>
      setStatus(imageRead(env, writeOut, file, offset, len, { format: o.f, raw: o.raw })),
    );
  image
    .command("write")
    .description("Write stdin at OFFSET: into a new top layer over the image (unchanged), or --in-place.")
    .argument("<file>")
    .argument("<offset>", "byte offset")
    .option("-f <format>", "format of the file (default: detected)")
    .option(
      "-o, --output <layer>",
      "the new top layer (default FILE.top.qcow2 over qcow2, else FILE.top.amberdisk)",
    )
    .option("--in-place", "write into the image itself (raw, qcow2 or vhdx)")
    .addHelpText(
      "after",
      `
Exit status: 0, 2 for a range past the end of the image, empty stdin or an existing -o
file, 125 when the image cannot be read or written.`,
    )
    .action((file: string, offset: string, o) =>
      setStatus(imageWrite(env, file, offset, { format: o.f, output: o.output, inPlace: o.inPlace })),
    );
}
