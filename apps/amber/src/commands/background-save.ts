import type { CheckpointReader } from "@amber/checkpoint";
import { startCheckpointFile } from "@amber/checkpoint/node";
import { type Machine, SECTION_SPECS } from "@amber/machine";
import { checkpointFailure, imageParents } from "./checkpoint-open.js";
import { beginImageSave, type SaveRequest } from "./run.js";

/** A save whose image is encoded and on its way to the disk (see `saveImageInBackground`). */
export interface BackgroundSave {
  digest: string;
  /** RAM pages stored. */
  pages: number;
  /** The image's size in bytes. */
  bytes: number;
  /**
   * Settles once the image is durable at its place and has become the machine's baseline;
   * rejects with a one-line UserError naming it when the save failed after all (the previous
   * image there untouched; the machine's baseline unchanged). Always handle it.
   */
  durable: Promise<void>;
  /** The new image, readable now (with its parent chain): close it when done; keep it only if `durable` resolved. */
  open(): CheckpointReader;
}

/**
 * Saves the machine as it is now to `target` as `saveImage` does, but returns as soon as the
 * image is encoded: the guest may run on while the OS writes it, syncs it and the rename
 * puts it in place (`durable`). The guest pauses only for capturing the state and encoding
 * the pages (less when `request.between` runs it between batches of pages: RAM is read
 * through a copy-on-write snapshot, so the image is exactly this instant). The machine's
 * next save must wait for `durable` (the machine refuses a second save meanwhile), and it is
 * incremental on this one: the pages written since this instant, not since the disk
 * finished.
 */
export function saveImageInBackground(
  machine: Machine,
  target: string,
  request: SaveRequest = {},
): BackgroundSave {
  let started: ReturnType<typeof beginImageSave>;
  let pending: ReturnType<typeof startCheckpointFile>;
  try {
    started = beginImageSave(machine, target, request);
    try {
      pending = startCheckpointFile(target, started.input);
    } catch (e) {
      started.save.end();
      throw e;
    }
  } catch (e) {
    return checkpointFailure(e, target);
  }
  const { save } = started;
  const pages = save.pagesWritten();
  const durable = pending.durable.then(
    (written) => {
      save.committed(written);
    },
    (e: unknown) => {
      save.end();
      return checkpointFailure(e, target);
    },
  );
  return {
    digest: pending.result.digest,
    pages,
    bytes: pending.result.size,
    durable,
    open: () => {
      try {
        return pending.open({ sections: SECTION_SPECS, resolveParent: imageParents() });
      } catch (e) {
        return checkpointFailure(e, target);
      }
    },
  };
}
