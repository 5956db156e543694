import type { Machine, RunOutcome } from "../src/index.js";
import { ramDigest } from "./ram-digest.js";

/** What a run leaves that must be the same whether it was saved and restored or not. */
export interface EndState {
  stdout: string;
  outcome: unknown;
  steps: number;
  pc: number;
  x: number[];
  ram: string;
}

export function endState(m: Machine, stdout: string, outcome: unknown): EndState {
  return { stdout, outcome, steps: m.hart.steps, pc: m.hart.pc, x: [...m.hart.x], ram: ramDigest(m) };
}

/** Runs `m` on to its end unless `outcome` already is one; its output, outcome and steps. */
export function finish(
  m: Machine,
  io: { stdoutText: string },
  outcome: RunOutcome,
): { stdout: string; outcome: RunOutcome; steps: number } {
  const last = outcome.kind === "budget" ? m.run() : outcome;
  return { stdout: io.stdoutText, outcome: last, steps: m.hart.steps };
}
