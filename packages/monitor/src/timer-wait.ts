import { IdlePacer, type Machine } from "@amber/machine";
import { cancellableTimer } from "./event-loop.js";

/**
 * A session's waits for its guest's timer (a Linux guest idling at its prompt): the
 * machine's idle gate holds such a `wfi` (`IdlePacer`) while the session drives the
 * machine (`driving`), and the session waits that guest time on the host's clock instead
 * of running tick after tick. Input ends a wait sooner (`cut`); `settle` ends it at once,
 * the machine skipping (or taking input) as it would have unpaced, before anything looks
 * at or keeps the state (a save, a step, a pause, gdb).
 */
export class TimerWait {
  /** The session itself runs the machine now (a slice, or between a save's pages): only then are waits paced. */
  driving = false;
  private pacer: IdlePacer;
  private cancel: (() => void) | undefined;

  constructor(private machine: Machine) {
    this.pacer = this.pace(machine);
  }

  /** The session's machine is now `machine` (a restored world); a wait of the one before is dropped. */
  attach(machine: Machine): void {
    this.cut();
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
    if (!this.machine.timerHeld) return false;
    this.machine.run(0);
    return true;
  }

  private pace(machine: Machine): IdlePacer {
    const pacer = new IdlePacer(machine, () => this.driving);
    machine.idleGate = pacer.gate;
    return pacer;
  }
}
