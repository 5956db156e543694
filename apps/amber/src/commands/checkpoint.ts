import * as nodePath from "node:path";
import type { CheckpointReader } from "@amber/checkpoint";
import type { Image } from "@amber/image";
import { type CheckpointDisk, Machine, type RunOutcome } from "@amber/machine";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { parseCount } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { closeDisks, type DiskSpec, machineDisks, openDisks, parseDiskSpec } from "./image-disks.js";
import { checkSaveTarget, finishRun, saveAndContinue, saveMachine } from "./run.js";

/** Runs `f` with the checkpoint at `path` open; its failures become one-line errors (exit 125). */
function withCheckpoint<T>(path: string, f: (reader: CheckpointReader) => T): T {
  const reader = openImage(path);
  try {
    return f(reader);
  } catch (e) {
    return checkpointFailure(e, path);
  } finally {
    reader.close();
  }
}

export interface ResumeOptions {
  maxInsns?: string;
  jit?: boolean;
  stats?: boolean;
  saveAt?: string;
  saveTo?: string;
  haltAfterSave?: boolean;
  /** Save a full image instead of an incremental one on the resumed image. */
  full?: boolean;
  /** `--disk FILE[,format=...]`, repeatable: the bases of the image's disks, in slot order, instead of the recorded paths. */
  disk?: string[];
  saveDiskDiff?: string;
}

/**
 * Opens the bases of the disks `reader` holds: the `--disk` files given (in slot order),
 * else the recorded paths, relative to the image's directory. Never rw: the saved pages go
 * over the base as shadowed writes.
 */
export function openSavedDisks(
  reader: CheckpointReader,
  imagePath: string,
  given: readonly string[],
): { saved: CheckpointDisk[]; specs: DiskSpec[]; images: Image[] } {
  const saved = Machine.checkpointDisks(reader);
  if (given.length > saved.length) {
    throw new UserError(
      `--disk: ${given.length} given, but ${imagePath} holds ${saved.length} disk${saved.length === 1 ? "" : "s"}`,
      ExitCode.Usage,
    );
  }
  const specs = saved.map((d, i): DiskSpec => {
    const g = given[i];
    if (g !== undefined) {
      const spec = parseDiskSpec(g);
      if (spec.rw) {
        throw new UserError(
          `--disk ${g}: a resumed disk cannot be rw (its saved writes are put over the file without changing it)`,
          ExitCode.Usage,
        );
      }
      return spec;
    }
    const file = nodePath.isAbsolute(d.source)
      ? d.source
      : nodePath.join(nodePath.dirname(imagePath), d.source);
    const format = d.format === "raw" || d.format === "qcow2" || d.format === "amber" ? d.format : undefined;
    return { file, format, rw: false };
  });
  let images: Image[];
  try {
    images = openDisks(specs);
  } catch (e) {
    const which = saved.findIndex(
      (_, i) => given[i] === undefined && e instanceof Error && e.message.includes(specs[i]!.file),
    );
    if (which >= 0) {
      throw new UserError(
        `${imagePath}: disk ${saved[which]!.slot} was saved with ${specs[which]!.file}, which cannot be opened (${(e as Error).message}); give its base with --disk FILE`,
        ExitCode.Failure,
      );
    }
    throw e;
  }
  return { saved, specs, images };
}

/**
 * `amber resume PATH`: runs a saved machine on to its end, with `amber run`'s exit statuses.
 * With `--save-at N --save-to P` it saves again after N instructions in all while the guest
 * runs on (or stops there with `--halt-after-save`): an incremental image on PATH holding
 * only the pages the guest wrote since PATH's instant (dirty epochs), or a full one with
 * `--full`.
 */
export function resumeCommand(env: CliEnv, path: string, options: ResumeOptions): number {
  const maxSteps = options.maxInsns === undefined ? Number.POSITIVE_INFINITY : parseCount(options.maxInsns);
  if (Number.isNaN(maxSteps)) {
    throw new UserError(`--max-insns: cannot read "${options.maxInsns}" as a whole number`, ExitCode.Usage);
  }
  const saveAt = options.saveAt === undefined ? undefined : parseCount(options.saveAt);
  if (saveAt !== undefined && Number.isNaN(saveAt)) {
    throw new UserError(`--save-at: cannot read "${options.saveAt}" as a whole number`, ExitCode.Usage);
  }
  if ((saveAt === undefined) !== (options.saveTo === undefined)) {
    throw new UserError("--save-at and --save-to go together", ExitCode.Usage);
  }
  if ((options.haltAfterSave || options.full) && saveAt === undefined) {
    throw new UserError("--halt-after-save and --full need --save-at and --save-to", ExitCode.Usage);
  }
  return withCheckpoint(path, (reader) => {
    if (saveAt !== undefined && !options.full) checkSaveTarget(options.saveTo!, reader);
    const { specs, images } = openSavedDisks(reader, path, options.disk ?? []);
    if (options.saveDiskDiff !== undefined && images.length !== 1) {
      for (const i of images) i.close();
      throw new UserError("--save-disk-diff needs an image with exactly one disk", ExitCode.Usage);
    }
    try {
      return resumeMachine(env, reader, path, options, saveAt, maxSteps, images, specs);
    } finally {
      for (const i of images) i.close();
    }
  });
}

function resumeMachine(
  env: CliEnv,
  reader: CheckpointReader,
  path: string,
  options: ResumeOptions,
  saveAt: number | undefined,
  maxSteps: number,
  images: Image[],
  specs: DiskSpec[],
): number {
  // Page copies for fast incremental saves only when there will be a save.
  const machine = Machine.fromCheckpoint(reader, {
    io: env.io,
    jit: options.jit,
    baselineBytes: saveAt === undefined || options.full ? 0 : undefined,
    disks: machineDisks(images, specs),
  });
  const started = env.now();
  // --max-insns and --save-at count from the start of the guest, as in `amber run`.
  let outcome: RunOutcome;
  if (saveAt !== undefined) {
    if (saveAt < machine.hart.steps) {
      throw new UserError(
        `--save-at ${saveAt}: the image is already at instruction ${machine.hart.steps}`,
        ExitCode.Usage,
      );
    }
    outcome = machine.run(Math.max(0, Math.min(saveAt, maxSteps) - machine.hart.steps));
    if (machine.hart.steps === saveAt && outcome.kind === "budget") {
      // Incremental on the resumed image, the machine's baseline: only the pages dirtied since.
      const parent = options.full ? undefined : { reader, path };
      if (options.haltAfterSave) {
        saveMachine(machine, options.saveTo!, parent);
        closeDisks(images, specs, options.saveDiskDiff);
        return ExitCode.Ok;
      }
      outcome = saveAndContinue(machine, options.saveTo!, maxSteps, parent);
      if (outcome.kind === "budget") outcome = machine.run(Math.max(0, maxSteps - machine.hart.steps));
    } else {
      env.stderr(`amber: the guest stopped before step ${saveAt}: nothing saved\n`);
    }
  } else {
    outcome = machine.run(Math.max(0, maxSteps - machine.hart.steps));
  }
  const seconds = env.now() - started;
  closeDisks(images, specs, options.saveDiskDiff);
  return finishRun(env, machine, outcome, seconds, options.stats === true);
}

const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/** What `amber inspect` shows of an image. */
function describe(reader: CheckpointReader, path: string): Record<string, unknown> {
  const h = reader.header;
  return {
    file: path,
    digest: reader.digest,
    formatVersion: h.formatVersion,
    machine: h.machine,
    creator: `${h.creatorName} ${h.creatorVersion}`,
    createdAt: new Date(h.createdAt).toISOString(),
    instructionCount: h.instructionCount.toString(),
    parent: reader.parentDigest ?? null,
    parentHint: h.parentHint || null,
    incremental: reader.isIncremental,
    dataSize: h.dataSize,
    sections: reader.sectionEntries.map((e) => ({
      name: e.name,
      version: e.version,
      minVersion: e.minVersion,
      bytes: e.length,
    })),
    disks: savedDisks(reader),
    segments: reader.segments.map((s) => ({
      name: s.name,
      base: hex(s.base),
      size: s.size,
      pageSize: s.pageSize,
      pages: s.pageCount,
      storedPages: s.storedPageCount,
    })),
  };
}

/** The disks a machine image holds (none for an image of something else). */
function savedDisks(reader: CheckpointReader): CheckpointDisk[] {
  try {
    return Machine.checkpointDisks(reader);
  } catch {
    return [];
  }
}

function inspectCommand(writeOut: (t: string) => void, path: string, json: boolean): number {
  return withCheckpoint(path, (reader) => {
    const d = describe(reader, path);
    if (json) {
      writeOut(`${JSON.stringify(d, null, 2)}\n`);
      return ExitCode.Ok;
    }
    const disks = d.disks as CheckpointDisk[];
    const lines = [
      `file: ${path}`,
      `digest: ${d.digest}`,
      `format version: ${d.formatVersion}`,
      `machine: ${d.machine}`,
      `creator: ${d.creator}`,
      `created: ${d.createdAt}`,
      `instructions: ${d.instructionCount}`,
      `parent: ${d.parent ?? "none"}${d.parentHint ? ` (${d.parentHint})` : ""}`,
      `data size: ${d.dataSize} bytes`,
      "sections:",
      ...reader.sectionEntries.map(
        (e) => `  ${e.name} v${e.version} (min v${e.minVersion}), ${e.length} bytes`,
      ),
      ...(disks.length === 0
        ? []
        : [
            "disks:",
            ...disks.map(
              (d) =>
                `  virtio${d.slot}: ${d.source || "(no name)"}${d.format ? ` (${d.format})` : ""}, ${d.size} bytes, ${d.writtenPages} written pages in disk${d.slot}${d.readOnly ? ", read-only" : ""}, base ${d.fingerprint}`,
            ),
          ]),
      "segments:",
      ...reader.segments.map(
        (s) =>
          `  ${s.name} at ${hex(s.base)}, ${s.size} bytes, ${s.pageCount} pages of ${s.pageSize}, ${s.storedPageCount} stored`,
      ),
    ];
    writeOut(`${lines.join("\n")}\n`);
    return ExitCode.Ok;
  });
}

function verifyCommand(writeOut: (t: string) => void, path: string): number {
  return withCheckpoint(path, (reader) => {
    reader.verify();
    writeOut(`${path}: ok (${reader.digest})\n`);
    return ExitCode.Ok;
  });
}

export function registerCheckpointCommands(
  program: Command,
  env: CliEnv,
  writeOut: (t: string) => void,
  setStatus: (s: number) => void,
): void {
  program
    .command("resume")
    .description("Run a saved machine (amber run --save-to) on to its end; exit with the guest's status.")
    .argument("<checkpoint>")
    .option("--max-insns <n>", "stop once the guest has run N instructions in all (exit status 124)")
    .option("--no-jit", "interpret every instruction")
    .option("--stats", "print one JSON line of statistics on stderr at the end")
    .option("--save-at <n>", "save again once the guest has run N instructions in all (with --save-to)")
    .option(
      "--save-to <path>",
      "where --save-at saves (while the guest runs on): an incremental image naming this checkpoint as parent",
    )
    .option("--halt-after-save", "stop with status 0 once saved instead of running on")
    .option("--full", "save a full image (no parent) instead of an incremental one")
    .option(
      "--disk <file[,format=raw|qcow2|amber]>",
      "the base of the image's next disk (repeatable, in slot order) instead of the path recorded in it",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--save-disk-diff <out>",
      "after the run, save the disk's writes (the saved ones and the new ones) as a diff layer over its base",
    )
    .addHelpText(
      "after",
      `
The guest runs on while the image is written (copy-on-write: the image is the instant
--save-at names). An incremental image stores only the RAM pages the guest wrote since the
resumed image was saved (XOR-delta against its pages) and finds the parent again by the
path stored in it (relative to the image); the parent's digest decides.
Disks: the image holds the pages the guest wrote; their bases are reopened from the
paths recorded (relative to the image) or from --disk, and must have the same content
(size and fingerprint are checked).
Exit status: the guest's own, 124 for --max-insns, 125 for a damaged image or a missing
parent, 126 for an unhandled trap, 2 for a bad command line.`,
    )
    .action((path: string, o) => setStatus(resumeCommand(env, path, o)));
  program
    .command("inspect")
    .description("Describe a checkpoint: header, sections with versions, segments, parent.")
    .argument("<checkpoint>")
    .option("--json", "print JSON")
    .action((path: string, o) => setStatus(inspectCommand(writeOut, path, o.json === true)));
  program
    .command("verify")
    .description("Check every hash and checksum of a checkpoint (and its parents); exit 0 only if all hold.")
    .argument("<checkpoint>")
    .action((path: string) => setStatus(verifyCommand(writeOut, path)));
}
