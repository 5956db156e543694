import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_RAM_SIZE, Machine, MachineError } from "@amber/machine";
import { ConsoleIo, MonitorError, WorldSession } from "@amber/monitor";
import type { CliEnv } from "../cli-env.js";
import { openImage } from "../commands/checkpoint-open.js";
import { machineDisks, openDisks, parseDiskSpec } from "../commands/image-disks.js";
import { isRemoteRef } from "../commands/registry-open.js";
import { readInput } from "../commands/run.js";
import { ExitCode } from "../exit-codes.js";
import { sizeOption } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { DEFAULT_GUEST, defaultGuestPath } from "./default-guest.js";
import { IdleCompactor, idleCompactDelay } from "./idle-compactor.js";
import { MachineDirectory, WORLDS_DIR } from "./machine-directory.js";
import { NodeWorldStore } from "./node-world-store.js";
import { ReplLoop, type ReplStreams } from "./repl-loop.js";

export interface ReplOptions {
  ram?: string;
  jit?: boolean;
  dir?: string;
  /** `--disk FILE[,format=...][,rw]`, repeatable: disks of a booted machine (a resumed world brings its own). */
  disk?: string[];
  /** `--no-idle-compact`: false leaves fast-saved worlds as they are while the REPL is idle. */
  idleCompact?: boolean;
}

/** What `amber repl [TARGET]` starts from. */
type Start =
  | { kind: "boot"; program: string; dir: string }
  | { kind: "resume"; image: string; name: string; dir: string };

function isElf(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

/** Default machine directory for a program or image: ./amber-<stem> (e.g. ./amber-lisp). */
function defaultDir(file: string): string {
  const stem = path.basename(file).replace(/\.[^.]*$/, "");
  return `amber-${stem}`;
}

function resolveStart(target: string | undefined, options: ReplOptions): Start {
  if (target === undefined) {
    const program = defaultGuestPath();
    if (!fs.existsSync(program)) {
      throw new UserError(
        `the default guest ${DEFAULT_GUEST} is missing (looked for ${program})`,
        ExitCode.Failure,
      );
    }
    return { kind: "boot", program, dir: options.dir ?? defaultDir(DEFAULT_GUEST) };
  }
  if (isRemoteRef(target)) {
    // A world in a registry, resumed lazily; saves go to ./amber-REPO unless --dir says.
    const name = target.replace(/^.*\//, "").replace(/[:@].*$/, "");
    return { kind: "resume", image: target, name, dir: options.dir ?? `amber-${name}` };
  }
  if (!fs.existsSync(target)) throw new UserError(`${target}: no such file or directory`, ExitCode.Failure);
  if (fs.statSync(target).isDirectory()) {
    if (options.dir !== undefined)
      throw new UserError("--dir: the target is already a machine directory", ExitCode.Usage);
    const dir = MachineDirectory.open(target);
    const current = dir.current;
    if (current !== undefined && dir.hasWorld(current)) {
      return { kind: "resume", image: dir.worldPath(current), name: current, dir: target };
    }
    const program = dir.programPath;
    if (program === undefined) {
      throw new UserError(`${target}: no saved world to resume and no program to boot`, ExitCode.Failure);
    }
    return { kind: "boot", program, dir: target };
  }
  if (isElf(target)) return { kind: "boot", program: target, dir: options.dir ?? defaultDir(target) };
  // An image: inside a machine directory's worlds/, that directory is its home.
  const parent = path.dirname(path.resolve(target));
  const home =
    path.basename(parent) === WORLDS_DIR && MachineDirectory.isMachine(path.dirname(parent))
      ? path.dirname(parent)
      : undefined;
  const name = path.basename(target).replace(/\.amber$/, "");
  return { kind: "resume", image: target, name, dir: options.dir ?? home ?? defaultDir(target) };
}

/**
 * `amber repl [TARGET]`: an interactive session on a live machine. TARGET is a machine
 * directory (resumes its current world, or boots its program), an ELF (boots it), or a
 * saved world image (resumes it); none boots the default Lisp world.
 */
export function replCommand(
  env: CliEnv,
  target: string | undefined,
  options: ReplOptions,
  streams: ReplStreams,
): Promise<number> {
  const start = resolveStart(target, options);
  const jit = options.jit !== false;
  let loop: ReplLoop | undefined;
  const io = new ConsoleIo((data) => loop?.guestOutput(data));
  let programBytes: Uint8Array | undefined;
  let session: WorldSession;
  const events = {
    idle: () => loop?.guestIdle(),
    stopped: (m: string) => loop?.guestStopped(m),
    exited: (code: number) => loop?.guestExited(code),
    failed: (e: unknown) => loop?.guestFailed(e),
    saveWorld: (name: string) => loop?.guestSaveWorld(name) ?? Promise.resolve(),
  };
  let directory = MachineDirectory.isMachine(start.dir) ? MachineDirectory.open(start.dir) : undefined;
  let ramSize = 0;
  const dirFor = (create: boolean): MachineDirectory | undefined => {
    if (directory === undefined && create) {
      directory = MachineDirectory.create(start.dir, programBytes, ramSize);
    }
    return directory;
  };
  const store = new NodeWorldStore(dirFor, start.dir);
  const diskSpecs = (options.disk ?? []).map(parseDiskSpec);
  if (diskSpecs.length > 0 && start.kind !== "boot")
    throw new UserError(
      "--disk: a resumed world brings its own disks (found through its search path; amber relocate moves them)",
      ExitCode.Usage,
    );
  if (start.kind === "boot") {
    const ramSize =
      options.ram === undefined ? (directory?.ram ?? DEFAULT_RAM_SIZE) : sizeOption("--ram", options.ram);
    programBytes = readInput(env, start.program);
    const images = openDisks(diskSpecs);
    try {
      const disks = machineDisks(images, diskSpecs);
      const machine = new Machine({ ramSize, io, jit, cmdline: path.basename(start.program), disks });
      machine.loadElf(programBytes, start.program);
      session = new WorldSession(machine, io, events, jit, store, !streams.terminal);
      session.closeDisks = () => {
        for (const i of images) i.close();
      };
    } catch (e) {
      for (const i of images) i.close();
      if (e instanceof MachineError) throw new UserError(e.message, ExitCode.Failure);
      throw e;
    }
  } else {
    const ref = { name: start.name, location: start.image };
    try {
      session = WorldSession.resume(openImage(start.image), ref, io, events, jit, store, !streams.terminal);
    } catch (e) {
      if (e instanceof MonitorError) throw new UserError(e.message, ExitCode.Failure);
      throw e;
    }
    if (directory?.hasWorld(start.name)) directory.setCurrent(start.name);
  }
  ramSize = session.machine.ram.size;
  const compactor = new IdleCompactor(
    store,
    idleCompactDelay(),
    () => loop?.quiet() ?? false,
    (text) => loop?.notice(text),
    options.idleCompact !== false,
  );
  loop = new ReplLoop(session, streams, () => directory?.worlds() ?? [], compactor);
  const what =
    start.kind === "boot"
      ? `booting ${path.basename(start.program)}`
      : `resuming ${start.name} at instruction ${session.machine.hart.steps.toLocaleString("en")}`;
  const where =
    directory === undefined
      ? `saves go to ${start.dir}/ (created on first :save)`
      : directory.readOnly
        ? `machine ${start.dir}, read-only (its worlds run; :save cannot write there)`
        : `machine ${start.dir}`;
  return loop.run(
    `amber: ${what} on a ${Math.round(ramSize / 1048576)} MiB virt board; ${where}. :help for the monitor, :quit to leave.\n`,
  );
}
