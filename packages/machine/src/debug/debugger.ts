import { type Decoded, decodeInto, INSTRUCTIONS, opInfo } from "@amber/isa";
import type { Machine } from "../machine.js";
import type { RunOutcome } from "../run-loop.js";
import { DebugMemory } from "./debug-memory.js";
import type { TimeLine } from "./time-line.js";

/** What a watchpoint watches for: writes, reads, or both (gdb's Z2, Z3, Z4). */
export type WatchKind = "write" | "read" | "access";

export interface Watchpoint {
  kind: WatchKind;
  address: number;
  length: number;
}

/** Why the debugged machine stopped. */
export type StopEvent =
  | { kind: "step" }
  | { kind: "breakpoint"; pc: number }
  | { kind: "watchpoint"; watch: Watchpoint; address: number }
  | { kind: "interrupted" }
  /** Reverse execution reached the oldest kept state. */
  | { kind: "history-start" }
  /** A continue that replayed history reached its end (the furthest step run): as gdb's record. */
  | { kind: "history-end" }
  | { kind: "exited"; code: number }
  | { kind: "unhandled-trap" }
  | { kind: "stuck" };

/**
 * What an operation yields between slices: nothing (it has more to run: call again soon),
 * or "idle" — the guest waits in `wfi` for input (or another interrupt) that has not come:
 * call again later (on input, on an interrupt request, or after a pause); nothing runs meanwhile.
 */
export type Slice = undefined | "idle";

/** One resumption asked of the debugger. */
export type Resume = "continue" | "step" | "reverse-continue" | "reverse-step";

/** Checked steps between two yields (about 25 ms of stepping). */
const STEP_SLICE = 100_000;
/** Unchecked steps between two yields when no breakpoint or watchpoint is set. */
const RUN_SLICE = 1 << 21;

const NO_ACCESS = 0;
const READS = 1;
const WRITES = 2;

/**
 * Run control for a debugger over a machine and its time line: continue and step forward
 * and backward, stopping at breakpoints (on the pc) and watchpoints (on the addresses the
 * instruction about to run reads or writes, decoded before it runs). With no breakpoint or
 * watchpoint set, the machine runs at full speed (compiled code); otherwise it is stepped.
 * Every operation is a generator that yields between slices, so a host can keep its event
 * loop (sockets, Ctrl-C) alive; `interrupt()` stops it at the next slice.
 *
 * Reverse: a step back is a seek to the previous step (the time line re-executes from the
 * nearest snapshot); a continue back scans the history window by window, newest first,
 * for the last breakpoint or watchpoint hit before the current step, and seeks to it.
 * A watchpoint stops as RISC-V triggers do (and as gdb expects of RISC-V, whose watchpoints
 * it steps over itself): going forward, before the accessing instruction runs; going
 * backward, right after it ran (gdb then steps back over it).
 */
export class Debugger {
  readonly breakpoints = new Set<number>();
  readonly watchpoints: Watchpoint[] = [];
  readonly memory: DebugMemory;
  private interruptRequested = false;
  private readonly scratch: Decoded = {
    spec: INSTRUCTIONS[0]!,
    raw: 0,
    length: 4,
    rd: 0,
    rs1: 0,
    rs2: 0,
    imm: 0,
  };

  constructor(
    readonly machine: Machine,
    readonly timeline: TimeLine,
  ) {
    this.memory = new DebugMemory(machine);
  }

  /** Asks the operation in progress to stop at its next slice. */
  interrupt(): void {
    this.interruptRequested = true;
  }

  *resume(how: Resume): Generator<Slice, StopEvent> {
    this.interruptRequested = false;
    switch (how) {
      case "continue":
        return yield* this.forward();
      case "step":
        return this.stepForward();
      case "reverse-step":
        return this.stepBack();
      case "reverse-continue":
        return yield* this.backward();
    }
  }

  private get pc(): number {
    return this.machine.hart.pc >>> 0;
  }

  private stepForward(): StopEvent {
    const outcome = this.timeline.run(1);
    if (outcome.kind !== "budget") return this.endEvent(outcome);
    if (this.breakpoints.has(this.pc)) return { kind: "breakpoint", pc: this.pc };
    return { kind: "step" };
  }

  private stepBack(): StopEvent {
    const steps = this.machine.hart.steps;
    if (steps <= this.timeline.start) return { kind: "history-start" };
    this.timeline.seek(steps - 1);
    if (this.breakpoints.has(this.pc)) return { kind: "breakpoint", pc: this.pc };
    return { kind: "step" };
  }

  /**
   * Continue: until a breakpoint, a watchpoint, the guest's end or an interrupt. A guest
   * idle in `wfi` with nothing to wake it but input is waited for (yielding "idle", without
   * running steps) as a real target waits: input that comes (the UART takes it, logged)
   * or `interrupt()` ends the wait. A continue that starts in the past (after a reverse
   * step or continue) and replays up to the furthest step run, where the guest was waiting
   * for input, stops there (history-end: the end of the recorded input) instead of waiting.
   */
  private *forward(): Generator<Slice, StopEvent> {
    const tl = this.timeline;
    const hart = this.machine.hart;
    let replaying = hart.steps < tl.frontier;
    let first = true;
    let waiting = false;
    for (;;) {
      if (this.interruptRequested) return { kind: "interrupted" };
      let left = replaying ? tl.frontier - hart.steps : Number.POSITIVE_INFINITY;
      if (left <= 0) {
        if (tl.waitsAtFrontier) return { kind: "history-end" };
        replaying = false;
        left = Number.POSITIVE_INFINITY;
      }
      if (waiting) {
        if (!this.machine.canLeaveWait()) {
          yield "idle";
          continue;
        }
        waiting = false;
      }
      if (this.breakpoints.size === 0 && this.watchpoints.length === 0) {
        const outcome = tl.run(Math.min(RUN_SLICE, left));
        if (outcome.kind === "stuck") waiting = true;
        else if (outcome.kind !== "budget") return this.endEvent(outcome);
      } else {
        const n = Math.min(STEP_SLICE, left);
        for (let i = 0; i < n; i++) {
          if (!first && this.breakpoints.has(this.pc)) return { kind: "breakpoint", pc: this.pc };
          first = false;
          const watched = this.watchHit();
          if (watched !== undefined) return watched;
          const outcome = tl.run(1);
          if (outcome.kind === "stuck") {
            waiting = true;
            break;
          }
          if (outcome.kind !== "budget") return this.endEvent(outcome);
        }
      }
      if (!waiting) yield;
    }
  }

  private *backward(): Generator<Slice, StopEvent> {
    const tl = this.timeline;
    const hart = this.machine.hart;
    const now = hart.steps;
    let windowEnd = now;
    while (windowEnd > tl.start) {
      // The window: from the latest snapshot before its end (seek lands on it exactly).
      tl.seek(this.windowStart(windowEnd));
      const from = hart.steps;
      let hit = -1;
      let event: StopEvent | undefined;
      let n = 0;
      while (hart.steps < windowEnd) {
        const at = hart.steps;
        const watched = at < now ? this.watchHit() : undefined;
        if (this.breakpoints.has(this.pc) && at < now) {
          hit = at;
          event = { kind: "breakpoint", pc: this.pc };
        }
        if (watched !== undefined) {
          hit = at + 1;
          event = watched;
        }
        const outcome = tl.run(1);
        if (outcome.kind !== "budget") break;
        if (++n >= STEP_SLICE) {
          n = 0;
          yield;
          if (this.interruptRequested) return { kind: "interrupted" };
        }
      }
      if (event !== undefined) {
        tl.seek(hit);
        return event;
      }
      windowEnd = from;
      yield;
      if (this.interruptRequested) return { kind: "interrupted" };
    }
    tl.seek(tl.start);
    return { kind: "history-start" };
  }

  /** Where the history window ending at `end` starts: the latest snapshot step before it. */
  private windowStart(end: number): number {
    let start = this.timeline.start;
    for (const s of this.timeline.snapshotSteps()) if (s < end) start = s;
    return start;
  }

  /**
   * The watchpoint the instruction at pc is about to hit (its load/store/AMO address
   * against the watched ranges), as a stop event; undefined when none.
   */
  private watchHit(): StopEvent | undefined {
    if (this.watchpoints.length === 0) return undefined;
    const pc = this.pc;
    const bits = this.memory.instructionAt(pc);
    if (Number.isNaN(bits) || !decodeInto(bits, this.scratch)) return undefined;
    const d = this.scratch;
    // What the instruction about to run accesses, from the ISA's one table of op facts.
    const info = opInfo(d.spec.op);
    let access = NO_ACCESS;
    let size = 4;
    let offset = d.imm;
    if (info.access !== undefined) {
      // Loads write rd, stores do not.
      access = info.writesRd ? READS : WRITES;
      size = info.access.size;
    } else if (info.name === "lr.w") {
      access = READS;
      offset = 0;
    } else if (info.name === "sc.w") {
      access = WRITES;
      offset = 0;
    } else if (info.name.startsWith("amo")) {
      access = READS | WRITES;
      offset = 0;
    }
    if (access === NO_ACCESS) return undefined;
    const address = (this.machine.hart.x[d.rs1]! + offset) >>> 0;
    for (const w of this.watchpoints) {
      const wants = w.kind === "write" ? WRITES : w.kind === "read" ? READS : READS | WRITES;
      if ((wants & access) === 0) continue;
      if (address < w.address + w.length && w.address < address + size) {
        return { kind: "watchpoint", watch: w, address };
      }
    }
    return undefined;
  }

  private endEvent(outcome: RunOutcome): StopEvent {
    switch (outcome.kind) {
      case "exited":
        return { kind: "exited", code: outcome.code };
      case "unhandled-trap":
        return { kind: "unhandled-trap" };
      case "stuck":
        return { kind: "stuck" };
      default:
        return { kind: "step" };
    }
  }
}
