import * as nodePath from "node:path";
import { type CheckpointReader, isCheckpointError } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { type Image, isImageFormat } from "@amber/image";
import {
  type CheckpointDisk,
  InputLog,
  Machine,
  type RunOutcome,
  SECTION_SPECS,
  savedByGuest,
} from "@amber/machine";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { oneLine } from "../error-line.js";
import { ExitCode } from "../exit-codes.js";
import { parseCount } from "../parse-size.js";
import { parseSerialSpec, SERIAL_HELP } from "../serial/serial-spec.js";
import type { SerialPort } from "../serial/socket-serial.js";
import { UserError } from "../user-error.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { referenceFound, resolveReference } from "./disk-references.js";
import { parseGdbAddress, serveGdb } from "./gdb-listen.js";
import { guestControl, runSavingWorlds } from "./guest-save-world.js";
import {
  closeDisks,
  type DiskSpec,
  diffFormat,
  machineDisks,
  openDisks,
  parseDiskSpec,
} from "./image-disks.js";
import { Recording, recordedFiles } from "./record-replay.js";
import { isRemoteRef } from "./registry-open.js";
import { checkSaveTarget, finishRun, openConsole, saveImage, saveNotReached, saveReport } from "./run.js";
import { saveAtAndRunOn } from "./run-while-saving.js";
import { checkSaveDestination } from "./save-target.js";

/**
 * Runs `f` with the checkpoint at `path` open (until the promise `f` returns settles, if it
 * does); its failures become one-line errors (exit 125).
 */
function withCheckpoint<T>(path: string, f: (reader: CheckpointReader) => T): T {
  const reader = openImage(path);
  return finallyAfter(
    () => {
      try {
        const result = f(reader);
        return result instanceof Promise
          ? (result.catch((e: unknown) => checkpointFailure(e, path)) as T)
          : result;
      } catch (e) {
        return checkpointFailure(e, path);
      }
    },
    () => reader.close(),
  );
}

/** `f()`, then `cleanup()`: at once, or once the promise `f` returns settles. */
function finallyAfter<T>(f: () => T, cleanup: () => void): T {
  let result: T;
  try {
    result = f();
  } catch (e) {
    cleanup();
    throw e;
  }
  if (result instanceof Promise) return result.finally(cleanup) as T;
  cleanup();
  return result;
}

export interface ResumeOptions {
  /** `--serial BACKEND`: where the console goes (see serial-spec.ts). */
  serial?: string;
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
  /** `--record LOG`: log every input the guest consumes, to replay the run (see record-replay.ts). */
  record?: string;
  /** `--gdb [HOST:]PORT [--wait]`: run under gdb (see gdb-listen.ts). */
  gdb?: string;
  wait?: boolean;
  /** `--worlds DIR`: where the guest's `(save-world "NAME")` saves NAME.amber (default: beside the image). */
  worlds?: string;
}

/**
 * Opens the bases of the disks `reader` holds: the `--disk` files given (in slot order),
 * else the recorded references (`%n%/file` through the image's search path, or a path
 * relative to the image). Never rw: the saved pages go over the base as shadowed writes.
 * A base that is not where the world says is one line naming the disk, where it looked
 * and the `amber relocate` that fixes it (exit 125).
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
    const where = resolveReference(imagePath, reader.header.searchPath, d.source);
    if (!referenceFound(where)) {
      const looked = where.problem ?? `looked for ${where.file}`;
      throw new UserError(
        `${imagePath}: disk ${d.slot} (${d.source}) not found: ${looked}; if it moved, amber relocate ${imagePath} --path OLD=NEW (or give it with --disk FILE)`,
        ExitCode.Failure,
      );
    }
    const file = where.file;
    const format = isImageFormat(d.format) ? d.format : undefined;
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
export function resumeCommand(env: CliEnv, path: string, options: ResumeOptions): number | Promise<number> {
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
  if (options.saveTo !== undefined) checkSaveDestination("--save-to", options.saveTo);
  const serial = options.serial === undefined ? undefined : parseSerialSpec(options.serial);
  let port: SerialPort | undefined;
  if (options.saveDiskDiff !== undefined) diffFormat(options.saveDiskDiff);
  if (options.record !== undefined && (saveAt !== undefined || options.gdb !== undefined)) {
    throw new UserError("--record cannot be combined with --save-at or --gdb", ExitCode.Usage);
  }
  if (options.gdb !== undefined) {
    if (serial !== undefined) throw new UserError("--gdb cannot be combined with --serial", ExitCode.Usage);
    if (saveAt !== undefined) throw new UserError("--gdb cannot be combined with --save-at", ExitCode.Usage);
    return resumeUnderGdb(env, path, options, parseGdbAddress(options.gdb), maxSteps);
  }
  if (options.wait) throw new UserError("--wait needs --gdb", ExitCode.Usage);
  const opening = { wall: env.now(), cpu: env.cpuNow() };
  return withCheckpoint(path, (reader) => {
    if (saveAt !== undefined && !options.full) checkSaveTarget(options.saveTo!, reader);
    const { specs, images } = openSavedDisks(reader, path, options.disk ?? []);
    if (options.saveDiskDiff !== undefined && images.length !== 1) {
      for (const i of images) i.close();
      throw new UserError("--save-disk-diff needs an image with exactly one disk", ExitCode.Usage);
    }
    // A save in the background keeps them open until it is durable and the guest has stopped.
    return finallyAfter(
      () => {
        port = serial === undefined ? undefined : openConsole(env, serial);
        return resumeMachine(
          { ...env, io: port ?? env.io },
          reader,
          path,
          options,
          saveAt,
          maxSteps,
          images,
          specs,
          opening,
        );
      },
      () => {
        port?.close();
        for (const i of images) i.close();
      },
    );
  });
}

/** `amber resume PATH --gdb [HOST:]PORT`: the saved machine under gdb's control, on the event loop. */
async function resumeUnderGdb(
  env: CliEnv,
  path: string,
  options: ResumeOptions,
  address: { host: string; port: number },
  maxSteps: number,
): Promise<number> {
  const reader = openImage(path);
  try {
    const { specs, images } = openSavedDisks(reader, path, options.disk ?? []);
    try {
      const control = guestControl(
        env.io,
        { refuse: "amber resume --gdb does not save worlds" },
        savedByGuest(reader),
      );
      const input = new InputLog(control);
      let machine: Machine;
      try {
        machine = Machine.fromCheckpoint(reader, {
          io: input,
          jit: options.jit,
          baselineBytes: 0,
          disks: machineDisks(images, specs),
        });
      } catch (e) {
        return checkpointFailure(e, path);
      }
      const started = env.now();
      const outcome = await serveGdb(env, machine, input, address, { wait: options.wait === true, maxSteps });
      if (outcome.kind === "killed") return ExitCode.Ok;
      closeDisks(images, specs, options.saveDiskDiff);
      return finishRun(env, machine, outcome, env.now() - started, options.stats === true);
    } finally {
      for (const i of images) i.close();
    }
  } finally {
    reader.close();
  }
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
  /** env.now() and env.cpuNow() before the image was opened. */
  opening: { wall: number; cpu: number },
): number | Promise<number> {
  // The guest's (save-world "NAME") is saved beside the image in a plain resume; elsewhere refused at once.
  const canSave = saveAt === undefined && options.record === undefined;
  const worlds = options.worlds ?? (isRemoteRef(path) ? "." : nodePath.dirname(path));
  const io = guestControl(
    env.io,
    canSave ? { worlds } : { refuse: "amber resume saves worlds only without --save-at and --record" },
    savedByGuest(reader),
  );
  const recording =
    options.record === undefined
      ? undefined
      : new Recording(
          { ...env, io },
          options.record,
          {
            args: [],
            cmdline: "",
            image: { path: nodePath.resolve(path), digest: reader.digest },
            options: {
              disk: specs.map(
                (d) => `${nodePath.resolve(d.file)}${d.format === undefined ? "" : `,format=${d.format}`}`,
              ),
            },
            files: recordedFiles(
              env,
              specs.map((d) => d.file),
            ),
          },
          false,
        );
  // Page copies for fast incremental saves only when there will be a save.
  let machine: Machine;
  try {
    machine = Machine.fromCheckpoint(reader, {
      io: recording?.input ?? io,
      jit: options.jit,
      baselineBytes: saveAt === undefined || options.full ? 0 : undefined,
      disks: machineDisks(images, specs),
    });
  } catch (e) {
    recording?.abandon();
    throw e;
  }
  recording?.attach(machine);
  const started = env.now();
  const startedCpu = env.cpuNow();
  const restored = { seconds: started - opening.wall, cpuSeconds: startedCpu - opening.cpu };
  // --max-insns and --save-at count from the start of the guest, as in `amber run`.
  let outcome: RunOutcome;
  let nothingSaved = false;
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
      const report = saveReport(env, machine, options.saveTo!, parent !== undefined);
      if (options.haltAfterSave) {
        report.done(saveImage(machine, options.saveTo!, { parent, progress: report.progress }));
        closeDisks(images, specs, options.saveDiskDiff);
        return ExitCode.Ok;
      }
      // As `amber run --save-at`: the guest runs on while the image is made durable.
      return saveAtAndRunOn(env, machine, options.saveTo!, maxSteps, { parent, report }).then((r) =>
        end(r.outcome, r.failed),
      );
    }
    nothingSaved = true;
  } else {
    let ran: RunOutcome | Promise<{ outcome: RunOutcome; failed: boolean }>;
    try {
      ran = canSave
        ? runSavingWorlds(env, machine, io, maxSteps, worlds, { reader, path })
        : machine.run(Math.max(0, maxSteps - machine.hart.steps));
    } catch (e) {
      recording?.abandon();
      throw e;
    }
    // The guest saved a world: the run went on while it was made durable.
    if (ran instanceof Promise) return ran.then((r) => end(r.outcome, r.failed));
    outcome = ran;
    recording?.finish(outcome);
  }
  return end(outcome, false);

  /** The end of the run: its status (125 when a save made in the background failed after all). */
  function end(outcome: RunOutcome, saveFailed: boolean): number {
    const seconds = env.now() - started;
    const runCpuSeconds = env.cpuNow() - startedCpu;
    closeDisks(images, specs, options.saveDiskDiff);
    const status = finishRun(env, machine, outcome, seconds, options.stats === true, {
      ...restored,
      runCpuSeconds,
    });
    if (nothingSaved) return saveNotReached(env, saveAt!, machine, status);
    return saveFailed ? ExitCode.Failure : status;
  }
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
    searchPath: h.searchPath,
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

/**
 * Opens an image for `inspect`: when its parent cannot be opened (missing, replaced, a
 * cycle), the image alone, so its own header is still shown; `parentProblem` says why.
 */
function openForInspect(path: string): { reader: CheckpointReader; parentProblem?: string } {
  // A world in a registry: its parents are in the registry too (openImage reads them lazily).
  if (isRemoteRef(path)) return { reader: openImage(path) };
  try {
    return { reader: openCheckpoint(path, { sections: SECTION_SPECS }) };
  } catch (e) {
    if (!isCheckpointError(e) || !["PARENT_MISSING", "PARENT_MISMATCH", "PARENT_CYCLE"].includes(e.code))
      return checkpointFailure(e, path);
    try {
      return {
        reader: openCheckpoint(path, { sections: SECTION_SPECS, withoutParent: true }),
        parentProblem: e.message,
      };
    } catch (again) {
      return checkpointFailure(again, path);
    }
  }
}

function inspectCommand(env: CliEnv, writeOut: (t: string) => void, path: string, json: boolean): number {
  const { reader, parentProblem } = openForInspect(path);
  if (parentProblem !== undefined)
    env.stderr(`amber: warning: ${oneLine(parentProblem)}; showing this image's own header\n`);
  let result: number;
  try {
    result = inspectReader(writeOut, reader, path, json, parentProblem);
  } catch (e) {
    return checkpointFailure(e, path);
  } finally {
    reader.close();
  }
  return result;
}

function inspectReader(
  writeOut: (t: string) => void,
  reader: CheckpointReader,
  path: string,
  json: boolean,
  parentProblem: string | undefined,
): number {
  const d = describe(reader, path);
  if (parentProblem !== undefined) d.parentProblem = parentProblem;
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
    `parent: ${d.parent ?? "none"}${d.parentHint ? ` (${d.parentHint})` : ""}${parentProblem !== undefined ? " — cannot be opened" : ""}`,
    `data size: ${d.dataSize} bytes`,
    "sections:",
    ...reader.sectionEntries.map(
      (e) => `  ${e.name} v${e.version} (min v${e.minVersion}), ${e.length} bytes`,
    ),
    ...(reader.header.searchPath.length === 0
      ? []
      : [`search path: ${reader.header.searchPath.map((dir, i) => `%${i + 1}% = ${dir}`).join(", ")}`]),
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
  setStatus: (s: number | Promise<number>) => void,
): void {
  program
    .command("resume")
    .description("Run a saved machine (amber run --save-to) on to its end; exit with the guest's status.")
    .argument("<checkpoint>", "an image file, or a REF to resume lazily from a registry")
    .option("--serial <backend>", SERIAL_HELP)
    .option("--cache <dir>", "chunk cache for a REF (default $XDG_CACHE_HOME/amber or ~/.cache/amber)")
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
      "--disk <file[,format=raw|qcow2|amber|vhdx|dmg]>",
      "the base of the image's next disk (repeatable, in slot order) instead of the path recorded in it",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--save-disk-diff <out>",
      "after the run, save the disk's writes (the saved ones and the new ones) as a diff layer over its base",
    )
    .option(
      "--gdb <[host:]port>",
      "serve the gdb remote protocol (with reverse execution) on this TCP port; under continue an idle guest waits for its timer in wall time",
    )
    .option("--wait", "with --gdb: do not resume the guest before gdb attaches")
    .option("--record <log>", "log every input the guest consumes, to replay the run exactly (amber replay)")
    .option(
      "--worlds <dir>",
      'where a guest\'s (save-world "NAME") saves NAME.amber, incremental on this image (default: beside the image)',
    )
    .addHelpText(
      "after",
      `
The guest runs on while the image is written, synced and renamed into place (copy-on-write:
the image is the instant --save-at names); the run ends once it is durable. An incremental
image stores only the RAM pages the guest wrote since the resumed image was saved
(XOR-delta against its pages) and finds the parent again by the path stored in it
(relative to the image); the parent's digest decides.
Disks: the image holds the pages the guest wrote; their bases are reopened from the
paths recorded (relative to the image) or from --disk, and must have the same content
(size and fingerprint are checked).
Exit status: the guest's own, 124 for --max-insns, 125 for a damaged image, a missing
parent or a save that failed, 126 for an unhandled trap, 2 for a bad command line.`,
    )
    .action((path: string, o) => setStatus(resumeCommand(env, path, o)));
  program
    .command("inspect")
    .description("Describe a checkpoint: header, sections with versions, segments, parent.")
    .argument("<checkpoint>", "an image file or a registry REF")
    .option("--json", "print JSON")
    .option("--cache <dir>", "chunk cache for a REF")
    .action((path: string, o) => setStatus(inspectCommand(env, writeOut, path, o.json === true)));
  program
    .command("verify")
    .description("Check every hash and checksum of a checkpoint (and its parents); exit 0 only if all hold.")
    .argument("<checkpoint>")
    .action((path: string) => setStatus(verifyCommand(writeOut, path)));
}
