/**
 * Why `Hart.run` returned before or at the end of its budget. A plain object rather
 * than a const enum, so that packages built against @amber/isa's declarations can use it.
 */
export const StopReason = {
  /** The instruction budget is used up. */
  Budget: 0,
  /** A semihosting call (`slli x0,x0,0x1f; ebreak; srai x0,x0,7`) waits to be serviced; pc is past the ebreak. */
  Semihosting: 1,
  /** `wfi` retired: the hart has nothing to do until an interrupt is pending. */
  WaitForInterrupt: 2,
  /** A device asked the hart to stop (e.g. the power-off device was written). */
  Requested: 3,
  /**
   * A trap was taken but its handler cannot run: fetching or decoding the first
   * instruction at the trap vector fails. mcause/mepc/mtval describe the trap; pc is
   * left at the vector.
   */
  UnhandledTrap: 4,
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];
