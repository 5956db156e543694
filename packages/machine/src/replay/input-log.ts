import type { HostIo } from "../host-io.js";

/** One non-deterministic input the guest consumed, at the step it consumed it. */
export type InputEvent =
  /** Console bytes `HostIo.stdin` returned (null: end of input). */
  | { at: number; kind: "stdin"; bytes: Uint8Array | null }
  /** A reading of the host's clock (`--host-time`), in milliseconds. */
  | { at: number; kind: "time"; ms: number };

const NONE = new Uint8Array(0);

/** Host I/O that can wait for input without spinning (the optional `HostIo.waitForInput`). */
interface WaitsForInput {
  waitForInput?(ms: number): void;
}

/**
 * The board's host I/O with every input it consumes logged against the step count at
 * which the guest consumed it (the hart's `liveSteps`), and played back from the log when
 * the same steps run again: a rewound machine (reverse execution) or a replayed run
 * (`amber replay`) gets the very bytes at the very instructions, so it runs the same.
 * Polls that return nothing are not logged: a deterministic guest polls at the same steps
 * again, and gets nothing until the logged step.
 *
 * Output is passed on only while `muted()` is false (a rewound machine re-running steps
 * whose output was already shown mutes it).
 */
export class InputLog implements HostIo {
  readonly events: InputEvent[];
  /** Events consumed so far: the next input comes from `events[cursor]` while there is one. */
  cursor = 0;
  /** Where the steps come from (set once the machine exists). */
  steps: () => number = () => 0;
  /** Whether output is dropped (set by whoever rewinds the machine). */
  muted: () => boolean = () => false;
  /** A logged input came at another step than the guest asked for it: the run diverged. */
  diverged: { at: number; expected: number } | undefined;

  constructor(
    /** Where new input comes from once the log is used up, and where output goes; undefined: none. */
    private readonly live: HostIo | undefined,
    events: InputEvent[] = [],
    /** The host clock (`--host-time`), logged on every reading. */
    private readonly clock?: { now(): number; sleep(ms: number): void },
  ) {
    this.events = events;
  }

  /** Whether every logged input has been consumed (new input now comes from the live side). */
  get atEnd(): boolean {
    return this.cursor >= this.events.length;
  }

  stdout(data: Uint8Array): void {
    if (!this.muted()) this.live?.stdout(data);
  }

  stderr(data: Uint8Array): void {
    if (!this.muted()) this.live?.stderr(data);
  }

  stdin(max: number): Uint8Array | null {
    const now = this.steps();
    const next = this.events[this.cursor];
    if (next !== undefined) {
      if (next.at < now) {
        this.diverged ??= { at: now, expected: next.at };
        return NONE;
      }
      // Input comes later, or a clock reading comes first (this poll found nothing then).
      if (next.at > now || next.kind !== "stdin") return NONE;
      this.cursor++;
      return next.bytes === null ? null : next.bytes.subarray(0, max);
    }
    if (this.live === undefined) return NONE;
    const got = this.live.stdin(max);
    if (got === null || got.length > 0) {
      this.events.push({ at: now, kind: "stdin", bytes: got === null ? null : got.slice() });
      this.cursor++;
    }
    return got;
  }

  /**
   * Waits for live input (`HostIo.waitForInput`, where the host I/O has it) once the log is
   * used up; while it is played back the input is already here: no waiting. A host that
   * runs its own event loop (the gdb server, which must keep its socket live while the
   * guest waits) sets it to undefined: the board then reports the guest stuck instead of
   * blocking, and the host polls `canLeaveWait()`.
   */
  waitForInput: ((ms: number) => void) | undefined = (ms) => {
    if (this.atEnd) (this.live as WaitsForInput | undefined)?.waitForInput?.(ms);
  };

  /** The host clock for `MachineOptions.hostTime`: readings are logged, then played back. */
  hostTime(): { now(): number; sleep(ms: number): void } {
    const clock = this.clock;
    return {
      now: () => {
        const next = this.events[this.cursor];
        if (next !== undefined) {
          if (next.kind === "time") {
            if (next.at !== this.steps()) this.diverged ??= { at: this.steps(), expected: next.at };
            this.cursor++;
            return next.ms;
          }
          this.diverged ??= { at: this.steps(), expected: next.at };
          return clock?.now() ?? 0;
        }
        const ms = clock?.now() ?? 0;
        this.events.push({ at: this.steps(), kind: "time", ms });
        this.cursor++;
        return ms;
      },
      sleep: (ms: number) => {
        if (this.atEnd) clock?.sleep(ms);
      },
    };
  }
}
