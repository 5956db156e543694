import { statSync } from "node:fs";
import { type CheckpointReader, writeCheckpoint } from "@amber/checkpoint";
import { MemoryBlockFile } from "@amber/image";
import { disassemble } from "@amber/isa";
import { Machine, type RunOutcome } from "@amber/machine";
import { checkpointFailure, openImage } from "../commands/checkpoint-open.js";
import { describeTrap, saveImage } from "../commands/run.js";
import { hex8 } from "../hex.js";
import { VERSION } from "../version.js";
import type { ConsoleIo } from "./console-io.js";

/** What the guest is doing. */
export type SessionState =
  /** Running guest code (slices scheduled on the event loop). */
  | "running"
  /** Idle in `wfi`, waiting for console input. */
  | "waiting"
  /** Stopped by the monitor (`:step`, a breakpoint, Ctrl-C, a trap without handler). */
  | "paused"
  /** The guest powered off. */
  | "exited";

/** What the session tells its terminal. */
export interface SessionEvents {
  /** The guest went idle waiting for input. */
  idle(): void;
  /** The guest stopped where the monitor must say why (breakpoint, trap). */
  stopped(message: string): void;
  /** The guest powered off with this status. */
  exited(code: number): void;
  /**
   * Running the guest failed: a page of its world read lazily failed its checksum, a disk
   * read failed... The session is paused; the terminal reports it and ends. Without this
   * handler the error is thrown on (from the event loop).
   */
  failed?(error: unknown): void;
}

/** The image a world came from (restored) or was last saved as: the parent of the next incremental save. */
export interface Baseline {
  /** World name (or the image's path when it is not in the machine directory). */
  name: string;
  path: string;
  reader: CheckpointReader;
  /** Guest steps at that instant: more means there is unsaved work. */
  steps: number;
}

/** Section in which the REPL keeps the console's unfinished last line (the guest's prompt). */
export const CONSOLE_SECTION = "repl-console";

/** Wall time aimed at for one slice of guest run, so the terminal stays responsive. */
const SLICE_MS = 15;
/** Pages written between two slices of guest run while a save goes on (a Lisp world is ~50 pages). */
const SAVE_SLICE_PAGES = 16;

/**
 * One live machine driven from the event loop: the guest runs in slices of about 15 ms
 * scheduled with setImmediate, so the terminal (and the monitor) stay responsive; it
 * idles without spinning when it waits for console input. Deterministic: guest time
 * follows instructions, input arrives only when the user sends it.
 */
export class WorldSession {
  machine: Machine;
  state: SessionState = "running";
  baseline: Baseline | undefined;
  readonly breakpoints = new Set<number>();
  /** Readers the machine reads pages from lazily, kept open until the world is replaced. */
  private readers: CheckpointReader[] = [];
  private scheduled = false;
  private sliceSteps = 1 << 20;
  /** A breakpoint at this pc does not stop the first step (continuing from it). */
  private resumeFrom: number | undefined;
  /** Steps and wall seconds spent running, for MIPS. */
  private runSteps = 0;
  private runSeconds = 0;
  /** The console's last unfinished line (kept for saved worlds: it is the guest's prompt). */
  consoleTail = "";
  /** A world was just restored: its console tail has not been shown yet. */
  tailToShow = false;
  private readonly decoder = new TextDecoder();
  private readonly settledWaiters: (() => void)[] = [];

  constructor(
    machine: Machine,
    readonly io: ConsoleIo,
    private readonly events: SessionEvents,
    private readonly jit: boolean,
  ) {
    this.machine = machine;
  }

  /** Starts running the guest. */
  start(): void {
    this.setState("running");
  }

  /** Console output passes here (the session keeps the unfinished last line); returns it as text. */
  noteOutput(data: Uint8Array): string {
    const text = this.decoder.decode(data, { stream: true });
    const nl = text.lastIndexOf("\n");
    this.consoleTail = (nl < 0 ? this.consoleTail + text : text.slice(nl + 1)).slice(-256);
    return text;
  }

  /** Sends a line of console input to the guest (and wakes it if it was waiting). */
  sendLine(line: string): void {
    this.io.push(`${line}\n`);
    if (this.state === "waiting") this.setState("running");
  }

  /** Resolves once the guest is not running (waiting, paused or exited), or after `ms`. */
  settled(ms = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.state !== "running") return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      this.settledWaiters.push(finish);
      if (Number.isFinite(ms)) setTimeout(finish, ms).unref();
    });
  }

  pause(): void {
    if (this.state === "running" || this.state === "waiting") this.setState("paused");
  }

  /** Runs on from a pause (a breakpoint at the current pc does not stop it again). */
  continue(): void {
    if (this.state !== "paused") return;
    this.resumeFrom = this.machine.hart.pc >>> 0;
    this.setState("running");
  }

  private setState(state: SessionState): void {
    this.state = state;
    if (state === "running") this.schedule();
    else for (const w of this.settledWaiters.splice(0)) w();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  /** Runs one slice of guest code and decides what comes next. */
  private pump(): void {
    this.scheduled = false;
    if (this.state !== "running") return;
    const started = performance.now();
    const before = this.machine.hart.steps;
    let outcome: RunOutcome | { kind: "breakpoint" };
    try {
      outcome = this.breakpoints.size > 0 ? this.runWatched(started) : this.machine.run(this.sliceSteps);
    } catch (e) {
      this.setState("paused");
      if (this.events.failed === undefined) throw e;
      this.events.failed(e);
      return;
    }
    const ms = performance.now() - started;
    this.runSteps += this.machine.hart.steps - before;
    this.runSeconds += ms / 1000;
    if (this.breakpoints.size === 0 && outcome.kind === "budget") {
      // Aim at SLICE_MS per slice: the JIT makes the rate vary a hundredfold.
      const scaled = ms > 0.5 ? Math.round((this.sliceSteps * SLICE_MS) / ms) : this.sliceSteps * 4;
      this.sliceSteps = Math.max(1 << 12, Math.min(1 << 26, scaled));
    }
    this.afterRun(outcome);
  }

  /** Single steps, stopping at breakpoints, for up to one slice of wall time. */
  private runWatched(started: number): RunOutcome | { kind: "breakpoint" } {
    const hart = this.machine.hart;
    for (let i = 0; ; i++) {
      const pc = hart.pc >>> 0;
      if (this.breakpoints.has(pc) && pc !== this.resumeFrom) return { kind: "breakpoint" };
      this.resumeFrom = undefined;
      const outcome = this.machine.run(1);
      if (outcome.kind !== "budget") return outcome;
      if ((i & 1023) === 1023 && performance.now() - started > SLICE_MS) return outcome;
    }
  }

  private afterRun(outcome: RunOutcome | { kind: "breakpoint" }): void {
    switch (outcome.kind) {
      case "budget":
        if (this.state === "running") this.schedule();
        return;
      case "breakpoint":
        this.setState("paused");
        this.events.stopped(`breakpoint at ${this.where()}`);
        return;
      case "exited":
        this.setState("exited");
        this.events.exited(outcome.code);
        return;
      case "unhandled-trap":
        this.setState("paused");
        this.events.stopped(describeTrap(outcome.trap));
        return;
      case "stuck":
        if (this.io.pending > 0) {
          this.schedule();
          return;
        }
        this.setState("waiting");
        this.events.idle();
        return;
    }
  }

  /**
   * Executes up to `n` instructions from a pause (the guest stays paused); returns the
   * instructions executed, at most `show` of them listed, and why it stopped early.
   */
  step(n: number, show = 32): { lines: string[]; stoppedBy?: string } {
    if (this.state === "running" || this.state === "waiting") this.setState("paused");
    if (this.state === "exited") return { lines: [], stoppedBy: "the guest has powered off" };
    const lines: string[] = [];
    const hart = this.machine.hart;
    for (let i = 0; i < n; i++) {
      const pc = hart.pc >>> 0;
      if (i < show) lines.push(`${hex8(pc)}  ${this.disassembleAt(pc)}`);
      const before = hart.steps;
      const outcome = this.machine.run(1);
      this.runSteps += hart.steps - before;
      if (outcome.kind === "exited") {
        this.setState("exited");
        this.events.exited(outcome.code);
        return { lines, stoppedBy: `the guest powered off (exit ${outcome.code})` };
      }
      if (outcome.kind === "unhandled-trap") return { lines, stoppedBy: describeTrap(outcome.trap) };
      if (outcome.kind === "stuck") return { lines, stoppedBy: "the guest waits for input (wfi)" };
    }
    if (n > show) lines.push(`… ${n - show} more`);
    return { lines };
  }

  /** The instruction at a (physical) address, its bits and disassembly, or why it cannot be read. */
  disassembleAt(address: number): string {
    const bits = this.machine.instructionAt(address);
    if (Number.isNaN(bits)) return "(not readable)";
    const width = (bits & 3) === 3 ? 8 : 4;
    return `${bits.toString(16).padStart(width, "0").padEnd(8, " ")}  ${disassemble(bits, address >>> 0).replace("\t", " ")}`;
  }

  /** Where the hart is: pc and the instruction there, for "paused at …" messages. */
  where(): string {
    const pc = this.machine.hart.pc;
    return `${hex8(pc)}: ${this.disassembleAt(pc)}`;
  }

  /** Guest steps since the baseline (or since boot): work a quit would lose. */
  get unsavedSteps(): number {
    return this.machine.hart.steps - (this.baseline?.steps ?? 0);
  }

  /** RAM pages written since the baseline (or holding data, since boot). */
  dirtyPages(): number {
    return this.machine.dirtyPages();
  }

  get mips(): number {
    return this.runSeconds > 0 ? this.runSteps / this.runSeconds / 1e6 : 0;
  }

  /**
   * Saves the world to `target` while the guest runs on (when it is running): the image
   * holds exactly the state at this instant. Incremental on the baseline unless `full`.
   * On success the new image becomes the baseline; on failure nothing changes (the
   * previous image at `target`, if any, is left intact) and a UserError says why.
   */
  save(
    target: string,
    name: string,
    options: { full?: boolean; progress?: (done: number, total: number) => void } = {},
  ): { bytes: number; pages: number; parent: string | undefined; digest: string; steps: number } {
    const machine = this.machine;
    const parent = options.full ? undefined : this.baseline;
    const running = this.state === "running";
    const total = machine.ram.allocatedPages;
    const steps = machine.hart.steps;
    let read = 0;
    let stopped: RunOutcome | undefined;
    let saved: { digest: string; pages: number };
    try {
      saved = saveImage(machine, target, {
        parent,
        every: SAVE_SLICE_PAGES,
        between: () => {
          read += SAVE_SLICE_PAGES;
          options.progress?.(Math.min(read, total), total);
          // Save-and-continue: the guest runs on between batches of pages. What stops it
          // (power-off, a trap, waiting for input) is acted on once the image is written.
          if (running && stopped === undefined && this.state === "running") {
            const outcome = machine.run(this.sliceSteps);
            if (outcome.kind !== "budget") stopped = outcome;
          }
        },
        sections: [{ name: CONSOLE_SECTION, version: 1, minVersion: 1, fields: { tail: this.consoleTail } }],
      });
    } finally {
      if (stopped !== undefined) this.afterRun(stopped);
    }
    const reader = openImage(target);
    this.readers.push(reader);
    this.baseline = { name, path: target, reader, steps };
    return {
      bytes: statSync(target).size,
      pages: saved.pages,
      parent: parent?.name,
      digest: saved.digest,
      steps,
    };
  }

  /**
   * Writes the world once into memory and throws the bytes away, so that the code of the
   * save path (page encoding, hashing, the writer) is compiled by V8 before the user's
   * first `:save`, whose pause would otherwise be mostly warm-up. Changes nothing: the
   * save is never committed (the baseline stays), the guest does not run.
   */
  warmUp(): void {
    const parent = this.baseline;
    try {
      const save = this.machine.beginSave(
        { name: "amber", version: VERSION },
        { parent: parent?.reader, parentHint: parent === undefined ? undefined : "warm-up" },
      );
      try {
        writeCheckpoint(new MemoryBlockFile(), save.input);
      } finally {
        save.end();
      }
    } catch {
      // Only a warm-up: a real :save reports whatever went wrong.
    }
  }

  /**
   * Replaces the running world with the one saved at `path` (pages read on first touch);
   * the console tail saved with it comes back as the prompt. The current world is
   * discarded: the caller asks first.
   */
  restore(path: string, name: string): void {
    this.adopt(openWorld(path, this.io, this.jit), path, name);
  }

  /** A session on the world saved at `path` (see `restore`). */
  static resume(
    path: string,
    name: string,
    io: ConsoleIo,
    events: SessionEvents,
    jit: boolean,
  ): WorldSession {
    const world = openWorld(path, io, jit);
    const session = new WorldSession(world.machine, io, events, jit);
    session.adopt(world, path, name);
    return session;
  }

  private adopt(world: ReturnType<typeof openWorld>, path: string, name: string): void {
    for (const r of this.readers) if (r !== world.reader) r.close();
    this.readers = [world.reader];
    this.machine = world.machine;
    this.consoleTail = world.consoleTail;
    this.tailToShow = world.consoleTail !== "";
    this.baseline = { name, path, reader: world.reader, steps: world.machine.hart.steps };
    this.breakpoints.clear();
    this.resumeFrom = undefined;
    this.setState(world.machine.exited === undefined ? "running" : "exited");
  }

  /** Stops running and closes the images the world reads from. */
  close(): void {
    this.setState("paused");
    for (const r of this.readers) r.close();
    this.readers = [];
  }
}

/** Opens a saved world: its machine reads pages from `reader` lazily, so the reader stays open. */
function openWorld(
  path: string,
  io: ConsoleIo,
  jit: boolean,
): { reader: CheckpointReader; machine: Machine; consoleTail: string } {
  const reader = openImage(path);
  try {
    const machine = Machine.fromCheckpoint(reader, { io, jit });
    let consoleTail = "";
    if (reader.hasSection(CONSOLE_SECTION)) {
      const tail = reader.section(CONSOLE_SECTION).fields.tail;
      if (typeof tail === "string") consoleTail = tail;
    }
    return { reader, machine, consoleTail };
  } catch (e) {
    reader.close();
    return checkpointFailure(e, path);
  }
}
