import type { Machine } from "./machine.js";

/**
 * Waits shorter than this are not held: the guest skips to its timer at once (holding it
 * would cost more in event-loop turns than the wait is worth).
 */
const MIN_HOLD_MS = 1;

/**
 * Paces an idle guest to the wall clock: its `wfi` that only the timer can end is held
 * (see `Board.idleGate`; install `gate` there) for as long as that guest time lasts at the
 * machine's nominal speed, instead of being skipped at once, so that a Linux guest idling
 * at its prompt does not run its timer ticks back to back on a busy core. Only while
 * `live()` (the REPL's session running the guest, gdb's continue at the frontier; replayed
 * steps are never held). The skip itself is the machine's: what the guest sees does not
 * change, only when, in wall time, it runs. The host waits `msLeft()` (or for input).
 */
export class IdlePacer {
  /** The guest instant held at (steps + idle cycles), -1 when none. */
  private heldAt = -1;
  /** Host time (ms) at which the hold ends. */
  private until = 0;
  /** Holds begun and waits skipped at once (the guest's timer ticks), for tests and statistics. */
  holds = 0;
  skips = 0;

  constructor(
    private readonly machine: Machine,
    private readonly live: () => boolean,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The machine's `idleGate`: whether the guest may skip `cycles` idle cycles to its timer now. */
  readonly gate = (cycles: number): boolean => {
    if (!this.live()) return true;
    const m = this.machine;
    const at = m.hart.steps + m.idleCycles;
    const t = this.now();
    if (at !== this.heldAt) {
      const ms = (cycles * 1000) / m.clock.instructionsPerSecond;
      if (ms < MIN_HOLD_MS) {
        this.skips++;
        return true;
      }
      this.heldAt = at;
      this.until = t + ms;
      this.holds++;
      return false;
    }
    if (t < this.until) return false;
    this.heldAt = -1;
    this.skips++;
    return true;
  };

  /** Milliseconds until the guest's current hold ends; Infinity when it is not held (it waits for input, or runs). */
  msLeft(): number {
    const m = this.machine;
    if (!m.timerHeld || m.hart.steps + m.idleCycles !== this.heldAt) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.until - this.now());
  }
}
