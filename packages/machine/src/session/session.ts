import {
  CheckpointReader,
  initCheckpoint,
  MemoryBlockFile,
  type SectionInput,
  writeCheckpoint,
} from "@amber/checkpoint";
import { Machine } from "../machine.js";
import type { RunOutcome } from "../run-loop.js";
import { SECTION_SPECS } from "../state-sections.js";
import { CONSOLE_SECTION, savedByGuest } from "./guest-control.js";
import { GuestControlIo } from "./guest-control-io.js";
import { SessionConsole } from "./session-console.js";

/** What a `Session` boots: a program (`elf`) or a kernel, as `Machine.loadElf`/`loadKernel` take them. */
export interface BootOptions extends SessionOptions {
  /** A RISC-V ELF program (semihosting or bare metal). */
  elf?: Uint8Array;
  /** A kernel (raw Image or ELF), with optional M-mode firmware and initrd, as QEMU's -kernel/-bios/-initrd. */
  kernel?: Uint8Array;
  firmware?: Uint8Array;
  initrd?: Uint8Array;
  /** Kernel command line (device tree /chosen/bootargs). */
  bootargs?: string;
  /** What semihosting's SYS_GET_CMDLINE returns. */
  cmdline?: string;
  /** RAM in bytes (default 128 MiB). */
  ramSize?: number;
}

/** How any session runs. */
export interface SessionOptions {
  /** Name used in messages (default "world"). */
  name?: string;
  /** Compile hot guest code to JavaScript (default true). */
  jit?: boolean;
  /** Called with every piece of console output (e.g. to show it on a terminal). */
  echo?: (text: string) => void;
  /** Console output not yet matched that the world starts with (a fork carries its parent's). */
  pending?: string;
}

/**
 * How long `expect` waits. By default in guest instructions: deterministic, the same on a
 * fast or a loaded host. `ms` waits in host time instead (not deterministic).
 */
export interface ExpectOptions {
  /** Guest instructions to run at most before giving up (default `DEFAULT_EXPECT_INSTRUCTIONS`). */
  timeout?: number;
  /** Host milliseconds to wait at most, instead of instructions. */
  ms?: number;
}

/** What `expect` found. */
export interface ExpectMatch {
  /** The text that matched. */
  match: string;
  /** A RegExp's capture groups (empty for a string). */
  groups: (string | undefined)[];
  /** Output between the previous match and this one. */
  before: string;
  /** Guest instructions executed when it matched. */
  instructions: number;
}

/** A world saved by `save(name)` or by the guest's `(save-world "name")`, kept in memory. */
export interface Snapshot {
  name: string;
  /** The image's BLAKE3 digest. */
  digest: string;
  /** The image's size in bytes. */
  bytes: number;
  instructions: number;
}

/** A session in another thread (`fork`): the same verbs, asynchronous. */
export interface ForkedSession {
  readonly index: number;
  expect(pattern: string | RegExp, options?: ExpectOptions): Promise<ExpectMatch>;
  expectExit(options?: ExpectOptions): Promise<number>;
  type(text: string): Promise<void>;
  save(name: string): Promise<Snapshot>;
  restore(name: string): Promise<void>;
  transcript(): Promise<string>;
  instructions(): Promise<number>;
  close(): Promise<void>;
}

/** Starts `n` sessions on `image` (a full checkpoint), each in its own thread. */
export type Forker = (image: Uint8Array, n: number, options: SessionOptions) => Promise<ForkedSession[]>;

/** Why a session verb failed: one line naming the session, what was awaited and the last output. */
export class SessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionError";
  }
}

/** Default `expect` timeout: one billion guest instructions (about ten guest seconds). */
export const DEFAULT_EXPECT_INSTRUCTIONS = 1_000_000_000;
/** Instructions per slice: fixed, so where a match is seen does not depend on the host's speed. */
const SLICE_STEPS = 1 << 20;

function yieldToHost(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === "function") return new Promise((r) => g.setImmediate!(r));
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const lastLines = (text: string) => JSON.stringify(text.slice(-160));

/** A snapshot kept in memory: the image, the console as it was, and whether the guest saved it. */
interface KeptSnapshot {
  image: Uint8Array;
  pending: string;
  transcript: string;
  byGuest: boolean;
}

/**
 * Snapshot programming, as SBUML scripts did it: a machine driven by what it prints.
 * Boot or resume a world, `expect` text on its console, `type` input, `save` and
 * `restore` named snapshots (in memory), `fork` n copies running side by side. Runs are
 * deterministic: the guest runs in fixed slices of instructions and waits for nothing but
 * what it is given, so the same script gives the same instruction counts and output.
 * No Node API: forking needs a `Forker` (worker threads: the CLI's `amber script`).
 *
 * The guest's control channel is answered as the REPL answers it (see guest-control.ts):
 * a guest's `(save-world "NAME")` saves snapshot NAME (with the console's last line and a
 * mark that the guest waits for the answer) and the guest is told "saved"; a session
 * restored or resumed from such a snapshot tells it "resumed" (Amber Lisp's save-world
 * returns #f, then #t). Control lines never reach the transcript.
 */
export class Session {
  private machineNow: Machine;
  private reader: CheckpointReader | undefined;
  private readonly console: SessionConsole;
  /** The console as the guest sees it: the control channel in front of `console`. */
  private control: GuestControlIo;
  private readonly snapshots = new Map<string, KeptSnapshot>();
  readonly name: string;

  private constructor(
    machine: Machine,
    console: SessionConsole,
    control: GuestControlIo,
    private readonly options: SessionOptions & { forker?: Forker },
    reader?: CheckpointReader,
  ) {
    this.machineNow = machine;
    this.console = console;
    this.control = control;
    this.reader = reader;
    this.name = options.name ?? "world";
  }

  /** Boots a program or a kernel on a fresh board. */
  static async boot(options: BootOptions & { forker?: Forker }): Promise<Session> {
    await initCheckpoint();
    if ((options.elf === undefined) === (options.kernel === undefined)) {
      throw new SessionError("boot: give either elf or kernel");
    }
    const console = new SessionConsole(options.echo);
    const control = guestControl(console, false);
    const machine = new Machine({
      ramSize: options.ramSize,
      io: control,
      cmdline: options.cmdline,
      bootargs: options.bootargs,
      jit: options.jit,
    });
    if (options.elf !== undefined) machine.loadElf(options.elf, options.name ?? "program");
    else machine.loadKernel(options.kernel!, { firmware: options.firmware, initrd: options.initrd });
    return new Session(machine, console, control, options);
  }

  /**
   * Resumes a saved world: an image's bytes, or an open reader (kept open by the session,
   * whose machine reads pages from it lazily, and closed by `close`).
   */
  static async resume(
    image: Uint8Array | CheckpointReader,
    options: SessionOptions & { forker?: Forker } = {},
  ): Promise<Session> {
    await initCheckpoint();
    const console = new SessionConsole(options.echo);
    console.pending = options.pending ?? "";
    const reader =
      image instanceof CheckpointReader
        ? image
        : CheckpointReader.open(new MemoryBlockFile(image, options.name ?? "world", false), {
            sections: SECTION_SPECS,
          });
    const control = guestControl(console, savedByGuest(reader));
    const machine = Machine.fromCheckpoint(reader, { io: control, jit: options.jit, baselineBytes: 0 });
    return new Session(machine, console, control, options, reader);
  }

  /** The machine being driven (its hart, RAM, devices), e.g. to read registers. */
  get machine(): Machine {
    return this.machineNow;
  }

  /** Guest instructions executed since boot. */
  get instructions(): number {
    return this.machineNow.hart.steps;
  }

  /** Everything the guest printed. */
  get transcript(): string {
    return this.console.transcript;
  }

  /** The guest's exit status once it powered off. */
  get exited(): number | undefined {
    return this.machineNow.exited;
  }

  /** Queues console input (the guest reads it when it runs). */
  type(text: string | Uint8Array): void {
    this.console.type(text);
  }

  /**
   * Runs the guest until its console output (since the last match) matches `pattern`;
   * the matched text and what came before it are consumed. Fails (SessionError) when the
   * guest exits, stops on a trap, waits for input that was not typed, or the timeout
   * passes first.
   */
  async expect(pattern: string | RegExp, options: ExpectOptions = {}): Promise<ExpectMatch> {
    const find = matcher(pattern);
    const what = typeof pattern === "string" ? JSON.stringify(pattern) : String(pattern);
    const found = await this.runUntil(() => find(this.console.pending), what, options);
    if (found === undefined) throw new SessionError(`${this.name}: the guest exited before ${what}`);
    const pending = this.console.pending;
    this.console.pending = pending.slice(found.index + found.text.length);
    return {
      match: found.text,
      groups: found.groups,
      before: pending.slice(0, found.index),
      instructions: this.instructions,
    };
  }

  /** Runs the guest until it powers off; returns its exit status. */
  async expectExit(options: ExpectOptions = {}): Promise<number> {
    await this.runUntil(() => undefined, "the guest to power off", options, true);
    return this.machineNow.exited!;
  }

  /** Runs until `found` returns something (returned) or the guest exits (undefined). */
  private async runUntil<T>(
    found: () => T | undefined,
    what: string,
    options: ExpectOptions,
    untilExit = false,
  ): Promise<T | undefined> {
    const machine = this.machineNow;
    const limit = machine.hart.steps + (options.timeout ?? DEFAULT_EXPECT_INSTRUCTIONS);
    const deadline = options.ms === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.ms;
    for (;;) {
      const hit = found();
      if (hit !== undefined) return hit;
      if (machine.exited !== undefined) {
        if (untilExit) return undefined;
        throw new SessionError(
          `${this.name}: the guest powered off (status ${machine.exited}) before ${what} appeared; last output ${lastLines(this.console.transcript)}`,
        );
      }
      const left = limit - machine.hart.steps;
      if (left <= 0 || performance.now() > deadline) {
        const after =
          options.ms === undefined
            ? `${options.timeout ?? DEFAULT_EXPECT_INSTRUCTIONS} instructions`
            : `${options.ms} ms`;
        throw new SessionError(
          `${this.name}: ${what} did not appear within ${after}; last output ${lastLines(this.console.transcript)}`,
        );
      }
      const outcome: RunOutcome = machine.run(Math.min(SLICE_STEPS, left));
      // The guest asked to be saved and idles for the answer: save, answer, run on.
      const asked = this.control.pendingSave;
      if (outcome.kind === "stuck" && asked !== undefined) {
        this.saveForGuest(asked);
        continue;
      }
      if (outcome.kind === "unhandled-trap") {
        throw new SessionError(
          `${this.name}: the guest stopped on an unhandled ${outcome.trap.causeName} at pc 0x${(outcome.trap.pc >>> 0).toString(16)} while waiting for ${what}`,
        );
      }
      if (outcome.kind === "stuck" && found() === undefined) {
        throw new SessionError(
          `${this.name}: the guest waits for input and ${what} has not appeared (type something first); last output ${lastLines(this.console.transcript)}`,
        );
      }
      await yieldToHost();
    }
  }

  /** The world as it is now, as a full image (bytes), with its digest. */
  image(): { image: Uint8Array; digest: string } {
    return this.imageNow(false);
  }

  /** `image()`; `byGuest`: the guest waits for save-world's answer (kept in the console section). */
  private imageNow(byGuest: boolean): { image: Uint8Array; digest: string } {
    const save = this.machineNow.beginSave({ name: "amber-session", version: "1" });
    try {
      const file = new MemoryBlockFile(new Uint8Array(0), this.name);
      // A world the guest saved keeps its prompt and the mark that it waits (as the REPL's do).
      const console: SectionInput = {
        name: CONSOLE_SECTION,
        version: 1,
        minVersion: 1,
        fields: { tail: this.control.consoleTail, awaits: "save-world" },
      };
      const input = byGuest ? { ...save.input, sections: [...save.input.sections, console] } : save.input;
      const written = writeCheckpoint(file, input);
      save.committed(written);
      return { image: file.read(0, file.size()).slice(), digest: written.digest };
    } finally {
      save.end();
    }
  }

  /**
   * Saves the world as it is now under `name` (in memory; `image()` gives bytes to keep).
   * Snapshots are full images: no page copies are kept for incremental saves.
   */
  save(name: string): Snapshot {
    return this.keep(name, false);
  }

  private keep(name: string, byGuest: boolean): Snapshot {
    const { image, digest } = this.imageNow(byGuest);
    const { pending, transcript } = this.console;
    this.snapshots.set(name, { image, pending, transcript, byGuest });
    return { name, digest, bytes: image.length, instructions: this.instructions };
  }

  /** The guest's `(save-world "name")`: snapshot `name`, then the answer (saved, or why not). */
  private saveForGuest(name: string): void {
    try {
      this.keep(name, true);
    } catch (e) {
      this.control.answer(e instanceof Error ? e.message : String(e));
      return;
    }
    this.control.answer();
  }

  /** The bytes of a snapshot saved with `save(name)`. */
  snapshot(name: string): Uint8Array {
    return this.findSnapshot(name).image;
  }

  private findSnapshot(name: string) {
    const s = this.snapshots.get(name);
    if (s === undefined) {
      throw new SessionError(
        `${this.name}: no snapshot "${name}" (saved: ${[...this.snapshots.keys()].join(", ") || "none"})`,
      );
    }
    return s;
  }

  /** Puts the world back exactly as it was saved under `name`; input typed since is dropped. */
  restore(name: string): void {
    const s = this.findSnapshot(name);
    const reader = CheckpointReader.open(new MemoryBlockFile(s.image, name, false), {
      sections: SECTION_SPECS,
    });
    // Input typed since is dropped; a world the guest saved learns it is the resumed one.
    this.console.clearInput();
    const control = guestControl(this.console, s.byGuest);
    const machine = Machine.fromCheckpoint(reader, {
      io: control,
      jit: this.options.jit,
      baselineBytes: 0,
    });
    this.reader?.close();
    this.reader = reader;
    this.machineNow = machine;
    this.control = control;
    this.console.pending = s.pending;
    this.console.transcript = s.transcript;
  }

  /**
   * `n` copies of the world as it is now, each running in a thread of its own, driven
   * with the same verbs (asynchronously). Needs a forker (`amber script` provides one).
   */
  async fork(n: number): Promise<ForkedSession[]> {
    const forker = this.options.forker;
    if (forker === undefined) {
      throw new SessionError(`${this.name}: fork needs worker threads: run the script with \`amber script\``);
    }
    if (!Number.isInteger(n) || n < 1)
      throw new SessionError(`fork(${n}): give a whole number of copies, at least 1`);
    return forker(this.image().image, n, { ...this.options, pending: this.console.pending });
  }

  /** Stops the session and closes what its world reads from. */
  close(): void {
    this.reader?.close();
    this.reader = undefined;
    this.snapshots.clear();
  }
}

/** The control channel in front of a session's console: every save-world is saved (as a snapshot). */
function guestControl(console: SessionConsole, resumed: boolean): GuestControlIo {
  return new GuestControlIo(console, () => "save", resumed);
}

/** Finds `pattern` in a text: where, what, and a RegExp's groups. */
function matcher(
  pattern: string | RegExp,
): (text: string) => { index: number; text: string; groups: (string | undefined)[] } | undefined {
  if (typeof pattern === "string") {
    return (text) => {
      const i = text.indexOf(pattern);
      return i < 0 ? undefined : { index: i, text: pattern, groups: [] };
    };
  }
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
  return (text) => {
    const m = re.exec(text);
    return m === null ? undefined : { index: m.index, text: m[0], groups: m.slice(1) };
  };
}
