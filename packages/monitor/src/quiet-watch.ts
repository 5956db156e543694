import type { Machine } from "@amber/machine";
import type { ConsoleIo } from "./console-io.js";

/** Guest time without console traffic after which a guest idling on its timer counts as quiet. */
export const QUIET_GUEST_SECONDS = 0.5;

/**
 * When a guest that never waits for input alone (a Linux guest: its timer keeps ticking)
 * has finished with what it was sent: at a `wfi` it would leave only for its timer, it
 * has read all its input and written nothing for `QUIET_GUEST_SECONDS` of guest time
 * (counting the sleep ahead). Measured at those `wfi`s only, in guest instructions, so
 * the instant is the same on any host, however loaded (a scripted session's input and
 * monitor commands wait for it; see `WorldSession.scripted`).
 */
export class QuietWatch {
  /** The guest instant (steps + idle cycles) of the last console traffic seen, -1 before any look. */
  private lastActivity = -1;
  private seenWritten = -1;
  private seenPending = -1;

  constructor(private readonly io: ConsoleIo) {}

  /** Forget what was seen (a new world): the quiet stretch counts from the next look. */
  reset(): void {
    this.lastActivity = -1;
    this.seenWritten = -1;
    this.seenPending = -1;
  }

  /** At a `wfi` whose timer is `cycles` away: whether the guest is quiet there. */
  quietAt(machine: Machine, cycles: number): boolean {
    const at = machine.hart.steps + machine.idleCycles;
    const pending = this.io.pending;
    if (this.lastActivity < 0 || this.io.written !== this.seenWritten || pending !== this.seenPending) {
      this.lastActivity = at;
      this.seenWritten = this.io.written;
      this.seenPending = pending;
    }
    return (
      pending === 0 &&
      at + cycles - this.lastActivity >= QUIET_GUEST_SECONDS * machine.clock.instructionsPerSecond
    );
  }
}
