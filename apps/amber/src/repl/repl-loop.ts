import * as fs from "node:fs";
import * as readline from "node:readline";
import {
  completeMonitor,
  MonitorError,
  type MonitorHost,
  parseMonitorLine,
  saveWorldAs,
  type WorldSession,
} from "@amber/monitor";
import { listenGdb, parseGdbAddress } from "../commands/gdb-listen.js";
import { progressBar } from "../commands/image-progress.js";
import { errorReport, oneLine } from "../error-line.js";
import { UserError } from "../user-error.js";
import type { IdleCompactor } from "./idle-compactor.js";
import { LineQueue } from "./line-queue.js";

export interface ReplStreams {
  input: NodeJS.ReadableStream;
  /** Guest console and monitor data. */
  output: NodeJS.WritableStream;
  /** Amber's own talk. */
  errors: NodeJS.WritableStream;
  /** A terminal: line editing, history, prompts redrawn, Ctrl-C, questions. */
  terminal: boolean;
}

/** How long a monitor command typed while the guest computes waits for it to finish its line. */
const SETTLE_MS = 250;
/** After this long without going idle, an unfinished console line is shown anyway. */
const PARTIAL_LINE_MS = 100;

/**
 * The REPL: console lines go to the guest, lines starting with ':' to the monitor, in the
 * order typed. On a terminal the guest's prompt becomes readline's, so line editing,
 * history and tab completion work although the guest has none; Ctrl-C pauses a busy
 * guest. Resolves with the exit status when the user quits or the guest powers off.
 */
export class ReplLoop {
  private rl!: readline.Interface;
  private readonly lines = new LineQueue();
  /** Guest output after the last newline, not shown yet (it may become the prompt). */
  private held = "";
  private heldTimer: NodeJS.Timeout | undefined;
  private finished: ((status: number) => void) | undefined;
  private status: number | undefined;
  private hintedQuit = false;
  private warmedUp = false;
  /** While `:gdb` serves: stops it (Ctrl-C). */
  private gdbControl: { wake(): void; stop(): void } | undefined;
  /** A monitor command (or the guest's save-world) is running: the REPL is not idle. */
  private commandRunning = false;
  /** A monitor command is being handled, from its wait for the guest to settle on. */
  private handling = false;
  /** The guest powered off while a monitor command was handled: the REPL ends after it. */
  private exitAfterCommand: number | undefined;

  constructor(
    readonly session: WorldSession,
    private readonly streams: ReplStreams,
    /** Saved world names for tab completion (read synchronously: readline's completer is). */
    private readonly worldNames: () => string[],
    /** Recompresses fast-saved worlds while the REPL is idle (absent: never). */
    private readonly compactor?: IdleCompactor,
  ) {}

  /** Whether nothing is going on: the guest waits or is stopped, no command runs, no line is queued. */
  quiet(): boolean {
    return (
      this.status === undefined &&
      this.session.state !== "running" &&
      !this.commandRunning &&
      this.gdbControl === undefined &&
      this.lines.pending === 0
    );
  }

  /** Guest console output (wired to the session's ConsoleIo). */
  guestOutput(data: Uint8Array): void {
    if (!this.streams.terminal) {
      const shown = this.session.noteOutputBytes(data);
      if (shown.length > 0) this.streams.output.write(shown);
      return;
    }
    const decoded = this.session.noteOutput(data);
    const text = this.held + decoded;
    const nl = text.lastIndexOf("\n");
    if (nl >= 0) this.streams.output.write(text.slice(0, nl + 1));
    this.held = text.slice(nl + 1);
    if (this.held !== "" && this.heldTimer === undefined) {
      this.heldTimer = setTimeout(() => {
        this.heldTimer = undefined;
        this.streams.output.write(this.held);
        this.held = "";
      }, PARTIAL_LINE_MS);
    }
  }

  /** The guest waits for input: its unfinished line is the prompt. */
  guestIdle(): void {
    this.prompt();
    this.compactor?.idle();
    if (!this.warmedUp) {
      this.warmedUp = true;
      // While the user reads the prompt: makes the first :save as quick as the later ones.
      setTimeout(() => {
        if (this.status === undefined && this.session.state !== "running") this.session.warmUp();
      }, 20).unref();
    }
  }

  /** A world was restored: its prompt was printed before it was saved, so show it again. */
  private showRestoredTail(): void {
    const s = this.session;
    if (!s.tailToShow) return;
    s.tailToShow = false;
    if (!this.streams.terminal) this.streams.output.write(s.consoleTail);
  }

  /** The guest's `(save-world "name")`: saved as `:save name` is (a MonitorError refuses it). */
  async guestSaveWorld(name: string): Promise<void> {
    this.commandRunning = true;
    try {
      await this.compactor?.busy();
      await saveWorldAs(this.host(), name, { guestAwaits: true });
    } finally {
      this.commandRunning = false;
      this.compactor?.saved();
    }
  }

  guestStopped(message: string): void {
    this.say(`${message}\n(paused: :continue, :step, :regs, :disas)\n`);
    this.prompt();
  }

  guestExited(code: number): void {
    this.say(`the guest powered off (exit ${code})\n`);
    // A command typed before the power-off (a script's `(exit 0)` then `:save`) waits for
    // the guest to settle: it runs on the powered-off world, whose images stay open until
    // it is done (ending now would close the files its pages are read from lazily).
    if (this.handling) this.exitAfterCommand = code;
    else this.end(code);
  }

  /** Running the guest failed (a damaged page met mid-run): one line, and the REPL ends. */
  guestFailed(e: unknown): void {
    this.dropHeld();
    const { text, exitCode } = errorReport(e, Boolean(process.env.AMBER_DEBUG));
    this.streams.errors.write(text);
    this.end(exitCode);
  }

  private say(text: string): void {
    this.dropHeld();
    this.streams.errors.write(`amber: ${text}`);
  }

  private dropHeld(): void {
    if (this.heldTimer !== undefined) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    if (this.held !== "") {
      this.streams.output.write(`${this.held}\n`);
      this.held = "";
    }
  }

  private prompt(): void {
    if (!this.streams.terminal || this.status !== undefined) return;
    if (this.heldTimer !== undefined) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.held = "";
    const s = this.session;
    this.rl.setPrompt(s.state === "paused" ? "(paused) " : s.state === "exited" ? "(off) " : s.consoleTail);
    this.rl.prompt(true);
  }

  private attach(): void {
    const { input, output, terminal } = this.streams;
    this.rl = readline.createInterface({
      input,
      output: terminal ? output : undefined,
      terminal,
      historySize: 1000,
      prompt: "",
      completer: (line: string) => completeMonitor(line, this.worldNames),
    });
    this.rl.on("line", (line) => {
      this.compactor?.poke();
      this.lines.push(line);
    });
    this.rl.on("close", () => this.lines.end());
    // Keys act in the order typed. A loaded host hands over a burst of keys in one read, so
    // the Enter of a line and a Ctrl-C typed after it can arrive together: readline gives
    // the line, then the Ctrl-C, before the loop has sent that line to the guest (it takes
    // lines a microtask later). The Ctrl-C waits until then, and so interrupts what the line
    // started instead of finding the guest still waiting at its prompt.
    this.rl.on("SIGINT", () => {
      setImmediate(() => {
        if (this.status === undefined) this.interrupt();
      });
    });
  }

  private interrupt(): void {
    const s = this.session;
    if (this.gdbControl !== undefined) {
      this.gdbControl.stop();
      this.streams.output.write("^C\n");
      return;
    }
    if (s.state === "running") {
      s.pause();
      this.say(`paused at ${s.where()} (:continue to run on)\n`);
    } else if (!this.hintedQuit) {
      this.hintedQuit = true;
      this.streams.output.write("^C\n");
      this.say(":quit (or Ctrl-D) leaves\n");
    } else this.streams.output.write("^C\n");
    this.rl.write(null, { ctrl: true, name: "u" });
    this.prompt();
  }

  /** Runs until quit or power-off; returns the exit status. */
  run(banner: string): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.finished = resolve;
    });
    this.attach();
    this.streams.errors.write(banner);
    this.showRestoredTail();
    this.session.start();
    void this.loop();
    return done;
  }

  private end(status: number): void {
    if (this.status !== undefined) return;
    this.status = status;
    this.compactor?.stop();
    this.dropHeld();
    this.session.close();
    this.rl.close();
    // A save in flight (the guest's save-world when it powered off) is durable before the end.
    const finished = this.finished;
    void this.session.whenSaved().then(() => finished?.(status));
  }

  private host(): MonitorHost {
    return {
      session: this.session,
      out: (text) => {
        this.dropHeld();
        this.streams.output.write(text);
      },
      say: (text) => this.say(text),
      confirm: (question) => this.confirm(question),
      progress: (label) => progressBar(label, this.streams.terminal),
      quit: (status) => this.end(status),
      gdb: (address) => this.serveGdb(address),
      openTraceFile: (name) => openTraceFile(name),
      idleCompact: this.compactor === undefined ? undefined : (on) => this.idleCompact(on),
    };
  }

  /** A line from the idle-time compactor: on a terminal, on its own line, the prompt drawn again. */
  notice(text: string): void {
    if (this.status !== undefined) return;
    if (this.streams.terminal) this.streams.output.write("\r\x1b[K");
    this.say(text);
    if (this.session.state !== "running") this.prompt();
  }

  /** `:compact auto [on|off]`: switches the idle-time pass, and says how it stands. */
  private idleCompact(on: boolean | undefined): string {
    const c = this.compactor!;
    if (on !== undefined) {
      c.enabled = on;
      c.saved();
    }
    return c.enabled
      ? `idle-time compaction is on: after ${c.delayMs} ms idle, worlds saved with a fast codec are recompressed to zstd ${c.threaded ? "in a worker thread" : "on the main thread (running from sources)"}`
      : "idle-time compaction is off (:compact auto on, or :compact NAME now)";
  }

  /**
   * `:gdb [HOST:]PORT`: serves gdb's remote protocol for the live world until the client
   * detaches (or Ctrl-C). The guest runs on until a client attaches, which stops it; a
   * time line keeps its recent past, so gdb can step and continue backwards. Console
   * lines typed meanwhile go to the guest at once (logged, so going back in time replays
   * them); monitor commands wait until gdb is gone. Then the REPL goes on where gdb left
   * the guest: running, if it was running before.
   */
  private async serveGdb(spec: string): Promise<void> {
    const address = parseGdbAddress(spec, ":gdb");
    const s = this.session;
    const io = s.io;
    let wasRunning = s.debug();
    let wake = (): void => {};
    this.lines.intercept = (line) => {
      if (line.startsWith(":")) {
        this.say("gdb is attached: the monitor command runs once it detaches\n");
        return false;
      }
      io.push(`${line}\n`);
      wake();
      return true;
    };
    try {
      const outcome = await listenGdb(
        { stderr: (text) => this.say(text.replace(/^amber: /, "")) },
        s.machine,
        io.log,
        address,
        {
          wait: false,
          maxSteps: Number.POSITIVE_INFINITY,
          endOnDetach: true,
          idleWhenStuck: true,
          what: ":gdb",
          control: (c) => {
            wake = c.wake;
            this.gdbControl = c;
          },
        },
      );
      if (outcome.kind === "detached") this.say(`gdb detached at ${s.where()}\n`);
      else if (outcome.kind === "stopped") this.say(`gdb server closed at ${s.where()}\n`);
      else if (outcome.kind === "killed") {
        wasRunning = false;
        this.say(`gdb killed the run: the guest is paused at ${s.where()} (:continue runs it)\n`);
      } else if (outcome.kind === "unhandled-trap") {
        wasRunning = false;
        this.say(`the guest stopped under gdb: ${s.where()}\n`);
      }
    } finally {
      this.lines.intercept = undefined;
      this.gdbControl = undefined;
      s.undebug(wasRunning);
    }
  }

  private async confirm(question: string): Promise<boolean> {
    this.dropHeld();
    if (this.streams.terminal) {
      this.rl.setPrompt(question);
      this.rl.prompt();
    } else this.streams.errors.write(`amber: ${question}\n`);
    const answer = await this.lines.next();
    return answer !== undefined && /^y(es)?$/i.test(answer.trim());
  }

  private async loop(): Promise<void> {
    for (;;) {
      const line = await this.lines.next();
      if (this.status !== undefined) return;
      if (line === undefined) {
        if (await this.endOfInput()) return;
        continue;
      }
      try {
        await this.handle(line);
      } catch (e) {
        // A library's error here is not about the line typed but the running world (a
        // damaged page met by :step or :mem), or a bug: one line, and the REPL ends.
        if (!(e instanceof UserError) && !(e instanceof MonitorError)) {
          this.guestFailed(e);
          return;
        }
        this.say(`${oneLine(e.message)}\n`);
      }
      const exit = this.exitAfterCommand;
      this.exitAfterCommand = undefined;
      // Still powered off after that command (not restored): the session ends with the guest's status.
      if (exit !== undefined && this.session.state === "exited") this.end(exit);
      if (this.status !== undefined) return;
      this.showRestoredTail();
      if (this.session.state !== "running") {
        this.prompt();
        this.compactor?.idle();
      }
    }
  }

  private async handle(line: string): Promise<void> {
    const s = this.session;
    if (line.startsWith(":")) {
      this.handling = true;
      try {
        // Let the guest finish what it was sent first (a script's :save comes after its definitions).
        await s.settled(this.streams.terminal ? SETTLE_MS : Number.POSITIVE_INFINITY);
        const { command, args } = parseMonitorLine(line);
        this.commandRunning = true;
        try {
          // A world being compacted in the background is whole again before any command sees it.
          await this.compactor?.busy();
          await command.run(this.host(), args);
        } finally {
          this.commandRunning = false;
          this.compactor?.saved();
        }
      } finally {
        this.handling = false;
      }
      return;
    }
    // A script's line waits for the guest to be done with the one before (waiting for input,
    // or quiet: see WorldSession.scripted), so it reaches the guest at the same instruction
    // on every run, however fast the host or the pipe.
    if (!this.streams.terminal) await s.settled();
    if (this.status !== undefined) return;
    if (s.state === "exited") {
      this.say("the guest has powered off: :restore NAME, or :quit\n");
      return;
    }
    s.sendLine(line);
    if (s.state === "paused") this.say("paused: the line waits for the guest (:continue)\n");
  }

  /** Ctrl-D or the end of a script. Returns true when the REPL is over. */
  private async endOfInput(): Promise<boolean> {
    const s = this.session;
    if (!this.streams.terminal) {
      // A script ends: let the guest finish its last line, then leave.
      await s.settled();
      if (this.status !== undefined) return true;
      if (s.state !== "exited" && s.unsavedSteps > 0) {
        this.say(`end of input: unsaved work since ${s.baseline?.name ?? "boot"} discarded\n`);
      }
      this.end(0);
      return true;
    }
    // On a terminal Ctrl-D is :quit, which asks first when work is unsaved.
    this.lines.reopen();
    this.streams.output.write("\n");
    this.attach();
    await parseMonitorLine(":quit").command.run(this.host(), []);
    return this.status !== undefined;
  }
}

/**
 * A file for `:disk-trace FILE`: lines gathered and written after the current slice of
 * guest run (or every 512 lines), so a write-heavy guest does not wait on the file and
 * `tail -f` sees them promptly.
 */
function openTraceFile(name: string): { write(text: string): void; close(): void } {
  let fd: number;
  try {
    fd = fs.openSync(name, "w");
  } catch (e) {
    throw new MonitorError(`:disk-trace ${name}: cannot write: ${(e as Error).message}`, "usage");
  }
  let lines: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (lines.length === 0 || fd < 0) return;
    fs.writeSync(fd, lines.join(""));
    lines = [];
  };
  return {
    write(text) {
      lines.push(text);
      if (lines.length >= 512) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    close() {
      flush();
      fs.closeSync(fd);
      fd = -1;
    },
  };
}
