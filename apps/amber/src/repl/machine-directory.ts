import * as fs from "node:fs";
import * as path from "node:path";
import { removeStaleTemps } from "@amber/checkpoint/node";
import { writeFileAtomic } from "@amber/image/node";
import { isWorldName, WORLD_EXT, WORLD_NAME } from "@amber/monitor";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/** File in a machine directory that says what the machine is. */
export const MACHINE_FILE = "machine.json";
/** Where a machine directory keeps its saved worlds, one image file each. */
export const WORLDS_DIR = "worlds";
/** The program a machine directory boots when it has no world yet. */
export const PROGRAM_FILE = "program.elf";
/** Extension of a world's image file (one fact, kept by the monitor's world stores). */
export { WORLD_EXT };

/** What `machine.json` holds (version 1). Unknown keys are kept for newer Ambers. */
export interface MachineConfig {
  amberMachine: 1;
  /** RAM size in bytes. */
  ram: number;
  /** The program booted when there is no world to resume, relative to the directory (absent for a machine made from an image). */
  program?: string;
  /** The world `amber repl DIR` resumes (the last one saved or restored), if any. */
  current?: string;
  created: string;
  [key: string]: unknown;
}

/** Checks a world name given by the user (it becomes a file name). */
export function checkWorldName(name: string): string {
  if (!isWorldName(name)) {
    throw new UserError(
      `"${name}" is not a world name: use letters, digits, ".", "_" and "-" (at most 64, not starting with a dot)`,
      ExitCode.Usage,
    );
  }
  return name;
}

/** Whether files can be created in `dir` (false on read-only media, or without permission). */
function isWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    const worlds = path.join(dir, WORLDS_DIR);
    if (fs.existsSync(worlds)) fs.accessSync(worlds, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function writeAtomic(target: string, bytes: Uint8Array): void {
  writeFileAtomic(target, (f) => f.write(0, bytes));
}

/**
 * A machine as a directory, as SBUML keeps one: `machine.json` (its configuration and the
 * current world), `program.elf` (what it boots), and `worlds/NAME.amber`, one image per
 * saved world (incremental ones name their parent world). Ordinary tools work on it:
 * `ls worlds`, `du -sh`, `tar czf`.
 */
export class MachineDirectory {
  private constructor(
    readonly root: string,
    private config: MachineConfig,
    /**
     * On read-only media (or without write permission) a machine still opens, read-only:
     * its worlds resume and run, the current world is not recorded, a :save fails naming why.
     */
    readonly readOnly = false,
  ) {}

  /** True when `dir` holds a machine (its `machine.json`). */
  static isMachine(dir: string): boolean {
    return fs.existsSync(path.join(dir, MACHINE_FILE));
  }

  /** Opens an existing machine directory; a missing or damaged `machine.json` is a clear error. */
  static open(dir: string): MachineDirectory {
    const file = path.join(dir, MACHINE_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
      throw new UserError(`${file}: cannot read: ${reason} (not a machine directory?)`, ExitCode.Failure);
    }
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${file}: not valid JSON: ${(e as Error).message}`, ExitCode.Failure);
    }
    const c = config as Partial<MachineConfig>;
    if (typeof c !== "object" || c === null || c.amberMachine !== 1) {
      throw new UserError(
        `${file}: expected "amberMachine": 1 (a machine directory of this Amber), found ${JSON.stringify((c as { amberMachine?: unknown } | null)?.amberMachine)}`,
        ExitCode.Failure,
      );
    }
    if (typeof c.ram !== "number" || !Number.isInteger(c.ram) || c.ram <= 0) {
      throw new UserError(`${file}: "ram" must be a size in bytes`, ExitCode.Failure);
    }
    if (c.program !== undefined && (typeof c.program !== "string" || c.program === "")) {
      throw new UserError(`${file}: "program" must name the ELF the machine boots`, ExitCode.Failure);
    }
    if (c.current !== undefined && (typeof c.current !== "string" || !WORLD_NAME.test(c.current))) {
      throw new UserError(`${file}: "current" must be a world name`, ExitCode.Failure);
    }
    const machine = new MachineDirectory(path.resolve(dir), c as MachineConfig, !isWritable(dir));
    if (!machine.readOnly) machine.removeStaleTemporaries();
    return machine;
  }

  /**
   * Deletes the temporary files of saves whose process died mid-write (killed, power lost):
   * they are never worlds, only wasted space. A save still running elsewhere is left alone.
   */
  private removeStaleTemporaries(): void {
    const dir = path.join(this.root, WORLDS_DIR);
    if (!fs.existsSync(dir)) return;
    for (const f of fs.readdirSync(dir)) {
      const m = /^\.(.+)\.tmp-\d+-[0-9a-z]+$/.exec(f);
      if (m !== null) removeStaleTemps(path.join(dir, m[1]!));
    }
  }

  /**
   * Creates a machine directory for `program` (copied in, so the directory stands alone);
   * `dir` must not exist or be empty.
   */
  static create(dir: string, program: Uint8Array | undefined, ram: number): MachineDirectory {
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
      throw new UserError(
        `${dir}: exists and is not a machine directory (no ${MACHINE_FILE})`,
        ExitCode.Failure,
      );
    }
    try {
      fs.mkdirSync(path.join(dir, WORLDS_DIR), { recursive: true });
      if (program !== undefined) writeAtomic(path.join(dir, PROGRAM_FILE), program);
    } catch (e) {
      throw new UserError(
        `${dir}: cannot create the machine directory: ${(e as Error).message}`,
        ExitCode.Failure,
      );
    }
    const machine = new MachineDirectory(path.resolve(dir), {
      amberMachine: 1,
      ram,
      ...(program === undefined ? {} : { program: PROGRAM_FILE }),
      created: new Date().toISOString(),
    });
    machine.writeConfig();
    return machine;
  }

  get ram(): number {
    return this.config.ram;
  }

  get current(): string | undefined {
    return this.config.current;
  }

  /** Makes `name` the world the next `amber repl DIR` resumes. */
  setCurrent(name: string): void {
    this.config = { ...this.config, current: name };
    if (!this.readOnly) this.writeConfig();
  }

  /** The program the machine boots without a world (undefined for a machine made from an image). */
  get programPath(): string | undefined {
    return this.config.program === undefined ? undefined : path.join(this.root, this.config.program);
  }

  worldPath(name: string): string {
    return path.join(this.root, WORLDS_DIR, `${name}${WORLD_EXT}`);
  }

  hasWorld(name: string): boolean {
    return fs.existsSync(this.worldPath(name));
  }

  /** Names of the saved worlds, oldest file first. */
  worlds(): string[] {
    const dir = path.join(this.root, WORLDS_DIR);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(WORLD_EXT) && !f.startsWith("."))
      .map((f) => ({ name: f.slice(0, -WORLD_EXT.length), saved: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => a.saved - b.saved || (a.name < b.name ? -1 : 1))
      .map((w) => w.name);
  }

  /** A name not taken yet: world-1, world-2, … */
  nextWorldName(): string {
    for (let i = 1; ; i++) if (!this.hasWorld(`world-${i}`)) return `world-${i}`;
  }

  private writeConfig(): void {
    const file = path.join(this.root, MACHINE_FILE);
    try {
      writeAtomic(file, new TextEncoder().encode(`${JSON.stringify(this.config, null, 2)}\n`));
    } catch (e) {
      throw new UserError(`${file}: cannot write: ${(e as Error).message}`, ExitCode.Failure);
    }
  }
}
