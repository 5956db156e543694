import { causeName, disassemble, StopReason } from "@amber/isa";
import type { MachineOptions } from "./board.js";
import { LoadingBoard } from "./board-loading.js";
import type { RamPrefetch } from "./ram-prefetch.js";
import { type WarmUpTarget, warmUpOnce } from "./warm-up.js";

/** Why `Machine.run` returned. */
export type RunOutcome =
  | { kind: "exited"; code: number }
  | { kind: "budget" }
  | { kind: "unhandled-trap"; trap: TrapReport }
  /** `wfi` with no interrupt that could ever arrive: enabled sources all idle, no input. */
  | { kind: "stuck"; pc: number };

/** An exception no guest handler could take, described for a one-line error. */
export interface TrapReport {
  cause: number;
  causeName: string;
  pc: number;
  tval: number;
  /** The instruction bits at pc (NaN when not readable) and their disassembly. */
  bits: number;
  disassembly: string;
}

/** Steps per call into the hart: small enough to flush console output promptly. */
const SLICE = 1 << 22;
/** Steps between looks at the timer when guest time follows the host's clock. */
const HOST_TIME_SLICE = 1 << 16;
/**
 * Host input is offered to the UART (see `Uart16550.offerInput`) every this many steps,
 * at exact multiples, so that a guest busy elsewhere still gets its receive interrupt and
 * the offers fall on the same instructions however a run is split into calls.
 */
const INPUT_OFFER_STEPS = 1 << 20;
const untilInputOffer = (steps: number): number => INPUT_OFFER_STEPS - (steps % INPUT_OFFER_STEPS);
/**
 * A machine warms up (`MachineOptions.warmUp`) at the end of the first window of this many
 * steps in which the interpreter took at least `WARM_UP_INTERPRETED` of the steps, early in
 * a Linux boot (30 M steps; its second window), before V8 has optimised much with partial
 * feedback (warming up at 1 M left 5–9 recompilations of `Hart.run` in the boot, at the
 * start 2–4). Short programs (most test guests, a resume for a few steps: the warm-up would
 * cost them ≈ 100 ms of CPU, more than they do) never pay for it, nor do guests that run in
 * compiled code (bench.elf: 92 % of its first window, 97–99 % after; the warm-up cost it
 * 7 % of its CPU time and bench-paged 25 %), and none does after `WARM_UP_WATCH` steps.
 */
const WARM_UP_AFTER = 100_000;
const WARM_UP_INTERPRETED = 0.25;
const WARM_UP_WATCH = 5_000_000;

/** The loaded board plus the run loop: runs until the guest exits, a budget is spent or a trap has no handler. */
export class RunningBoard extends LoadingBoard {
  /** A lazily restored machine's RAM still being loaded between slices (see RamPrefetch). */
  protected prefetch: RamPrefetch | undefined;

  /**
   * Runs until the guest exits, `maxSteps` more steps are taken, or a trap has no
   * handler. Deterministic: the outcome depends only on the state and the input.
   */
  run(maxSteps = Number.POSITIVE_INFINITY): RunOutcome {
    const hart = this.hart;
    const stopAt = hart.steps + maxSteps;
    if (this.warmUpAt < 0) {
      this.warmUpAt = hart.steps + WARM_UP_AFTER;
      this.warmUpWindow = {
        steps: hart.steps,
        compiled: hart.compiledSteps,
        until: hart.steps + WARM_UP_WATCH,
      };
    }
    // A `wfi` whose skip to the timer the idle gate deferred is settled first, as if never held.
    if (this.timerHeld) this.idle(true);
    try {
      while (this.exitCode === undefined) {
        const remaining = stopAt - hart.steps;
        if (remaining <= 0) return { kind: "budget" };
        if (hart.steps >= this.warmUpAt) this.maybeWarmUp();
        this.syncClint();
        // Deterministic time: stop exactly where the timer fires. Host time cannot be
        // predicted in steps, so look at the timer often instead.
        const untilTimer =
          this.hostTime === undefined ? Math.max(1, this.cyclesUntilTimer()) : HOST_TIME_SLICE;
        // (A slice also ends where the warm-up is due: slicing never changes what the guest does.)
        const slice = Math.min(
          remaining,
          SLICE,
          untilTimer,
          untilInputOffer(hart.steps),
          this.warmUpAt - hart.steps,
        );
        const before = hart.steps;
        const reason = hart.run(slice);
        if (this.prefetch?.afterSteps(hart.steps - before) === true) this.prefetch = undefined;
        if (hart.steps % INPUT_OFFER_STEPS === 0) this.uart.offerInput();
        switch (reason) {
          case StopReason.Semihosting: {
            this.flushConsole();
            const x = hart.x;
            x[10] = this.semihosting.call(x[10]! >>> 0, x[11]! >>> 0);
            break;
          }
          case StopReason.UnhandledTrap:
            return { kind: "unhandled-trap", trap: this.trapReport() };
          case StopReason.WaitForInterrupt:
            // What the guest wrote before it waits (a prompt, a request to the host) goes
            // out before the host is asked for input, so the host can answer it.
            this.flushConsole();
            if (!this.idle()) return { kind: "stuck", pc: hart.pc };
            break;
          default:
            break;
        }
        if (this.resetPending) this.reset();
        this.flushConsole();
      }
      return { kind: "exited", code: this.exitCode };
    } finally {
      this.flushConsole();
    }
  }

  /** At the end of a window: warm up if the interpreter ran enough of it, else look at the next. */
  private maybeWarmUp(): void {
    const hart = this.hart;
    const window = this.warmUpWindow;
    const steps = hart.steps - window.steps;
    const interpreted = steps - (hart.compiledSteps - window.compiled);
    if (interpreted >= steps * WARM_UP_INTERPRETED) {
      this.warmUp();
      return;
    }
    if (hart.steps >= window.until) {
      this.warmUpAt = Number.POSITIVE_INFINITY;
      this.warmUpPending = undefined;
      return;
    }
    window.steps = hart.steps;
    window.compiled = hart.compiledSteps;
    this.warmUpAt = hart.steps + WARM_UP_AFTER;
  }

  /** Runs the warm-up program on a throwaway machine of this class (see `warmUpOnce`), once. */
  private warmUp(): void {
    this.warmUpAt = Number.POSITIVE_INFINITY;
    const backend = this.warmUpPending;
    this.warmUpPending = undefined;
    if (backend === undefined) return;
    // Of this very class: the warm-up must show V8 the classes the guest's run will use.
    const Board = this.constructor as new (options: MachineOptions) => WarmUpTarget;
    warmUpOnce(backend, (options) => new Board(options));
  }

  /**
   * For a machine restored lazily from an image: loads up to `pages` more of the pages the
   * image holds and the guest has not touched yet (the run loads them a few at a time between
   * its slices; a host may load them when it is idle). True when the prefetch is over: RAM no
   * longer reads from the image (`ram.loadsDirect`), or a damaged page was met, which is then
   * reported where the guest or a save first reads it (see RamPrefetch). Changes nothing the
   * guest can see.
   */
  prefetchRam(pages = Number.POSITIVE_INFINITY): boolean {
    if (this.prefetch === undefined) return true;
    if (!this.prefetch.load(pages)) return false;
    this.prefetch = undefined;
    return true;
  }

  /**
   * Whether a guest reported "stuck" (idle in `wfi`, only input could wake it) may go on:
   * input has come since (it is taken into the UART now, at this step) or some enabled
   * interrupt is pending. Runs nothing, so a host can ask again and again while it waits
   * (the gdb server between polls of its socket) without the guest's steps moving.
   */
  canLeaveWait(): boolean {
    return this.idle();
  }

  protected trapReport(): TrapReport {
    const csr = this.hart.csr;
    const pc = csr.mepc;
    const bits = this.instructionAt(pc);
    return {
      cause: csr.mcause,
      causeName: causeName(csr.mcause),
      pc,
      tval: csr.mtval,
      bits,
      disassembly: Number.isNaN(bits) ? "(not readable)" : disassemble(bits, pc),
    };
  }
}
