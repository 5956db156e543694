/** Opening a saved world as a machine, with what the REPL kept beside it (the console's last line). */
import { type CheckpointReader, isCheckpointError } from "@amber/checkpoint";
import { CONSOLE_SECTION, Machine, type MachineDisk, MachineError } from "@amber/machine";
import type { ConsoleIo } from "./console-io.js";
import { MonitorError } from "./monitor-error.js";
import type { WorldRef, WorldStore } from "./world-store.js";

/** Maps checkpoint and machine failures to a one-line MonitorError naming `where`. */
export function worldFailure(e: unknown, where: string): never {
  if (isCheckpointError(e) || e instanceof MachineError) {
    throw new MonitorError(e.message.includes(where) ? e.message : `${where}: ${e.message}`);
  }
  throw e;
}

/** A world opened by `openWorld`: its machine, the reader it reads pages from, and what the REPL kept with it. */
export interface OpenedWorld {
  reader: CheckpointReader;
  machine: Machine;
  consoleTail: string;
  awaitsSaveWorld: boolean;
  closeDisks: () => void;
}

/** A machine on a saved world: it reads pages from `reader` lazily, so the reader stays open. */
export function openWorld(
  reader: CheckpointReader,
  ref: WorldRef,
  io: ConsoleIo,
  jit: boolean,
  store: WorldStore,
): OpenedWorld {
  let disks: { disks: MachineDisk[]; close(): void } | undefined;
  try {
    disks = Machine.checkpointDisks(reader).length === 0 ? undefined : store.openDisks?.(reader, ref);
    const machine = Machine.fromCheckpoint(reader, { io, jit, disks: disks?.disks });
    let consoleTail = "";
    let awaitsSaveWorld = false;
    if (reader.hasSection(CONSOLE_SECTION)) {
      const fields = reader.section(CONSOLE_SECTION).fields;
      if (typeof fields.tail === "string") consoleTail = fields.tail;
      awaitsSaveWorld = fields.awaits === "save-world";
    }
    return { reader, machine, consoleTail, awaitsSaveWorld, closeDisks: () => disks?.close() };
  } catch (e) {
    disks?.close();
    reader.close();
    return worldFailure(e, ref.location);
  }
}
