import type { TrapReport } from "@amber/machine";

/** An address or word as 0x followed by eight hex digits, as the monitor shows them. */
export const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;

const KIB = 1024;

/** A byte count for people: B, KiB (one decimal) or MiB (two). */
export function formatBytes(n: number): string {
  if (n < KIB) return `${n} B`;
  if (n < KIB * KIB) return `${(n / KIB).toFixed(1)} KiB`;
  return `${(n / KIB / KIB).toFixed(2)} MiB`;
}

/** A count as typed: decimal with optional `_` separators and exponent (1e6); NaN otherwise. */
export function parseCount(text: string): number {
  const cleaned = text.replace(/_/g, "");
  if (!/^\d+(\.\d+)?(e\d+)?$/i.test(cleaned)) return Number.NaN;
  const value = Number(cleaned);
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** A trap the guest had no handler for, on one line: cause, pc, the instruction, mtval. */
export function describeTrap(t: TrapReport): string {
  const bits = Number.isNaN(t.bits) ? "unreadable" : hex8(t.bits);
  return `guest stopped: unhandled ${t.causeName} (mcause ${t.cause}) at pc ${hex8(t.pc)}: ${bits} ${t.disassembly.replace("\t", " ")} (mtval ${hex8(t.tval)})`;
}
