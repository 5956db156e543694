import { type CheckpointReader, isCheckpointError } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { MachineError, SECTION_SPECS } from "@amber/machine";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/** Maps checkpoint and machine failures to one-line errors naming `file` (exit 125). */
export function checkpointFailure(e: unknown, file: string): never {
  if (isCheckpointError(e) || e instanceof MachineError) {
    const message = e.message.includes(file) ? e.message : `${file}: ${e.message}`;
    throw new UserError(message, ExitCode.Failure);
  }
  throw e;
}

/** Opens an image (and its parent chain, found by the stored hints); failures exit 125. */
export function openImage(file: string): CheckpointReader {
  try {
    return openCheckpoint(file, { sections: SECTION_SPECS });
  } catch (e) {
    return checkpointFailure(e, file);
  }
}
