import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckpointInput, CheckpointReader, SectionInput } from "@amber/checkpoint";
import { writeCheckpointFile } from "@amber/checkpoint/node";
import { disassemble } from "@amber/isa";
import {
  DEFAULT_RAM_SIZE,
  type HostIo,
  InputLog,
  Machine,
  MachineError,
  type MachineSave,
  type ReplayLog,
  type RunOutcome,
} from "@amber/machine";
import { describeTrap } from "@amber/monitor";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { readFailure } from "../file-error.js";
import { hex8 } from "../hex.js";
import { formatBytes, parseCount, sizeOption } from "../parse-size.js";
import { parseSerialSpec, type SerialSpec, serialText } from "../serial/serial-spec.js";
import type { SerialPort } from "../serial/socket-serial.js";
import { UserError } from "../user-error.js";
import { VERSION } from "../version.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { diskReference } from "./disk-references.js";
import { DiskTrace } from "./disk-trace.js";
import { parseGdbAddress, serveGdb } from "./gdb-listen.js";
import { guestControl, runSavingWorlds } from "./guest-save-world.js";
import { closeDisks, diffFormat, machineDisks, openDisks, parseDiskSpec } from "./image-disks.js";
import { progressBar } from "./image-progress.js";
import { Recording, recordedFiles } from "./record-replay.js";
import { isRemoteRef } from "./registry-open.js";
import { saveAtAndRunOn } from "./run-while-saving.js";
import { checkSaveDestination } from "./save-target.js";

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
  /** `--balloon`: a virtio memory balloon with free page reporting in the last virtio slot. */
  balloon?: boolean;
  saveDiskDiff?: string;
  /** `--disk-trace FILE`: one line per guest write to a disk (see DiskTrace). */
  diskTrace?: string;
  /** `--save-at N --save-to PATH [--halt-after-save]`: save the whole machine after N steps. */
  saveAt?: string;
  saveTo?: string;
  haltAfterSave?: boolean;
  /**
   * `--parent IMAGE`: save an incremental image holding only the pages that differ from
   * IMAGE's (compared page by page: a booted machine has no baseline).
   */
  parent?: string;
  /** `--serial stdio|file:PATH|tcp:HOST:PORT[,server]|unix:PATH[,server]|none`: where the console goes. */
  serial?: string;
  /** `--gdb [HOST:]PORT [--wait]`: serve the gdb remote protocol (see gdb-listen.ts). */
  gdb?: string;
  wait?: boolean;
  /** `--record LOG`: log every input the guest consumes, to replay the run (see record-replay.ts). */
  record?: string;
  /** `--worlds DIR`: where the guest's `(save-world "NAME")` saves NAME.amber (default: the current directory). */
  worlds?: string;
}

/** Most RAM the board maps (0x8000_0000 up to the end of the 32-bit space). */
const MAX_RAM = 0x8000_0000;

/** `--ram TEXT`: a size the board can have, or a usage error (exit 2) saying it in human units. */
export function ramOption(text: string): number {
  const n = sizeOption("--ram", text);
  if (n < 4096 || n > MAX_RAM || n % 4096 !== 0) {
    throw new UserError(
      `--ram ${text}: ${formatBytes(n)} is not a RAM size of the virt board (a multiple of 4 KiB from 4 KiB to ${formatBytes(MAX_RAM)})`,
      ExitCode.Usage,
    );
  }
  return n;
}

/** A file the user named (program, kernel, firmware), or a one-line error (exit 125). */
export function readInput(env: CliEnv, file: string): Uint8Array {
  try {
    return env.readFile(file);
  } catch (e) {
    throw new UserError(readFailure(file, e, "a file"), ExitCode.Failure);
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
): number | Promise<number> {
  const ramSize = options.ram === undefined ? DEFAULT_RAM_SIZE : ramOption(options.ram);
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
  const gdb = options.gdb === undefined ? undefined : parseGdbAddress(options.gdb);
  if (options.wait && gdb === undefined) throw new UserError("--wait needs --gdb", ExitCode.Usage);
  if (gdb !== undefined && (saveAt !== undefined || options.trace || options.hostTime)) {
    throw new UserError("--gdb cannot be combined with --save-at, --trace or --host-time", ExitCode.Usage);
  }
  if (options.record !== undefined && (gdb !== undefined || saveAt !== undefined || options.trace)) {
    throw new UserError("--record cannot be combined with --gdb, --save-at or --trace", ExitCode.Usage);
  }
  if (options.record !== undefined && diskSpecsRw(options.disk ?? [])) {
    throw new UserError(
      '--record: a disk opened rw changes its file, so the run could not be replayed from it: drop ",rw"',
      ExitCode.Usage,
    );
  }
  if (saveAt !== undefined && options.trace) {
    throw new UserError("--save-at cannot be combined with --trace", ExitCode.Usage);
  }
  if (options.saveTo !== undefined) checkSaveDestination("--save-to", options.saveTo);

  const serial = options.serial === undefined ? undefined : parseSerialSpec(options.serial);
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
  if (options.saveDiskDiff !== undefined) diffFormat(options.saveDiskDiff);
  const disks = openDisks(diskSpecs);
  // Opened first: a missing or damaged parent is reported before the guest runs.
  const parent = options.parent === undefined ? undefined : openImage(options.parent);
  const trace = options.diskTrace === undefined ? undefined : new DiskTrace(options.diskTrace, disks);
  let port: SerialPort | undefined;
  // A run that saved in the background ends later: the console and the parent stay open until then.
  let later = false;
  const close = (): void => {
    port?.close();
    parent?.close();
    trace?.close();
  };
  try {
    if (parent !== undefined) checkSaveTarget(options.saveTo!, parent);
    if (gdb !== undefined) {
      if (serial !== undefined) throw new UserError("--gdb cannot be combined with --serial", ExitCode.Usage);
      return debugMachine(env, file, args, options, { ramSize, maxSteps, diskSpecs, disks, gdb });
    }
    port = serial === undefined ? undefined : openConsole(env, serial);
    const io = port ?? env.io;
    const status = runMachine(env, io, file, args, options, {
      ramSize,
      maxSteps,
      saveAt,
      diskSpecs,
      disks,
      parent,
      trace,
    });
    if (typeof status === "number") return status;
    later = true;
    return status.finally(close);
  } finally {
    if (!later) close();
  }
}

/** The console back end `--serial` names (undefined: the environment's own, stdio). */
export function openConsole(env: CliEnv, spec: SerialSpec): SerialPort | undefined {
  if (spec.kind === "stdio") return undefined;
  if (env.openSerial === undefined) {
    throw new UserError(`--serial ${serialText(spec)}: not available here (only stdio)`, ExitCode.Usage);
  }
  return env.openSerial(spec);
}

function runMachine(
  env: CliEnv,
  hostIo: HostIo,
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
    trace: DiskTrace | undefined;
  },
): number | Promise<number> {
  const { ramSize, maxSteps, saveAt, diskSpecs, disks } = o;
  // The guest's (save-world "NAME") is saved in the plain run; elsewhere refused at once.
  const canSave = !options.trace && saveAt === undefined && options.record === undefined;
  const worlds = options.worlds ?? ".";
  const io = guestControl(
    hostIo,
    canSave ? { worlds } : { refuse: "amber run saves worlds only without --trace, --save-at and --record" },
    false,
  );

  const recording =
    options.record === undefined
      ? undefined
      : new Recording(
          { ...env, io },
          options.record,
          {
            file: file === undefined ? undefined : path.resolve(file),
            args,
            cmdline: [file ?? options.kernel, ...args].join(" "),
            options: recordedOptions(options),
            files: recordedFiles(env, inputPaths(file, options)),
          },
          options.hostTime === true,
        );
  let machine: Machine;
  try {
    machine = bootMachine(env, file, args, options, {
      ramSize,
      diskSpecs,
      disks,
      io: recording?.input ?? io,
      hostTime: recording !== undefined && options.hostTime ? recording.input.hostTime() : undefined,
    });
  } catch (e) {
    recording?.abandon();
    throw e;
  }
  recording?.attach(machine);
  o.trace?.clock(() => machine.hart.steps);

  const started = env.now();
  let outcome: RunOutcome;
  let nothingSaved = false;
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
      const report = saveReport(env, machine, options.saveTo!, parent !== undefined);
      if (options.haltAfterSave) {
        report.done(saveImage(machine, options.saveTo!, { parent, progress: report.progress }));
        closeDisks(disks, diskSpecs, options.saveDiskDiff);
        return ExitCode.Ok;
      }
      // The guest waits only for the state to be captured, then runs on while the image is
      // made durable.
      return saveAtAndRunOn(env, machine, options.saveTo!, maxSteps, { parent, report }).then((r) =>
        end(r.outcome, r.failed),
      );
    }
    nothingSaved = true;
  } else {
    let ran: RunOutcome | Promise<{ outcome: RunOutcome; failed: boolean }>;
    try {
      ran = canSave ? runSavingWorlds(env, machine, io, maxSteps, worlds) : machine.run(maxSteps);
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
    closeDisks(disks, diskSpecs, options.saveDiskDiff);
    const status = finishRun(env, machine, outcome, seconds, options.stats === true);
    if (nothingSaved) return saveNotReached(env, saveAt!, machine, status);
    return saveFailed ? ExitCode.Failure : status;
  }
}

/**
 * `--save-at N` past the end of the run: nothing was saved, which the caller asked for, so
 * the status is 125 (Amber could not do what was asked), whatever the guest's own was.
 */
export function saveNotReached(env: CliEnv, saveAt: number, machine: Machine, guestStatus: number): number {
  env.stderr(
    `amber: --save-at ${saveAt}: the guest stopped at instruction ${machine.hart.steps} (status ${guestStatus}), before it: nothing saved\n`,
  );
  return ExitCode.Failure;
}

/** What a save shows: a progress bar on a terminal when it takes more than a moment, one line at the end. */
export interface SaveReport {
  progress(pagesWritten: number): void;
  done(saved: { digest: string; pages: number }): void;
}

/** Progress after this long only: most saves end before anyone would read a bar. */
const PROGRESS_AFTER_MS = 500;

export function saveReport(env: CliEnv, machine: Machine, target: string, incremental: boolean): SaveReport {
  const started = env.now();
  const steps = machine.hart.steps;
  const total = Math.max(1, machine.dirtyPages());
  let bar: ReturnType<typeof progressBar> | undefined;
  return {
    progress: (pages) => {
      if (bar === undefined && (env.now() - started) * 1000 < PROGRESS_AFTER_MS) return;
      bar ??= progressBar(`saving ${target}`, true);
      bar.update(Math.min(pages, total) * 4096, total * 4096);
    },
    done: (saved) => {
      bar?.stop();
      let size = "";
      try {
        size = `${formatBytes(fs.statSync(target).size)}, `;
      } catch {}
      const ms = (env.now() - started) * 1000;
      env.stderr(
        `amber: saved ${target} (${incremental ? "incremental" : "full"}): ${size}${saved.pages} page${saved.pages === 1 ? "" : "s"}, at instruction ${steps.toLocaleString("en")}, in ${ms.toFixed(1)} ms\n`,
      );
    },
  };
}

/** Whether any `--disk` spec opens its file rw. */
function diskSpecsRw(specs: readonly string[]): boolean {
  return specs.some((d) => parseDiskSpec(d).rw);
}

/** The files a run reads: program or kernel, firmware, initrd, disks. */
function inputPaths(file: string | undefined, options: RunOptions): string[] {
  const disks = (options.disk ?? []).map((d) => parseDiskSpec(d).file);
  return [file, options.kernel, options.bios, options.initrd, ...disks].filter((p) => p !== undefined);
}

/** The options that build the machine, as a replay log keeps them (file paths absolute). */
function recordedOptions(o: RunOptions): ReplayLog["start"]["options"] {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(p));
  const kept: Record<string, string | boolean | string[] | undefined> = {
    ram: o.ram,
    kernel: abs(o.kernel),
    bios: abs(o.bios),
    initrd: abs(o.initrd),
    append: o.append,
    jit: o.jit,
    hostTime: o.hostTime,
    balloon: o.balloon,
    disk: (o.disk ?? []).map((d) => {
      const spec = parseDiskSpec(d);
      return `${path.resolve(spec.file)}${spec.format === undefined ? "" : `,format=${spec.format}`}`;
    }),
  };
  return Object.fromEntries(
    Object.entries(kept).filter(([, v]) => v !== undefined),
  ) as ReplayLog["start"]["options"];
}

/** The board the command line describes, with its program or kernel loaded. */
export function bootMachine(
  env: CliEnv,
  file: string | undefined,
  args: string[],
  options: RunOptions,
  o: {
    ramSize: number;
    diskSpecs: ReturnType<typeof parseDiskSpec>[];
    disks: ReturnType<typeof openDisks>;
    io: HostIo;
    /** What the guest's SYS_GET_CMDLINE returns (default: the program and its arguments as given). */
    cmdline?: string;
    /** The host clock the guest's time follows (default: the host's, under --host-time). */
    hostTime?: { now(): number; sleep(ms: number): void };
  },
): Machine {
  const { ramSize, diskSpecs, disks } = o;
  let machine: Machine;
  try {
    machine = new Machine({
      ramSize,
      io: o.io,
      cmdline: o.cmdline ?? [file ?? options.kernel, ...args].join(" "),
      bootargs: options.append,
      jit: options.jit,
      hostTime: o.hostTime ?? (options.hostTime ? env.hostClock : undefined),
      disks: machineDisks(disks, diskSpecs),
      balloon: options.balloon === true,
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

  return machine;
}

/** `amber run ... --gdb [HOST:]PORT`: the guest under gdb's control, on the event loop. */
async function debugMachine(
  env: CliEnv,
  file: string | undefined,
  args: string[],
  options: RunOptions,
  o: {
    ramSize: number;
    maxSteps: number;
    diskSpecs: ReturnType<typeof parseDiskSpec>[];
    disks: ReturnType<typeof openDisks>;
    gdb: { host: string; port: number };
  },
): Promise<number> {
  const input = new InputLog(guestControl(env.io, { refuse: "amber run --gdb does not save worlds" }, false));
  const machine = bootMachine(env, file, args, options, { ...o, io: input });
  const started = env.now();
  try {
    const outcome = await serveGdb(env, machine, input, o.gdb, {
      wait: options.wait === true,
      maxSteps: o.maxSteps,
    });
    if (outcome.kind === "killed") return ExitCode.Ok;
    return finishRun(env, machine, outcome, env.now() - started, options.stats === true);
  } finally {
    closeDisks(o.disks, o.diskSpecs, options.saveDiskDiff);
  }
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
  // A world resumed from a registry is named by its REF (pull it to open the child locally).
  if (isRemoteRef(parent.path)) return parent.path;
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
  /** Told the pages written so far, every `every` pages (for a progress bar). */
  progress?: (pagesWritten: number) => void;
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
  try {
    const { save, input } = beginImageSave(machine, target, request);
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

/**
 * Starts saving the machine as it is now to `target` (see `saveImage`): the machine's save
 * and its checkpoint input, the guest run between batches of pages as `request` says. The
 * caller writes `input` and then calls `save.committed` (or `save.end()` on failure).
 */
export function beginImageSave(
  machine: Machine,
  target: string,
  request: SaveRequest,
): { save: MachineSave; input: CheckpointInput } {
  const { parent } = request;
  let written = (): number => 0;
  const between =
    request.progress === undefined
      ? request.between
      : () => {
          request.between?.();
          request.progress?.(written());
        };
  const searchPath: string[] = [];
  const save = machine.beginSave(
    { name: "amber", version: VERSION },
    {
      parent: parent?.reader,
      parentHint: parent === undefined ? undefined : parentHint(parent, target),
      // A disk's base is recorded as %n%/file, its directory in the image's search path
      // (relative to the image, as the parent is): `amber relocate` moves it.
      diskSource: (source) => diskReference(target, source, searchPath),
      every: request.every ?? SAVE_SLICE_PAGES,
      between,
    },
  );
  written = () => save.pagesWritten();
  const input = {
    ...save.input,
    searchPath,
    sections:
      request.sections === undefined ? save.input.sections : [...save.input.sections, ...request.sections],
  };
  return { save, input };
}

/** Saves with the guest stopped (see `saveImage`); returns the image's digest. */
export function saveMachine(machine: Machine, target: string, parent?: SaveParent): string {
  return saveImage(machine, target, { parent }).digest;
}

/** Pages encoded between two slices of the guest while a save runs it on (`SaveRequest.between`). */
const SAVE_SLICE_PAGES = 64;

/** What `amber resume --stats` adds: the restore's wall and CPU time, and the run's CPU time. */
export interface ResumeTimes {
  /** From opening the image to the machine restored, ready to run. */
  seconds: number;
  /** CPU time of the same (all the process's threads). */
  cpuSeconds: number;
  /** CPU time of the run (whose wall time is finishRun's `seconds`). */
  runCpuSeconds: number;
}

/**
 * Reports the end of a run (statistics, why it stopped) and returns the exit status.
 * `resumed` (`amber resume`) adds restoreSeconds, restoreCpuSeconds and runCpuSeconds: with a
 * run one instruction long (`--max-insns` one past the image's count), restoreSeconds +
 * seconds is the time to the first guest instruction, and restoreCpuSeconds + runCpuSeconds
 * its CPU time.
 */
export function finishRun(
  env: CliEnv,
  machine: Machine,
  outcome: RunOutcome,
  seconds: number,
  stats: boolean,
  resumed?: ResumeTimes,
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
        ...(resumed === undefined
          ? {}
          : {
              restoreSeconds: Number(resumed.seconds.toFixed(6)),
              restoreCpuSeconds: Number(resumed.cpuSeconds.toFixed(6)),
              runCpuSeconds: Number(resumed.runCpuSeconds.toFixed(6)),
            }),
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
