import { IdlePacer, type Machine } from "@amber/machine";
import { cancellableTimer } from "./event-loop.js";
import type { QuietWatch } from "./quiet-watch.js";

/**
 * A session's waits for its guest's timer (a Linux guest idling at its prompt): the
 * machine's idle gate holds such a `wfi` (`IdlePacer`) while the session drives the
 * machine (`driving`), and the session waits that guest time on the host's clock instead
 * of running tick after tick. Input ends a wait sooner (`cut`); `settle` ends it at once,
 * the machine skipping (or taking input) as it would have unpaced, before anything looks
 * at or keeps the state (a save, a step, a pause, gdb).
 *
 * With a `QuietWatch` (a scripted session: no one watches the wall clock) waits are not
 * paced; the gate holds the guest instead at the `wfi` where it turned quiet (`quietHeld`).
 */
export class TimerWait {
  /** The session itself runs the machine now (a slice, or between a save's pages): only then are waits paced. */
  driving = false;
  private pacer: IdlePacer;
  private cancel: (() => void) | undefined;
  /** The held `wfi` is where the guest turned quiet (see `QuietWatch`), not a paced wait. */
  quietHeld = false;

  constructor(
    private machine: Machine,
    /** Set: a scripted session, whose guest is held where it turns quiet and never paced. */
    private readonly quiet?: QuietWatch,
  ) {
    this.pacer = this.pace(machine);
  }

  /** The session's machine is now `machine` (a restored world); a wait of the one before is dropped. */
  attach(machine: Machine): void {
    this.cut();
    this.quiet?.reset();
    this.quietHeld = false;
    this.machine = machine;
    this.pacer = this.pace(machine);
  }

  /** The machine reported a held `wfi`: `wake` once its timer is due (or `cut` comes first). */
  hold(wake: () => void): void {
    this.cut();
    this.cancel = cancellableTimer(() => {
      this.cancel = undefined;
      wake();
    }, this.pacer.msLeft());
  }

  /** Ends a wait without running anything (input came: the next run takes it); true if there was one. */
  cut(): boolean {
    const was = this.cancel !== undefined;
    this.cancel?.();
    this.cancel = undefined;
    return was;
  }

  /** Ends a wait and settles the held `wfi` now (see the class comment); true if one was held. */
  settle(): boolean {
    this.cut();
    this.quietHeld = false;
    if (!this.machine.timerHeld) return false;
    this.machine.run(0);
    return true;
  }

  private pace(machine: Machine): IdlePacer {
    const quiet = this.quiet;
    if (quiet === undefined) {
      const pacer = new IdlePacer(machine, () => this.driving);
      machine.idleGate = pacer.gate;
      return pacer;
    }
    machine.idleGate = (cycles) => {
      if (!this.driving || !quiet.quietAt(machine, cycles)) return true;
      this.quietHeld = true;
      return false;
    };
    return new IdlePacer(machine, () => false);
  }
}
