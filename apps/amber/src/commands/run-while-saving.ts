import type { SectionInput } from "@amber/checkpoint";
import type { Machine, RunOutcome } from "@amber/machine";
import type { CliEnv } from "../cli-env.js";
import { UserError } from "../user-error.js";
import { type BackgroundSave, saveImageInBackground } from "./background-save.js";
import type { SaveParent, SaveReport } from "./run.js";

/** Guest steps run between two turns of the event loop while a save is made durable. */
export const DURABLE_SLICE_STEPS = 100_000;
/** Guest steps run after every batch of pages encoded while a `--save-at` image is encoded. */
const SAVE_SLICE_STEPS = 100_000;

/**
 * A background save being made durable while the guest runs on (`amber run --save-at`, the
 * guest's save-world under `amber run`): `settled` once it is durable or failed, `failure`
 * its one-line message then (undefined: durable).
 */
export interface SaveInFlight {
  readonly target: string;
  settled: boolean;
  failure: string | undefined;
  /** Settles with the save (never rejects). */
  readonly done: Promise<void>;
}

/**
 * Saves the machine as it is now to `target` in the background (see `saveImageInBackground`):
 * the guest waits only for the state to be captured and the image encoded; the file is
 * written, synced and renamed into place while the caller runs the guest on (see
 * `runWhileSaving`). When durable, the save becomes the machine's baseline and `report.done`
 * prints its line; a failure then is one line on stderr (the previous image and the
 * machine's baseline untouched). An error before the guest runs on (encoding, a directory
 * that cannot be written) is thrown as a UserError, as `saveImage`'s.
 */
export function startSave(
  env: CliEnv,
  machine: Machine,
  target: string,
  request: {
    parent?: SaveParent;
    report: SaveReport;
    sections?: SectionInput[];
    /** Runs the guest on for a slice every 64 pages encoded (see `SaveRequest.between`). */
    between?: () => void;
    /** Said before a failure's line (e.g. "the guest's save-world: "). */
    what?: string;
  },
): SaveInFlight {
  const saved: BackgroundSave = saveImageInBackground(machine, target, {
    parent: request.parent,
    sections: request.sections,
    between: request.between,
  });
  const flight: SaveInFlight = {
    target,
    settled: false,
    failure: undefined,
    done: saved.durable.then(
      () => {
        flight.settled = true;
        request.report.done(saved);
      },
      (e: unknown) => {
        flight.settled = true;
        flight.failure = e instanceof UserError || e instanceof Error ? e.message : String(e);
        env.stderr(`amber: ${request.what ?? ""}${flight.failure}\n`);
      },
    ),
  };
  return flight;
}

/**
 * Runs the guest on (up to `maxSteps` in all; `outcome`: how its last slice ended, if it ran
 * while the image was encoded) while `save` is made durable: in slices of
 * DURABLE_SLICE_STEPS with a turn of the event loop between them (the file system's
 * completions come in there), then, once it has settled, the rest at once. Returns when the
 * guest stops (exits, crashes, waits for something, or spends `maxSteps`); the save may
 * still be in flight then (await `save.done`). The outcome is the one a single run would
 * give: the machine is deterministic in steps.
 */
export async function runWhileSaving(
  machine: Machine,
  maxSteps: number,
  save: SaveInFlight,
  outcome: RunOutcome = { kind: "budget" },
): Promise<RunOutcome> {
  // The guest stopped while the image was encoded (see `startSave`'s `between`).
  if (outcome.kind !== "budget") return outcome;
  while (!save.settled && machine.hart.steps < maxSteps) {
    outcome = machine.run(Math.min(DURABLE_SLICE_STEPS, maxSteps - machine.hart.steps));
    if (outcome.kind !== "budget") return outcome;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const left = maxSteps - machine.hart.steps;
  return left > 0 ? machine.run(left) : outcome;
}

/**
 * `--save-at N --save-to TARGET` (without `--halt-after-save`) under `amber run` and
 * `amber resume`, the guest at instruction N: saves the machine to `target` (incremental on
 * `parent` when given) while the guest runs on, up to `maxSteps` in all. The guest waits
 * only for its state to be captured: it runs a slice every 64 pages encoded (RAM read
 * through a copy-on-write snapshot, so the image is exactly instruction N), then on while
 * the image is made durable (see `runWhileSaving`). Settles once the guest has stopped and
 * the save is durable or failed (`failed`: reported on stderr in one line, the previous
 * file untouched). An error before the guest runs on is thrown as `startSave`'s.
 */
export async function saveAtAndRunOn(
  env: CliEnv,
  machine: Machine,
  target: string,
  maxSteps: number,
  request: { parent?: SaveParent; report: SaveReport },
): Promise<{ outcome: RunOutcome; failed: boolean }> {
  let during: RunOutcome = { kind: "budget" };
  const save = startSave(env, machine, target, {
    parent: request.parent,
    report: request.report,
    between: () => {
      const left = maxSteps - machine.hart.steps;
      if (during.kind === "budget" && left > 0) during = machine.run(Math.min(SAVE_SLICE_STEPS, left));
    },
  });
  const outcome = await runWhileSaving(machine, maxSteps, save, during);
  await save.done;
  return { outcome, failed: save.failure !== undefined };
}
