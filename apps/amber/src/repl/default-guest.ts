import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** File name of the default world's program (the project's Lisp, tools/guests/lisp). */
export const DEFAULT_GUEST = "lisp.elf";

/**
 * Where the default Lisp guest is: beside the bundled CLI (dist/lisp.elf, copied there by
 * build.mjs), or in the repository's committed guest outputs when running from sources.
 */
export function defaultGuestPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.join(here, DEFAULT_GUEST),
    path.resolve(here, "../../../../tools/guests/lisp/out", DEFAULT_GUEST),
  ];
  const found = candidates.find((c) => fs.existsSync(c));
  return found ?? candidates[candidates.length - 1]!;
}
