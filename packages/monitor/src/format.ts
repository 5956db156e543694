import type { TrapReport } from "@amber/machine";

/** An address or word as 0x followed by eight hex digits, as the monitor shows them. */
export const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;

const SIZE_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * A byte count as people read it: "512 bytes", "1 KiB", "5.9 KiB", "128 MiB", "1.5 GiB"
 * (binary units, one decimal at most). The one formatter of sizes: the monitor and the CLI both use it.
 */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < SIZE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, "");
  return `${text} ${SIZE_UNITS[u]}`;
}

/** A count as typed: decimal with optional `_` separators and exponent (1e6); NaN otherwise. */
export function parseCount(text: string): number {
  const cleaned = text.replace(/_/g, "");
  if (!/^\d+(\.\d+)?(e\d+)?$/i.test(cleaned)) return Number.NaN;
  const value = Number(cleaned);
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

const SIZE_UNITS_IN: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parses "128M", "1GiB", "65536": binary units, as QEMU's `-m` reads them; NaN if invalid.
 * The one reader of sizes: the monitor (`:balloon`) and the CLI (`--ram`) both use it.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return Number.NaN;
  const unit = SIZE_UNITS_IN[m[2]!.toLowerCase()];
  if (unit === undefined) return Number.NaN;
  const value = Number(m[1]) * unit;
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** A trap the guest had no handler for, on one line: cause, pc, the instruction, mtval. */
export function describeTrap(t: TrapReport): string {
  const bits = Number.isNaN(t.bits) ? "unreadable" : hex8(t.bits);
  return `guest stopped: unhandled ${t.causeName} (mcause ${t.cause}) at pc ${hex8(t.pc)}: ${bits} ${t.disassembly.replace("\t", " ")} (mtval ${hex8(t.tval)})`;
}
