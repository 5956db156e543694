/**
 * Guest-visible time derived from instructions, never from the host clock, so that
 * the same image and input always observe the same times. One step is one cycle of
 * a hart running at `instructionsPerSecond`.
 */
export class GuestClock {
  constructor(
    private readonly steps: () => number,
    readonly instructionsPerSecond = 100_000_000,
    /** Seconds since the Unix epoch at step 0 (what SYS_TIME reports then). */
    readonly epochSeconds = 0,
  ) {}

  seconds(): number {
    return this.steps() / this.instructionsPerSecond;
  }

  /** Ticks of a `hz` timer since reset, rounded down. */
  ticks(hz: number): number {
    return Math.floor((this.steps() * hz) / this.instructionsPerSecond);
  }
}
