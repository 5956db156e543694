import { ExitCode } from "./exit-codes.js";
import { UserError } from "./user-error.js";

const UNITS: Record<string, number> = {
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

/** Parses "128M", "1GiB", "65536": binary units, as QEMU's `-m` reads them. Returns NaN if invalid. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return Number.NaN;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return Number.NaN;
  const value = Number(m[1]) * unit;
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** Parses a count such as "1000000", "5e6" or "2_000_000" (NaN if invalid): the monitor's own reading. */
export { parseCount } from "@amber/monitor";

/** An option's size ("--ram 1G"), or a usage error naming the option and showing `examples`. */
export function sizeOption(what: string, text: string, examples = "128M, 1G"): number {
  const n = parseSize(text);
  if (Number.isNaN(n))
    throw new UserError(`${what}: cannot read "${text}" as a size (e.g. ${examples})`, ExitCode.Usage);
  return n;
}

/** A byte count as people read it ("1 KiB", "5.9 KiB"): the monitor's one formatter of sizes. */
export { formatBytes } from "@amber/monitor";
