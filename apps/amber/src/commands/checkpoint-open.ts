import {
  type CheckpointReader,
  isCheckpointError,
  type ParentLocation,
  type ParentRef,
} from "@amber/checkpoint";
import { nodeParentResolver, openCheckpoint } from "@amber/checkpoint/node";
import { IMAGE_FORMAT_NAMES, probeFormat } from "@amber/image";
import { nodeImageHost } from "@amber/image/node";
import { MachineError, SECTION_SPECS } from "@amber/machine";
import { isRegistryError } from "@amber/registry";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";
import { isRemoteRef, openRemoteImage, registryFailure } from "./registry-open.js";

/** Maps checkpoint and machine failures to one-line errors naming `file` (exit 125). */
export function checkpointFailure(e: unknown, file: string): never {
  if (isCheckpointError(e) || e instanceof MachineError) {
    const message = e.message.includes(file) ? e.message : `${file}: ${e.message}`;
    throw new UserError(
      `${message}${isCheckpointError(e) && e.code === "BAD_MAGIC" ? diskHint(file) : ""}`,
      ExitCode.Failure,
    );
  }
  // A chunk fetched on first touch can fail mid-run: its message already names the REF.
  if (isRegistryError(e)) throw registryFailure(e);
  throw e;
}

/** A disk image given where a world is expected: say which it is. */
function diskHint(file: string): string {
  try {
    const f = nodeImageHost.open(file, false);
    try {
      const d = probeFormat(f);
      return d.kind === "image" && d.format !== "raw"
        ? `; it is a ${IMAGE_FORMAT_NAMES[d.format]}, not a world: amber image info reads it`
        : "";
    } finally {
      f.close();
    }
  } catch {
    return "";
  }
}

/**
 * How `openImage` finds an image's parents: on disk by the hint (relative to the image), or
 * in a registry (a world saved on one resumed from a registry names its parent by REF).
 */
export function imageParents(): (ref: ParentRef) => ParentLocation | undefined {
  const onDisk = nodeParentResolver();
  return (ref) => (isRemoteRef(ref.hint) ? { reader: openRemoteImage(ref.hint) } : onDisk(ref));
}

/**
 * Opens an image (and its parent chain, found by the stored hints), or a world in a registry
 * when `file` is a REF (fetched lazily); failures exit 125.
 */
export function openImage(file: string): CheckpointReader {
  if (isRemoteRef(file)) {
    try {
      return openRemoteImage(file);
    } catch (e) {
      return checkpointFailure(e, file);
    }
  }
  try {
    return openCheckpoint(file, { sections: SECTION_SPECS, resolveParent: imageParents() });
  } catch (e) {
    return checkpointFailure(e, file);
  }
}
