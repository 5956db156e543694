import type { RamBaseline } from "@amber/memory";
import type { DiskBaseline } from "../devices/tracked-disk.js";
import type { Machine } from "../machine.js";
import { MachineError } from "../machine-error.js";
import type { MachineState } from "../machine-state.js";
import type { InputLog } from "../replay/input-log.js";
import type { RunOutcome } from "../run-loop.js";

/** One in-memory snapshot: the state but RAM, and RAM as the pages written since (their bytes at the instant). */
interface Snapshot {
  steps: number;
  state: MachineState;
  ram: RamBaseline;
  /** Each disk (by virtio slot) as the pages written since, their bytes at the instant. */
  disks: (DiskBaseline | undefined)[];
  /** Input events consumed at the instant. */
  cursor: number;
}

/** How far before a seek's target an extra snapshot is taken. */
const NEAR = 1024;

export interface TimeLineOptions {
  /** Steps between snapshots (default 2^22: about 0.1 s of compiled guest code). */
  interval?: number;
  /** Most bytes of page copies the snapshots keep together (default 256 MiB). */
  budgetBytes?: number;
}

/**
 * A machine's recent past, kept so that it can be revisited: periodic in-memory snapshots
 * (the state but RAM as `captureState` gives it; RAM as a `RamBaseline`, the bytes each page
 * held before its first write since the instant) plus deterministic re-execution from the
 * nearest one, so going back N steps costs about the snapshot interval, not N. Input comes
 * through an `InputLog`, so the re-executed steps get the input the first run got, and
 * output of steps already run once (before the `frontier`) is muted.
 *
 * Disks are rewound too: each snapshot journals the disk pages written after it (their
 * bytes before the first write, `TrackedDisk.keepBaseline`), and a restore writes them back.
 *
 * When the snapshots' copies exceed the budget, the snapshot whose removal leaves the
 * smallest gap goes (never the first or the last), so history thins out evenly.
 */
export class TimeLine {
  private readonly snapshots: Snapshot[] = [];
  readonly interval: number;
  private readonly budget: number;
  /** The furthest step the machine has reached: steps before it were run once already. */
  frontier: number;
  /** Whether the guest, at the frontier, waits in `wfi` for input that had not come (it was reported stuck there). */
  waitsAtFrontier = false;
  /** Snapshots taken and steps re-executed so far (for statistics). */
  taken = 0;
  replayedSteps = 0;

  constructor(
    private readonly machine: Machine,
    private readonly input: InputLog,
    options: TimeLineOptions = {},
  ) {
    this.interval = Math.max(1, options.interval ?? 1 << 22);
    this.budget = Math.max(4096, options.budgetBytes ?? 256 << 20);
    this.frontier = machine.hart.steps;
    input.steps = () => machine.hart.liveSteps;
    // Output is flushed when a run returns: a run ending at the frontier re-ran old steps.
    input.muted = () => machine.hart.liveSteps <= this.frontier;
    this.snapshot();
  }

  /** The earliest step history reaches back to. */
  get start(): number {
    return this.snapshots[0]!.steps;
  }

  /** Bytes of page copies held by the snapshots, RAM and disks (pages shared between snapshots counted in each). */
  get keptBytes(): number {
    return this.snapshots.reduce((n, s) => n + s.ram.keptBytes + diskBytes(s), 0);
  }

  /** The steps of the snapshots, ascending. */
  snapshotSteps(): number[] {
    return this.snapshots.map((s) => s.steps);
  }

  get count(): number {
    return this.snapshots.length;
  }

  /** Steps the machine may run before the next snapshot is due (or before the frontier, while behind it). */
  stepsAhead(): number {
    const steps = this.machine.hart.steps;
    const last = this.snapshots[this.snapshots.length - 1]!;
    let n = Math.max(1, last.steps + this.interval - steps);
    if (steps < this.frontier) n = Math.min(n, this.frontier - steps);
    return n;
  }

  /** Call after the machine ran: takes a snapshot when one is due and moves the frontier. */
  advanced(): void {
    const steps = this.machine.hart.steps;
    if (steps > this.frontier) {
      this.frontier = steps;
      this.waitsAtFrontier = false;
    }
    const last = this.snapshots[this.snapshots.length - 1]!;
    // Not inside a deferred skip to the timer (see Board.idleGate): no state holds it.
    if (steps >= last.steps + this.interval && !this.machine.timerHeld) this.snapshot();
  }

  /**
   * Runs up to `maxSteps` with no checks, taking snapshots on the way. Below the frontier
   * a guest idle in `wfi` is run on, as it was the first time (however often its host
   * resumed it then: each resume is steps that ran, and the input it got is logged).
   */
  run(maxSteps: number): RunOutcome {
    const hart = this.machine.hart;
    const stopAt = hart.steps + maxSteps;
    for (;;) {
      const left = stopAt - hart.steps;
      if (left <= 0) return { kind: "budget" };
      const before = hart.steps;
      const outcome = this.machine.run(Math.min(left, this.stepsAhead()));
      this.advanced();
      // A guest waiting for input (wfi) below the frontier was resumed the first time
      // (input came, or its host ran it again): history says it went on, so it does.
      if (outcome.kind === "stuck" && hart.steps < this.frontier && hart.steps > before) continue;
      // (Held before its timer by the host's idle gate, it does not wait for input.)
      if (outcome.kind === "stuck" && !this.machine.timerHeld) this.waitsAtFrontier = true;
      if (outcome.kind !== "budget") return outcome;
    }
  }

  /**
   * Puts the machine at step `target` (≥ `start`): from the latest snapshot at or before it
   * (or from where it is, when that is nearer), re-executing the steps in between.
   */
  seek(target: number): RunOutcome {
    const hart = this.machine.hart;
    if (target < this.start) {
      throw new MachineError("CONFIG_INVALID", `step ${target} is before the kept history (${this.start})`);
    }
    let i = this.snapshots.length - 1;
    while (this.snapshots[i]!.steps > target) i--;
    const from = this.snapshots[i]!;
    if (!(hart.steps <= target && hart.steps >= from.steps)) this.restore(i);
    const before = hart.steps;
    // A snapshot shortly before the target: stepping back again from there (gdb's
    // reverse-stepi, one step at a time) re-executes a few steps, not the interval.
    if (target - hart.steps > 2 * NEAR) {
      const outcome = this.run(target - NEAR - hart.steps);
      if (outcome.kind !== "budget") return outcome;
      this.snapshot();
    }
    const outcome = this.run(target - hart.steps);
    this.replayedSteps += hart.steps - before;
    return outcome;
  }

  /**
   * Forgets the past: the state was changed from outside (a debugger wrote a register or
   * memory), so earlier snapshots no longer lead here. History starts again at this step;
   * logged input not yet consumed is dropped.
   */
  rebase(): void {
    this.dispose();
    this.input.events.length = this.input.cursor;
    this.frontier = this.machine.hart.steps;
    this.waitsAtFrontier = false;
    this.snapshot();
  }

  /** Drops every snapshot, ending their page copies. */
  dispose(): void {
    for (const s of this.snapshots) end(s);
    this.snapshots.length = 0;
  }

  private snapshot(): void {
    const m = this.machine;
    if (this.snapshots[this.snapshots.length - 1]?.steps === m.hart.steps) return;
    this.snapshots.push({
      steps: m.hart.steps,
      state: m.captureState(),
      ram: m.ram.keepBaseline(this.budget),
      disks: m.keepDiskBaselines(),
      cursor: this.input.cursor,
    });
    this.taken++;
    this.thin();
  }

  private thin(): void {
    const s = this.snapshots;
    while (s.length > 2 && this.keptBytes > this.budget) {
      let best = 1;
      for (let i = 2; i < s.length - 1; i++) {
        if (s[i + 1]!.steps - s[i - 1]!.steps < s[best + 1]!.steps - s[best - 1]!.steps) best = i;
      }
      end(s[best]!);
      s.splice(best, 1);
    }
  }

  /** Puts the machine back at snapshot `i`; later snapshots are dropped (running on takes them again). */
  private restore(i: number): void {
    const m = this.machine;
    const s = this.snapshots[i]!;
    for (const later of this.snapshots.splice(i + 1)) end(later);
    if (s.ram.missedPages > 0) {
      throw new MachineError(
        "CONFIG_INVALID",
        `the snapshot at step ${s.steps} lost pages to the memory budget: raise the budget`,
      );
    }
    const ram = m.ram;
    for (const p of s.ram.writtenPages()) {
      const bytes = s.ram.pageAt(p);
      if (bytes !== undefined) ram.writeBytes(p * 4096, bytes);
    }
    s.ram.end();
    // The disks: the pages written since, back as they were (the virtio devices' own
    // state, queues and indices, comes back with the rest of the state).
    for (const d of s.disks) d?.restore();
    m.loadState(s.state);
    this.input.cursor = s.cursor;
    // The snapshot again, counting from now (the restore's own writes are not changes).
    s.ram = ram.keepBaseline(this.budget);
    s.disks = m.keepDiskBaselines();
  }
}

function diskBytes(s: Snapshot): number {
  let n = 0;
  for (const d of s.disks) n += d?.keptBytes ?? 0;
  return n;
}

/** Ends a snapshot's page copies (RAM and disks). */
function end(s: Snapshot): void {
  s.ram.end();
  for (const d of s.disks) d?.end();
}
