import { type CheckpointReader, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { CONSOLE_SECTION, ControlCode, ControlFilter, type Machine, type RunOutcome } from "@amber/machine";
import type { ConsoleIo } from "./console-io.js";
import { DiskWatch } from "./disk-watch.js";
import { scheduleSoon, timer } from "./event-loop.js";
import { describeTrap, hex8 } from "./format.js";
import { disassembleAt } from "./machine-views.js";
import { MonitorError } from "./monitor-error.js";
import { type OpenedWorld, openWorld } from "./open-world.js";
import { QuietWatch } from "./quiet-watch.js";
import type { Baseline, SessionEvents, SessionState } from "./session-events.js";
import { TimerWait } from "./timer-wait.js";
import type { WorldRef, WorldStore } from "./world-store.js";

/** Amber Lisp's prompt: a guest that shows it speaks the console's control channel. */
const LISP_PROMPT = "lisp> ";

/** Wall time aimed at for one slice of guest run, so the terminal stays responsive. */
const SLICE_MS = 15;
/** Pages written between two slices of guest run while a save goes on (a Lisp world is ~50 pages). */
const SAVE_SLICE_PAGES = 16;

/**
 * One live machine driven from the event loop: the guest runs in slices of about 15 ms
 * scheduled after pending I/O, so the terminal (and the monitor) stay responsive; it
 * idles without spinning when it waits for console input, and waits in wall time when it
 * waits for its timer (a Linux guest at its prompt; `IdlePacer`). Deterministic: guest time
 * follows instructions, input arrives only when the user sends it.
 */
export class WorldSession {
  machine: Machine;
  state: SessionState = "running";
  baseline: Baseline | undefined;
  /** The last save's `persisted`, settled either way (see `whenSaved`). */
  private lastSave: Promise<void> = Promise.resolve();
  readonly breakpoints = new Set<number>();
  /** Readers the machine reads pages from lazily, kept open until the world is replaced. */
  private readers: CheckpointReader[] = [];
  private scheduled = false;
  /** Waits for the guest's timer in wall time (a Linux guest at its prompt), see TimerWait. */
  private readonly timerWait: TimerWait;
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
  /** The disks' writes, per disk and layer, through their snoop hooks (`:disks`, `:disk-trace`). */
  diskWatch: DiskWatch;
  /** Releases the disks of the world running now (those the store opened for a restored world, or the booted machine's). */
  closeDisks: () => void = () => {};
  /** The console's control channel (see @amber/machine's session/guest-control.ts). */
  private readonly control = new ControlFilter();
  /** Control messages from the guest not acted on yet. */
  private readonly guestMessages: string[] = [];
  /** Answering a guest's request (a save-world): not settled although the guest waits. */
  private answering = false;
  /**
   * A debugger holds the machine (`:gdb`): it may take it back in time, so the console
   * input it consumed stays logged (see `ConsoleIo.log`) and the session does not run it.
   */
  debugging = false;

  constructor(
    machine: Machine,
    readonly io: ConsoleIo,
    private readonly events: SessionEvents,
    private readonly jit: boolean,
    /** Where `save` writes and `restore` reads worlds. */
    readonly store: WorldStore,
    /**
     * Driven by a script (piped input), not a person: a guest idling on its timer (Linux)
     * is not paced to the wall clock but stops where it turns quiet (`QuietWatch`: all
     * input read, no output for a stretch of guest time) and waits there for input, as a
     * guest waiting for input does; `settled` resolves there. What it sees never depends
     * on the host's speed, and a script's end is reached.
     */
    readonly scripted = false,
  ) {
    this.machine = machine;
    this.timerWait = new TimerWait(machine, scripted ? new QuietWatch(io) : undefined);
    io.log.steps = () => this.machine.hart.liveSteps;
    this.diskWatch = new DiskWatch(machine);
  }

  /** Starts running the guest. */
  start(): void {
    this.setState("running");
  }

  /**
   * Console output passes here (the session keeps the unfinished last line); returns it as
   * text to show, without the guest's control messages (guest-control.ts), which the
   * session acts on.
   */
  noteOutput(data: Uint8Array): string {
    const { shown: text, messages } = this.control.filter(this.decoder.decode(data, { stream: true }));
    this.guestMessages.push(...messages);
    // Messages nobody asked for (a user typing the escape) must not pile up.
    if (this.guestMessages.length > 16) this.guestMessages.splice(0, this.guestMessages.length - 16);
    const nl = text.lastIndexOf("\n");
    this.consoleTail = (nl < 0 ? this.consoleTail + text : text.slice(nl + 1)).slice(-256);
    return text;
  }

  /**
   * `noteOutput` for hosts that show bytes: the same bytes when they carried no control
   * message (binary output passes untouched), else the UTF-8 of the text to show.
   */
  noteOutputBytes(data: Uint8Array): Uint8Array {
    const text = this.noteOutput(data);
    return this.control.touched ? new TextEncoder().encode(text) : data;
  }

  /** Sends a line of console input to the guest (and wakes it if it was waiting). */
  sendLine(line: string): void {
    this.send(`${line}\n`);
  }

  /** Sends console input as it is, e.g. keystrokes for a guest whose tty echoes (and wakes it). */
  send(data: string | Uint8Array): void {
    if (!this.debugging) this.io.trimLog();
    this.io.push(data);
    if (this.state === "waiting") this.setState("running");
    // Waiting for its timer: input ends the wait (the guest takes it at that same step).
    else if (this.timerWait.cut()) this.schedule();
  }

  /** Settles a wait for the guest's timer now (see TimerWait), running on after it if running. */
  private settleHeld(): void {
    if (this.timerWait.settle() && this.state === "running") this.schedule();
  }

  /** Resolves once the guest is not running (waiting, paused or exited), or after `ms`. */
  settled(ms = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.state !== "running" && !this.answering) return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      this.settledWaiters.push(finish);
      if (Number.isFinite(ms)) timer(finish, ms);
    });
  }

  pause(): void {
    if (this.state === "running" || this.state === "waiting") this.setState("paused");
  }

  /**
   * Hands the machine to a debugger (`:gdb`): the session stops running it and keeps the
   * console input it consumes logged until `undebug`. Returns whether the guest was running.
   */
  debug(): boolean {
    const was = this.state === "running" || this.state === "waiting";
    this.pause();
    this.debugging = true;
    return was;
  }

  /**
   * Takes the machine back from a debugger: runs on when `run` (the guest was running
   * before, and the debugger let it go), or reports its power-off if it ended under it.
   */
  undebug(run: boolean): void {
    this.debugging = false;
    const code = this.machine.exited;
    if (code !== undefined) {
      this.setState("exited");
      this.events.exited(code);
      return;
    }
    this.resumeFrom = this.machine.hart.pc >>> 0;
    if (run) this.setState("running");
  }

  /** Runs on from a pause (a breakpoint at the current pc does not stop it again). */
  continue(): void {
    if (this.state !== "paused") return;
    this.resumeFrom = this.machine.hart.pc >>> 0;
    this.setState("running");
  }

  private setState(state: SessionState): void {
    this.state = state;
    // Waiting where it turned quiet (a scripted session), the guest takes input at that `wfi`.
    if (state !== "running" && !(state === "waiting" && this.timerWait.quietHeld)) this.settleHeld();
    if (state === "running") this.schedule();
    else if (!this.answering) for (const w of this.settledWaiters.splice(0)) w();
  }

  /**
   * Asks the guest, waiting at its prompt, to compact its heap (Amber Lisp; see
   * guest-control.ts) and waits for its answer: the figures it reports and the guest
   * instructions the request took (the compaction's pause in guest time). A MonitorError
   * when the guest is not waiting for input, is not at its prompt, or does not answer.
   */
  async compactGuest(): Promise<{ figures: string; steps: number }> {
    if (this.state !== "waiting") {
      throw new MonitorError(
        this.state === "running"
          ? "--compact: the guest is busy; wait for its prompt (or save without --compact)"
          : `--compact: the guest is ${this.state}; it compacts only when waiting at its prompt`,
      );
    }
    // Only a guest known to speak the control channel gets the request: at its prompt the
    // console's last line is Amber Lisp's prompt. Any other guest would read the bytes as input.
    if (!this.consoleTail.endsWith(LISP_PROMPT)) {
      throw new MonitorError(
        `--compact: the guest is not waiting at Amber Lisp's prompt ("${LISP_PROMPT}"); only Amber Lisp can compact before a save`,
      );
    }
    this.guestMessages.length = 0;
    const before = this.machine.hart.steps;
    this.send(ControlCode.compact);
    await this.settled();
    const steps = this.machine.hart.steps - before;
    const answer = this.guestMessages.shift();
    if (answer === "busy") {
      throw new MonitorError(
        "--compact: the guest is in the middle of reading an expression; finish it first (nothing saved)",
      );
    }
    if (answer === undefined || !answer.startsWith("compacted")) {
      throw new MonitorError(
        `--compact: the guest did not answer the compact request (${answer ?? "no answer"}; only Amber Lisp does)`,
      );
    }
    return { figures: answer.slice("compacted".length).trim(), steps };
  }

  /**
   * The guest sent save-world and waits for the answer: saves through the host's handler
   * and answers. Returns true if there was such a request.
   */
  private answerGuest(): boolean {
    const i = this.guestMessages.findIndex((m) => m.startsWith("save-world "));
    if (i < 0) return false;
    const name = this.guestMessages[i]!.slice("save-world ".length);
    this.guestMessages.splice(0, i + 1);
    this.answering = true;
    this.state = "waiting";
    const handler = this.events.saveWorld;
    const answered =
      handler === undefined
        ? Promise.reject(new MonitorError("this host cannot save worlds"))
        : handler(name);
    answered.then(
      () => this.reply(ControlCode.saved),
      (e: unknown) => this.reply(ControlCode.refused(e instanceof Error ? e.message : String(e))),
    );
    return true;
  }

  private reply(code: string): void {
    this.answering = false;
    this.send(code);
    if (this.state !== "running") for (const w of this.settledWaiters.splice(0)) w();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    scheduleSoon(() => this.pump());
  }

  /** Runs one slice of guest code and decides what comes next. */
  private pump(): void {
    this.scheduled = false;
    if (this.state !== "running") return;
    const started = performance.now();
    const before = this.machine.hart.steps;
    let outcome: RunOutcome | { kind: "breakpoint" };
    try {
      this.timerWait.driving = true;
      this.timerWait.quietHeld = false;
      outcome = this.breakpoints.size > 0 ? this.runWatched(started) : this.machine.run(this.sliceSteps);
    } catch (e) {
      this.timerWait.driving = false;
      this.setState("paused");
      if (this.events.failed === undefined) throw e;
      this.events.failed(e);
      return;
    }
    this.timerWait.driving = false;
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
        if (this.machine.timerHeld && !this.timerWait.quietHeld) {
          // Still running, as far as anyone asks: its timer is due when that guest time has passed.
          this.timerWait.hold(() => this.schedule());
          return;
        }
        if (this.answering || this.answerGuest()) {
          this.state = "waiting"; // for save-world's answer, which ends the wait
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
    return disassembleAt(this.machine, address);
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
   * Saves the world as `name` in the store while the guest runs on (when it is running):
   * the image holds exactly the state at this instant. Incremental on the baseline unless
   * `full`. On success the new image becomes the baseline; on failure nothing changes (an
   * older world of that name is left intact) and a MonitorError says why. The store may
   * still be making the image durable: `persisted` settles when it is, and rejects if that
   * failed (the baseline is then the previous one again). Await it before the next save.
   */
  save(
    name: string,
    options: {
      full?: boolean;
      progress?: (done: number, total: number) => void;
      /** The guest waits for save-world's answer: a session resumed from this world answers "resumed". */
      guestAwaits?: boolean;
    } = {},
  ): {
    bytes: number;
    pages: number;
    parent: string | undefined;
    digest: string;
    steps: number;
    location: string;
    persisted: Promise<void>;
  } {
    this.settleHeld();
    const machine = this.machine;
    const parent = options.full ? undefined : this.baseline;
    const running = this.state === "running";
    const total = machine.ram.allocatedPages;
    const steps = machine.hart.steps;
    let read = 0;
    let stopped: RunOutcome | undefined;
    let saved: ReturnType<WorldStore["save"]>;
    try {
      saved = this.store.save(machine, name, {
        parent,
        every: SAVE_SLICE_PAGES,
        between: () => {
          read += SAVE_SLICE_PAGES;
          options.progress?.(Math.min(read, total), total);
          // Save-and-continue: the guest runs on between batches of pages. What stops it
          // (power-off, a trap, waiting for input) is acted on once the image is written.
          if (running && stopped === undefined && this.state === "running") {
            this.timerWait.driving = true;
            this.timerWait.quietHeld = false;
            try {
              const outcome = machine.run(this.sliceSteps);
              if (outcome.kind !== "budget") stopped = outcome;
            } finally {
              this.timerWait.driving = false;
            }
          }
        },
        sections: [
          {
            name: CONSOLE_SECTION,
            version: 1,
            minVersion: 1,
            fields: options.guestAwaits
              ? { tail: this.consoleTail, awaits: "save-world" }
              : { tail: this.consoleTail },
          },
        ],
      });
    } finally {
      if (stopped !== undefined) this.afterRun(stopped);
    }
    this.readers.push(saved.reader);
    const previous = this.baseline;
    const baseline = { name, location: saved.ref.location, reader: saved.reader, steps };
    this.baseline = baseline;
    // Not durable after all (a full disk found in the background): the world it came from
    // stays the baseline, as the machine's own baseline does; the reader of the lost image goes.
    const persisted = saved.persisted.catch((e: unknown) => {
      if (this.baseline === baseline) this.baseline = previous;
      const i = this.readers.indexOf(saved.reader);
      if (i >= 0) {
        this.readers.splice(i, 1);
        saved.reader.close();
      }
      throw e;
    });
    this.lastSave = persisted.then(
      () => {},
      () => {},
    );
    return {
      bytes: saved.bytes,
      pages: saved.pages,
      parent: saved.parent,
      digest: saved.digest,
      steps,
      location: saved.ref.location,
      persisted,
    };
  }

  /**
   * Settles once the last save is durable or has failed: a save asked for meanwhile (the
   * guest's save-world during a :save) and the end of the session wait for it.
   */
  whenSaved(): Promise<void> {
    return this.lastSave;
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
        { name: "amber", version: "warm-up" },
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
   * Replaces the running world with a saved one (pages read on first touch); the console
   * tail saved with it comes back as the prompt. The current world is discarded: the
   * caller asks first.
   */
  async restore(ref: WorldRef): Promise<void> {
    const reader = await this.store.open(ref);
    this.adopt(openWorld(reader, ref, this.io, this.jit, this.store), ref);
  }

  /** A session on a saved world, opened as `reader` (see `restore`); the session keeps the reader. */
  static resume(
    reader: CheckpointReader,
    ref: WorldRef,
    io: ConsoleIo,
    events: SessionEvents,
    jit: boolean,
    store: WorldStore,
    scripted = false,
  ): WorldSession {
    const world = openWorld(reader, ref, io, jit, store);
    const session = new WorldSession(world.machine, io, events, jit, store, scripted);
    session.adopt(world, ref);
    return session;
  }

  private adopt(world: OpenedWorld, ref: WorldRef): void {
    for (const r of this.readers) if (r !== world.reader) r.close();
    this.readers = [world.reader];
    this.closeDisks();
    this.closeDisks = world.closeDisks;
    this.timerWait.attach(world.machine);
    this.machine = world.machine;
    this.io.trimLog(true);
    // A new world has new disks: the trace (if on) follows them; the counts start again.
    const watch = new DiskWatch(world.machine);
    this.diskWatch.close(watch);
    this.diskWatch = watch;
    this.consoleTail = world.consoleTail;
    this.tailToShow = world.consoleTail !== "";
    this.baseline = {
      name: ref.name,
      location: ref.location,
      reader: world.reader,
      steps: world.machine.hart.steps,
    };
    this.breakpoints.clear();
    this.resumeFrom = undefined;
    this.answering = false;
    this.guestMessages.length = 0;
    // Saved by the guest's (save-world ...): it learns that this is the resumed world.
    if (world.awaitsSaveWorld) this.io.push(ControlCode.resumed);
    this.setState(world.machine.exited === undefined ? "running" : "exited");
  }

  /** Stops running and closes the images the world reads from. */
  close(): void {
    this.setState("paused");
    this.diskWatch.close();
    this.closeDisks();
    this.closeDisks = () => {};
    for (const r of this.readers) r.close();
    this.readers = [];
  }
}
