import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckpointReader, SectionInput } from "@amber/checkpoint";
import { writeCheckpointFile } from "@amber/checkpoint/node";
import { disassemble } from "@amber/isa";
import { DEFAULT_RAM_SIZE, Machine, MachineError, type RunOutcome } from "@amber/machine";
import { describeTrap } from "@amber/monitor";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { hex8 } from "../hex.js";
import { parseCount, sizeOption } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { VERSION } from "../version.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { closeDisks, machineDisks, openDisks, parseDiskSpec } from "./image-disks.js";

export interface RunOptions {
  ram?: string;
  kernel?: string;
  bios?: string;
  initrd?: string;
  append?: string;
  maxInsns?: string;
  trace?: boolean;
  jit?: boolean;
  hostTime?: boolean;
  stats?: boolean;
  /** `--disk FILE[,format=...][,rw]`, repeatable. */
  disk?: string[];
  saveDiskDiff?: string;
  /** `--save-at N --save-to PATH [--halt-after-save]`: save the whole machine after N steps. */
  saveAt?: string;
  saveTo?: string;
  haltAfterSave?: boolean;
  /**
   * `--parent IMAGE`: save an incremental image holding only the pages that differ from
   * IMAGE's (compared page by page: a booted machine has no baseline).
   */
  parent?: string;
}

/** A file the user named (program, kernel, firmware), or a one-line error (exit 125). */
export function readInput(env: CliEnv, file: string): Uint8Array {
  try {
    return env.readFile(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new UserError(`${file}: cannot read: ${reason}`, ExitCode.Failure);
  }
}

/**
 * `amber run FILE.elf` boots the ELF on the virt board; `amber run --kernel Image
 * [--bios F] [--initrd I] [--append ARGS]` boots a kernel as QEMU does. The guest's
 * exit status becomes ours.
 */
export function runCommand(
  env: CliEnv,
  file: string | undefined,
  args: string[],
  options: RunOptions,
): number {
  const ramSize = options.ram === undefined ? DEFAULT_RAM_SIZE : sizeOption("--ram", options.ram);
  const maxSteps = options.maxInsns === undefined ? Number.POSITIVE_INFINITY : parseCount(options.maxInsns);
  if (Number.isNaN(maxSteps)) {
    throw new UserError(`--max-insns: cannot read "${options.maxInsns}" as a whole number`, ExitCode.Usage);
  }

  if (file === undefined && options.kernel === undefined) {
    throw new UserError("run: give a program (FILE.elf) or --kernel IMAGE", ExitCode.Usage);
  }
  if (file !== undefined && options.kernel !== undefined) {
    throw new UserError("run: give either a program or --kernel, not both", ExitCode.Usage);
  }

  const saveAt = options.saveAt === undefined ? undefined : parseCount(options.saveAt);
  if (saveAt !== undefined && Number.isNaN(saveAt)) {
    throw new UserError(`--save-at: cannot read "${options.saveAt}" as a whole number`, ExitCode.Usage);
  }
  if ((saveAt === undefined) !== (options.saveTo === undefined)) {
    throw new UserError("--save-at and --save-to go together", ExitCode.Usage);
  }
  if (options.haltAfterSave && saveAt === undefined) {
    throw new UserError("--halt-after-save needs --save-at and --save-to", ExitCode.Usage);
  }
  if (options.parent !== undefined && saveAt === undefined) {
    throw new UserError("--parent needs --save-at and --save-to", ExitCode.Usage);
  }
  if (saveAt !== undefined && options.trace) {
    throw new UserError("--save-at cannot be combined with --trace", ExitCode.Usage);
  }

  const diskSpecs = (options.disk ?? []).map(parseDiskSpec);
  if (saveAt !== undefined) {
    const rw = diskSpecs.find((d) => d.rw);
    if (rw !== undefined) {
      throw new UserError(
        `--save-at: --disk ${rw.file} is opened rw (the guest writes into the file), so a saved machine could only refer to a file that no longer holds the saved disk: drop ",rw" (the writes are then kept aside and saved in the image)`,
        ExitCode.Usage,
      );
    }
  }
  if (options.saveDiskDiff !== undefined && diskSpecs.length !== 1) {
    throw new UserError("--save-disk-diff needs exactly one --disk", ExitCode.Usage);
  }
  const disks = openDisks(diskSpecs);
  // Opened first: a missing or damaged parent is reported before the guest runs.
  const parent = options.parent === undefined ? undefined : openImage(options.parent);
  try {
    if (parent !== undefined) checkSaveTarget(options.saveTo!, parent);
    return runMachine(env, file, args, options, { ramSize, maxSteps, saveAt, diskSpecs, disks, parent });
  } finally {
    parent?.close();
  }
}

function runMachine(
  env: CliEnv,
  file: string | undefined,
  args: string[],
  options: RunOptions,
  o: {
    ramSize: number;
    maxSteps: number;
    saveAt: number | undefined;
    diskSpecs: ReturnType<typeof parseDiskSpec>[];
    disks: ReturnType<typeof openDisks>;
    parent: CheckpointReader | undefined;
  },
): number {
  const { ramSize, maxSteps, saveAt, diskSpecs, disks } = o;

  let machine: Machine;
  try {
    machine = new Machine({
      ramSize,
      io: env.io,
      cmdline: [file ?? options.kernel, ...args].join(" "),
      bootargs: options.append,
      jit: options.jit,
      hostTime: options.hostTime ? env.hostClock : undefined,
      disks: machineDisks(disks, diskSpecs),
    });
    if (file !== undefined) machine.loadElf(readInput(env, file), file);
    else {
      const kernel = options.kernel!;
      machine.loadKernel(readInput(env, kernel), {
        firmware: options.bios === undefined ? undefined : readInput(env, options.bios),
        initrd: options.initrd === undefined ? undefined : readInput(env, options.initrd),
        names: { kernel, firmware: options.bios, initrd: options.initrd },
      });
    }
  } catch (e) {
    if (e instanceof MachineError) throw new UserError(e.message, ExitCode.Failure);
    throw e;
  }

  const started = env.now();
  let outcome: RunOutcome;
  if (options.trace) {
    outcome = { kind: "budget" };
    const hart = machine.hart;
    while (hart.steps < maxSteps) {
      const pc = hart.pc;
      const bits = machine.instructionAt(pc);
      env.stderr(
        `${hart.steps} ${hex8(pc)} ${Number.isNaN(bits) ? "--------" : hex8(bits)} ${Number.isNaN(bits) ? "" : disassemble(bits, pc).replace("\t", " ")}\n`,
      );
      outcome = machine.run(1);
      if (outcome.kind !== "budget") break;
    }
  } else if (saveAt !== undefined) {
    outcome = machine.run(Math.min(saveAt, maxSteps));
    if (machine.hart.steps === saveAt && outcome.kind === "budget") {
      const parent = o.parent === undefined ? undefined : { reader: o.parent, path: options.parent! };
      if (options.haltAfterSave) {
        saveMachine(machine, options.saveTo!, parent);
        closeDisks(disks, diskSpecs, options.saveDiskDiff);
        return ExitCode.Ok;
      }
      outcome = saveAndContinue(machine, options.saveTo!, maxSteps, parent);
      if (outcome.kind === "budget") outcome = machine.run(maxSteps - machine.hart.steps);
    } else {
      env.stderr(`amber: the guest stopped before step ${saveAt}: nothing saved\n`);
    }
  } else {
    outcome = machine.run(maxSteps);
  }
  const seconds = env.now() - started;
  closeDisks(disks, diskSpecs, options.saveDiskDiff);
  return finishRun(env, machine, outcome, seconds, options.stats === true);
}

/** The image a save is incremental on: open, and where it is (for the stored hint). */
export interface SaveParent {
  reader: CheckpointReader;
  path: string;
}

/** The real path of `p` (of its directory when it does not exist yet). */
function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(p)), path.basename(p));
    } catch {
      return path.resolve(p);
    }
  }
}

/**
 * Refuses (usage error) an incremental save to `target` when `target` is the parent or one
 * of its parents: the new image would replace the image it needs.
 */
export function checkSaveTarget(target: string, parent: CheckpointReader): void {
  const to = realPath(target);
  for (const image of parent.chain) {
    if (realPath(image.name) === to) {
      throw new UserError(
        `--save-to ${target}: is the parent image${image === parent ? "" : " of the parent"}; an incremental image cannot replace an image it needs: save it under another name`,
        ExitCode.Usage,
      );
    }
  }
}

/** The parent's path relative to the new image's directory (the hint stored in it). */
function parentHint(parent: SaveParent, target: string): string {
  return path.relative(path.dirname(path.resolve(target)), path.resolve(parent.path));
}

/** How `saveImage` saves. */
export interface SaveRequest {
  /** Incremental on this image (see `saveImage`). */
  parent?: SaveParent;
  /** Runs the guest on in slices while the image is written (save-and-continue). */
  between?: () => void;
  /** Pages written between two calls of `between` (default 64). */
  every?: number;
  /** Sections of the caller's own kept with the machine's (the REPL's console line). */
  sections?: SectionInput[];
}

/**
 * Saves the machine as it is now to `target` (atomically: a failure leaves the previous
 * image as it was): full, or incremental on `parent`, only the pages dirtied since it when
 * it is the machine's baseline (the image it was restored from or last saved), else the
 * pages that differ from it. The image becomes the machine's baseline. Returns its digest
 * and the RAM pages stored; a CheckpointError or MachineError becomes a one-line error
 * naming the file (exit 125).
 */
export function saveImage(
  machine: Machine,
  target: string,
  request: SaveRequest = {},
): { digest: string; pages: number } {
  const { parent } = request;
  try {
    const save = machine.beginSave(
      { name: "amber", version: VERSION },
      {
        parent: parent?.reader,
        parentHint: parent === undefined ? undefined : parentHint(parent, target),
        // A disk's base is recorded relative to the image, as the parent is.
        diskSource: (source) => path.relative(path.dirname(path.resolve(target)), path.resolve(source)),
        every: request.every ?? SAVE_SLICE_PAGES,
        between: request.between,
      },
    );
    const input =
      request.sections === undefined
        ? save.input
        : { ...save.input, sections: [...save.input.sections, ...request.sections] };
    try {
      const written = writeCheckpointFile(target, input);
      const pages = save.pagesWritten();
      save.committed(written);
      return { digest: written.digest, pages };
    } finally {
      save.end();
    }
  } catch (e) {
    return checkpointFailure(e, target);
  }
}

/** Saves with the guest stopped (see `saveImage`); returns the image's digest. */
export function saveMachine(machine: Machine, target: string, parent?: SaveParent): string {
  return saveImage(machine, target, { parent }).digest;
}

/** Pages written between slices of guest run while saving and continuing. */
const SAVE_SLICE_PAGES = 64;
/** Guest steps run per slice while saving and continuing. */
const SAVE_SLICE_STEPS = 100_000;

/**
 * Saves the machine as it is now to `target` (see `saveImage`) while the guest runs on: RAM is
 * read through a copy-on-write snapshot, and the guest runs a slice of steps (up to
 * `maxSteps` in all) after every few pages written, so the image is exactly the state at
 * the save instant. Returns the outcome of the last slice ({ kind: "budget" } if the guest
 * is still running).
 */
export function saveAndContinue(
  machine: Machine,
  target: string,
  maxSteps: number,
  parent?: SaveParent,
): RunOutcome {
  let outcome: RunOutcome = { kind: "budget" };
  saveImage(machine, target, {
    parent,
    between: () => {
      const left = maxSteps - machine.hart.steps;
      if (outcome.kind === "budget" && left > 0) outcome = machine.run(Math.min(SAVE_SLICE_STEPS, left));
    },
  });
  return outcome;
}

/** Reports the end of a run (statistics, why it stopped) and returns the exit status. */
export function finishRun(
  env: CliEnv,
  machine: Machine,
  outcome: RunOutcome,
  seconds: number,
  stats: boolean,
): number {
  if (stats) {
    const instructions = machine.hart.steps;
    env.stderr(
      `${JSON.stringify({
        instructions,
        retired: machine.hart.instret,
        seconds: Number(seconds.toFixed(6)),
        mips: seconds > 0 ? Number((instructions / seconds / 1e6).toFixed(2)) : null,
        exit: outcome.kind === "exited" ? outcome.code : outcome.kind,
        pagesTouched: machine.ram.allocatedPages,
      })}\n`,
    );
  }

  switch (outcome.kind) {
    case "exited":
      return outcome.code & 0xff;
    case "budget":
      env.stderr(
        `amber: stopped after ${machine.hart.steps} instructions (--max-insns) before the guest exited\n`,
      );
      return ExitCode.BudgetExhausted;
    case "unhandled-trap":
      env.stderr(`amber: ${describeTrap(outcome.trap)}\n`);
      return ExitCode.GuestCrashed;
    case "stuck":
      env.stderr(
        `amber: guest stopped: wfi at pc ${hex8(outcome.pc)} waits for an interrupt that cannot arrive (none enabled is pending, no timer armed, no input left)\n`,
      );
      return ExitCode.GuestCrashed;
  }
}
