import * as path from "node:path";
import type { SectionInput } from "@amber/checkpoint";
import type { HostIo, Machine, RunOutcome } from "@amber/machine";
import { CONSOLE_SECTION, GuestControlIo, isWorldName } from "@amber/monitor";
import type { CliEnv } from "../cli-env.js";
import { UserError } from "../user-error.js";
import { checkSaveTarget, type SaveParent, saveReport } from "./run.js";
import { runWhileSaving, type SaveInFlight, startSave } from "./run-while-saving.js";

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
 * worlds the guest asks for on the way (see GuestControlIo) for `amber run` and `amber
 * resume`: full, or incremental on `parent` (the resumed image) when given. Each save is
 * made durable in the background: the guest is answered once its world is encoded and runs
 * on meanwhile (see `runWhileSaving`); the next save, and the end of the run, wait for the
 * one in flight. A run in which the guest saves nothing ends at once (the outcome); one
 * that saved ends once every save is durable or failed (`failed`: one did, after the guest
 * was answered, reported on stderr).
 */
export function runSavingWorlds(
  env: CliEnv,
  machine: Machine,
  control: GuestControlIo,
  maxSteps: number,
  worlds: string,
  parent?: SaveParent,
): RunOutcome | Promise<{ outcome: RunOutcome; failed: boolean }> {
  const first = machine.run(Math.max(0, maxSteps - machine.hart.steps));
  if (first.kind !== "stuck" || control.pendingSave === undefined) return first;
  return (async () => {
    let outcome: RunOutcome = first;
    let failed = false;
    let flight: SaveInFlight | undefined;
    const settle = async (): Promise<void> => {
      if (flight === undefined) return;
      await flight.done;
      if (flight.failure !== undefined) failed = true;
      flight = undefined;
    };
    for (;;) {
      const name = control.pendingSave;
      if (outcome.kind !== "stuck" || name === undefined) break;
      // One save at a time: the one in flight is durable (or failed) before the next begins.
      await settle();
      const target = path.join(worlds, `${name}.amber`);
      let started: SaveInFlight | string;
      try {
        started =
          sameAsParent(target, parent) ??
          startSave(env, machine, target, {
            parent,
            report: saveReport(env, machine, target, parent !== undefined),
            sections: [consoleSection(control)],
            what: "the guest's save-world: ",
          });
      } catch (e) {
        started = refusal(env, e);
      }
      if (typeof started === "string") {
        control.answer(started);
        outcome = machine.run(Math.max(0, maxSteps - machine.hart.steps));
      } else {
        flight = started;
        control.answer(undefined);
        outcome = await runWhileSaving(machine, maxSteps, started);
      }
    }
    await settle();
    return { outcome, failed };
  })();
}

/** The console section a guest's save keeps: its tail, and that it awaits save-world's answer. */
function consoleSection(control: GuestControlIo): SectionInput {
  return {
    name: CONSOLE_SECTION,
    version: 1,
    minVersion: 1,
    fields: { tail: control.consoleTail, awaits: "save-world" },
  };
}

/** A save the guest asked for that failed before it was answered: reported, and its one line. */
function refusal(env: CliEnv, e: unknown): string {
  const message = e instanceof UserError || e instanceof Error ? e.message : String(e);
  env.stderr(`amber: the guest's save-world: ${message}\n`);
  return message;
}

/** Why the guest cannot save to `target`: the world it came from (undefined: it can). */
function sameAsParent(target: string, parent: SaveParent | undefined): string | undefined {
  if (parent === undefined) return undefined;
  try {
    checkSaveTarget(target, parent.reader);
    return undefined;
  } catch {
    return `${path.basename(target)} is the world this one came from: choose another name`;
  }
}
