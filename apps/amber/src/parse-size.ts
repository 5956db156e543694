import { parseSize } from "@amber/monitor";
import { ExitCode } from "./exit-codes.js";
import { UserError } from "./user-error.js";

/**
 * Parses a size such as "128M", "1GiB" or "65536" (binary units, as QEMU's `-m`), and a
 * count such as "1000000", "5e6" or "2_000_000" (NaN if invalid): the monitor's own readings.
 */
export { parseCount, parseSize } from "@amber/monitor";

/** An option's size ("--ram 1G"), or a usage error naming the option and showing `examples`. */
export function sizeOption(what: string, text: string, examples = "128M, 1G"): number {
  const n = parseSize(text);
  if (Number.isNaN(n))
    throw new UserError(`${what}: cannot read "${text}" as a size (e.g. ${examples})`, ExitCode.Usage);
  return n;
}

/** A byte count as people read it ("1 KiB", "5.9 KiB"): the monitor's one formatter of sizes. */
export { formatBytes } from "@amber/monitor";
