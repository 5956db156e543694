/**
 * Guest-visible time derived from cycles, never from the host clock, so that the
 * same image and input always observe the same times. A cycle is one step of the hart
 * or one cycle spent idle in `wfi`; the hart nominally runs `instructionsPerSecond`.
 */
export class GuestClock {
  constructor(
    private readonly cycles: () => number,
    readonly instructionsPerSecond = 100_000_000,
    /** Seconds since the Unix epoch at cycle 0 (what SYS_TIME reports then). */
    readonly epochSeconds = 0,
  ) {}

  now(): number {
    return this.cycles();
  }

  seconds(): number {
    return this.cycles() / this.instructionsPerSecond;
  }

  /** Ticks of a `hz` timer since reset, rounded down. */
  ticks(hz: number): number {
    return Math.floor((this.cycles() * hz) / this.instructionsPerSecond);
  }

  /** Cycles from now until a `hz` timer has advanced by `delta` ticks (0 if already there). */
  cyclesUntil(hz: number, delta: number): number {
    if (delta <= 0) return 0;
    const target = this.ticks(hz) + delta;
    const at = Math.ceil((target * this.instructionsPerSecond) / hz);
    return Math.max(0, at - this.cycles());
  }
}
