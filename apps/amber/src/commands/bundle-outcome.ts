import type { RunOutcome } from "@amber/machine";
import { ExitCode } from "../exit-codes.js";
import { hex8 } from "../hex.js";

/**
 * A bundled world's end as an exit status and, when the guest did not power off itself,
 * one line saying why (the wording of `amber run`'s messages; no Node API here).
 */
export function describeOutcome(
  outcome: Exclude<RunOutcome, { kind: "budget" }>,
  steps: number,
): { code: number; message?: string } {
  switch (outcome.kind) {
    case "exited":
      return { code: outcome.code & 0xff };
    case "unhandled-trap": {
      const t = outcome.trap;
      const bits = Number.isNaN(t.bits) ? "unreadable" : hex8(t.bits);
      return {
        code: ExitCode.GuestCrashed,
        message: `guest stopped: unhandled ${t.causeName} (mcause ${t.cause}) at pc ${hex8(t.pc)}: ${bits} ${t.disassembly.replace("\t", " ")} (mtval ${hex8(t.tval)}) after ${steps} instructions`,
      };
    }
    case "stuck":
      return {
        code: ExitCode.GuestCrashed,
        message: `guest stopped: wfi at pc ${hex8(outcome.pc)} waits for input after the end of input`,
      };
  }
}
