import type { Machine } from "../src/index.js";
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
