import { LAYER_MAGIC } from "./amber-layout.js";
import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { ImageFormat } from "./layer.js";
import { QCOW2_MAGIC } from "./qcow2-header.js";

/**
 * Format detection by content (never by the file's name alone), as qemu-img probes, with
 * one difference: a file is read as raw only when it cannot be anything else.
 *
 * 1. A known magic decides: qcow2 ("QFI\xfb"), an Amber layer ("\x8aAMBIMG\n"), VHDX
 *    ("vhdxfile" at offset 0), DMG ("koly" in the file's last 512 bytes).
 * 2. Files of other formats are refused with their name: an Amber world (machine checkpoint,
 *    "AMCK"), VMDK, VDI, VHD, QED, LUKS, Parallels, Bochs, cloop.
 * 3. A magic that is almost one of ours (3 of qcow2's or the world's 4 bytes, 6 of the Amber
 *    layer's or VHDX's 8) is a damaged header, never raw.
 * 4. Raw only when none of the above matched, the size is a whole number of 512-byte
 *    sectors, and the name does not carry another format's extension (.qcow2, .amber,
 *    .amberdisk, .vmdk, ...). Anything else needs the format given explicitly (`-f raw`).
 */

/** Raw images are whole sectors; other sizes need `-f raw`. */
export const RAW_SECTOR = 512;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u32be = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);

/** Amber's machine checkpoints ("AMCK" in little-endian files, "KCMA" in big-endian ones). */
const WORLD_MAGICS = [ascii("AMCK"), ascii("KCMA")];
const VHDX_MAGIC = ascii("vhdxfile");

/** Formats Amber does not read, by the magic qemu-img's probes look for. */
const FOREIGN: readonly { name: string; at: number; magic: Uint8Array }[] = [
  { name: "VMDK", at: 0, magic: ascii("KDMV") },
  { name: "VMDK (descriptor)", at: 0, magic: ascii("# Disk DescriptorFile") },
  { name: "VMDK (stream-optimized, COWD)", at: 0, magic: ascii("COWD") },
  { name: "VDI", at: 0x40, magic: Uint8Array.of(0x7f, 0x10, 0xda, 0xbe) },
  { name: "VHD (dynamic)", at: 0, magic: ascii("conectix") },
  { name: "QED", at: 0, magic: ascii("QED\0") },
  { name: "LUKS", at: 0, magic: Uint8Array.of(0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe) },
  { name: "Parallels", at: 0, magic: ascii("WithoutFreeSpace") },
  { name: "Parallels", at: 0, magic: ascii("WithouFreSpacExt") },
  { name: "Bochs", at: 0, magic: ascii("Bochs Virtual HD Image") },
  { name: "cloop", at: 0, magic: ascii("#!/bin/sh\n#V2.0 Format") },
];

/** Extensions that name a format: a file carrying one is never taken for raw. */
const NAMED_EXTENSIONS: Readonly<Record<string, string>> = {
  qcow2: "qcow2",
  qcow: "qcow2",
  amber: "an Amber world or layer",
  amberdisk: "an Amber layer",
  vmdk: "VMDK",
  vdi: "VDI",
  vhd: "VHD",
  vhdx: "VHDX",
  vpc: "VHD",
  qed: "QED",
  dmg: "DMG",
};

function matchesAt(head: Uint8Array, at: number, magic: Uint8Array): boolean {
  if (head.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[at + i] !== magic[i]) return false;
  return true;
}

function sameBytes(head: Uint8Array, magic: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < magic.length && i < head.length; i++) if (head[i] === magic[i]) n++;
  return n;
}

export const hexBytes = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** The kind of file detection found, before any format-specific parsing. */
export type Detected =
  | { kind: "image"; format: ImageFormat }
  | { kind: "world" }
  | { kind: "foreign"; name: string; offset: number }
  | { kind: "damaged"; name: string; expected: Uint8Array; found: Uint8Array }
  | { kind: "unknown"; reason: string };

/** Looks at a file's first bytes, size and name (see the rules above). */
export function probeFormat(file: BlockFile): Detected {
  const head = file.read(0, 512);
  const qcow2 = u32be(QCOW2_MAGIC);
  if (matchesAt(head, 0, qcow2)) return { kind: "image", format: "qcow2" };
  if (matchesAt(head, 0, LAYER_MAGIC)) return { kind: "image", format: "amber" };
  if (matchesAt(head, 0, VHDX_MAGIC)) return { kind: "image", format: "vhdx" };
  if (WORLD_MAGICS.some((m) => matchesAt(head, 0, m))) return { kind: "world" };
  for (const f of FOREIGN)
    if (matchesAt(head, f.at, f.magic)) return { kind: "foreign", name: f.name, offset: f.at };
  const size = file.size();
  if (size >= 512 && matchesAt(file.read(size - 512, 8), 0, ascii("conectix")))
    return { kind: "foreign", name: "VHD (fixed)", offset: size - 512 };
  if (size >= 512 && matchesAt(file.read(size - 512, 4), 0, ascii("koly")))
    return { kind: "image", format: "dmg" };
  const near: [string, Uint8Array, number][] = [
    ["qcow2", qcow2, 3],
    ["Amber layer", LAYER_MAGIC, 6],
    ["VHDX", VHDX_MAGIC, 6],
    ["Amber world", WORLD_MAGICS[0] as Uint8Array, 3],
    ["Amber world", WORLD_MAGICS[1] as Uint8Array, 3],
  ];
  for (const [name, magic, enough] of near) {
    if (head.length >= magic.length && sameBytes(head, magic) >= enough)
      return { kind: "damaged", name, expected: magic, found: head.slice(0, magic.length) };
  }
  const ext = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase();
  const named = ext === undefined ? undefined : NAMED_EXTENSIONS[ext];
  if (named !== undefined)
    return {
      kind: "unknown",
      reason: `named .${ext} (${named}) but has no such header ${ext === "dmg" ? "(a koly trailer) in its last 512 bytes" : "at offset 0"}`,
    };
  if (size % RAW_SECTOR !== 0)
    return {
      kind: "unknown",
      reason: `no known header, and ${size} bytes is not a whole number of ${RAW_SECTOR}-byte sectors as a raw disk is`,
    };
  return { kind: "image", format: "raw" };
}

/** Detects a file's format (rules above); anything but the formats Amber reads is an error. */
export function detectFormat(file: BlockFile): ImageFormat {
  const d = probeFormat(file);
  switch (d.kind) {
    case "image":
      return d.format;
    case "world":
      throw new ImageError(
        "UNKNOWN_FORMAT",
        `${file.name}: an Amber world (machine checkpoint), not a disk image; amber inspect, resume and repl read it`,
        0,
      );
    case "foreign":
      throw new ImageError(
        "UNKNOWN_FORMAT",
        `${file.name}: a ${d.name} image, which Amber does not read (raw, qcow2, Amber layers, VHDX, DMG); convert it with qemu-img convert -O qcow2`,
        d.offset,
      );
    case "damaged":
      throw new ImageError(
        "BAD_MAGIC",
        `${file.name}: damaged ${d.name} magic (found ${hexBytes(d.found)}, expected ${hexBytes(d.expected)}); not read as raw (-f raw forces it)`,
        0,
      );
    case "unknown":
      throw new ImageError(
        "UNKNOWN_FORMAT",
        `${file.name}: unknown image format: ${d.reason}; give the format (-f raw, format=raw) if it is a raw disk`,
        0,
      );
  }
}
