import { type CheckpointReader, isCheckpointError } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { probeFormat } from "@amber/image";
import { nodeImageHost } from "@amber/image/node";
import { MachineError, SECTION_SPECS } from "@amber/machine";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/** Maps checkpoint and machine failures to one-line errors naming `file` (exit 125). */
export function checkpointFailure(e: unknown, file: string): never {
  if (isCheckpointError(e) || e instanceof MachineError) {
    const message = e.message.includes(file) ? e.message : `${file}: ${e.message}`;
    throw new UserError(
      `${message}${isCheckpointError(e) && e.code === "BAD_MAGIC" ? diskHint(file) : ""}`,
      ExitCode.Failure,
    );
  }
  throw e;
}

/** A disk image given where a world is expected: say which it is. */
function diskHint(file: string): string {
  try {
    const f = nodeImageHost.open(file, false);
    try {
      const d = probeFormat(f);
      return d.kind === "image" && d.format !== "raw"
        ? `; it is a ${d.format === "amber" ? "Amber disk layer" : "qcow2 disk image"}, not a world: amber image info reads it`
        : "";
    } finally {
      f.close();
    }
  } catch {
    return "";
  }
}

/** Opens an image (and its parent chain, found by the stored hints); failures exit 125. */
export function openImage(file: string): CheckpointReader {
  try {
    return openCheckpoint(file, { sections: SECTION_SPECS });
  } catch (e) {
    return checkpointFailure(e, file);
  }
}
