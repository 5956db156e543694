import * as fs from "node:fs";
import type { CheckpointReader } from "@amber/checkpoint";
import { SECTION_SPECS } from "@amber/machine";
import { looksLikeRef, type RegistryError } from "@amber/registry";
import { openRemote } from "@amber/registry/node";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

import { chosenCacheDir } from "./registry-cache.js";

export { chosenCacheDir, useCache } from "./registry-cache.js";

/** Whether a command argument names a world in a registry: written as a REF and not an existing path. */
export function isRemoteRef(arg: string): boolean {
  return looksLikeRef(arg) && !fs.existsSync(arg);
}

/** A registry failure as a one-line error: a bad REF is a usage error (2), the rest exit 125. */
export function registryFailure(e: RegistryError): UserError {
  return new UserError(e.message, e.code === "BAD_REF" ? ExitCode.Usage : ExitCode.Failure);
}

/**
 * Opens a world in a registry for lazy reading: the header, tables and the pages the machine
 * touches are fetched on first use through the shared cache; closing the reader ends the
 * fetching worker.
 */
export function openRemoteImage(ref: string): CheckpointReader {
  return openRemote(ref, { sections: SECTION_SPECS, cacheDir: chosenCacheDir() }).reader;
}
