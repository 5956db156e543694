import * as path from "node:path";
import type { CheckpointReader } from "@amber/checkpoint";
import type { HostIo, Machine, RunOutcome } from "@amber/machine";
import { CONSOLE_SECTION, GuestControlIo, isWorldName } from "@amber/monitor";
import type { CliEnv } from "../cli-env.js";
import { UserError } from "../user-error.js";
import { checkSaveTarget, type SaveParent, saveImage, saveReport } from "./run.js";

/** Whether a world was saved by the guest's own `(save-world ...)` (it waits for the answer "resumed"). */
export function savedByGuest(reader: CheckpointReader): boolean {
  return reader.hasSection(CONSOLE_SECTION) && reader.section(CONSOLE_SECTION).fields.awaits === "save-world";
}

/**
 * The guest's control channel for `amber run` and `amber resume`: with `worlds` (a
 * directory) a `(save-world "NAME")` saves NAME.amber there; with `refuse` it is refused
 * at once with that reason. Either way the guest never waits for an answer that cannot come.
 */
export function guestControl(
  io: HostIo,
  how: { worlds: string } | { refuse: string },
  resumed: boolean,
): GuestControlIo {
  return new GuestControlIo(
    io,
    (name) => {
      if ("refuse" in how) return how.refuse;
      if (!isWorldName(name)) {
        return `"${name}" is not a world name here (letters, digits, . _ -; saved as NAME.amber)`;
      }
      return "save";
    },
    resumed,
  );
}

/**
 * `machine.run` until the guest exits, stops, or spends `maxSteps` (in all), saving the
 * worlds the guest asks for on the way (see GuestControlIo): full, or incremental on
 * `parent` (the resumed image) when given.
 */
export function runSavingWorlds(
  env: CliEnv,
  machine: Machine,
  control: GuestControlIo,
  maxSteps: number,
  worlds: string,
  parent?: SaveParent,
): RunOutcome {
  for (;;) {
    const outcome = machine.run(Math.max(0, maxSteps - machine.hart.steps));
    const name = control.pendingSave;
    if (outcome.kind !== "stuck" || name === undefined) return outcome;
    control.answer(saveGuestWorld(env, machine, control, path.join(worlds, `${name}.amber`), parent));
  }
}

/** Saves the world a guest asked for; undefined when saved, else why not (one line). */
function saveGuestWorld(
  env: CliEnv,
  machine: Machine,
  control: GuestControlIo,
  target: string,
  parent: SaveParent | undefined,
): string | undefined {
  try {
    if (parent !== undefined) {
      try {
        checkSaveTarget(target, parent.reader);
      } catch {
        return `${path.basename(target)} is the world this one came from: choose another name`;
      }
    }
    const report = saveReport(env, machine, target, parent !== undefined);
    const saved = saveImage(machine, target, {
      parent,
      progress: report.progress,
      sections: [
        {
          name: CONSOLE_SECTION,
          version: 1,
          minVersion: 1,
          fields: { tail: control.consoleTail, awaits: "save-world" },
        },
      ],
    });
    report.done(saved);
    return undefined;
  } catch (e) {
    const message = e instanceof UserError || e instanceof Error ? e.message : String(e);
    env.stderr(`amber: the guest's save-world: ${message}\n`);
    return message;
  }
}
