import { disassemble } from "@amber/isa";
import {
  DebugMemory,
  diffStates,
  type HostIo,
  InputLog,
  type Machine,
  type StateDiff,
  statesEqual,
  TimeLine,
} from "@amber/machine";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { hex8 } from "../hex.js";
import { UserError } from "../user-error.js";
import { openReplayLog, replayMachine } from "./record-replay.js";

export interface BisectOptions {
  json?: boolean;
}

/** One of the two runs: its machine on a time line, inputs from its log, output dropped. */
interface Run {
  machine: Machine;
  timeline: TimeLine;
  end: number;
  close: () => void;
}

const SILENT: HostIo = { stdout: () => {}, stderr: () => {}, stdin: () => new Uint8Array(0) };

function openRun(env: CliEnv, file: string): Run & { start: string } {
  const log = openReplayLog(env, file);
  const input = new InputLog(SILENT, log.events.slice());
  const { machine, close } = replayMachine(env, log, input);
  // Snapshots every 2^20 steps: each probe re-executes at most that much.
  const timeline = new TimeLine(machine, input, { interval: 1 << 20 });
  return {
    machine,
    timeline,
    end: log.end.instructions,
    close: () => {
      timeline.dispose();
      close();
    },
    start: JSON.stringify({ ...log.start, files: log.start.files.map((f) => f.sha256) }),
  };
}

/** Puts the run at step `n` (at most its end) and returns where it is. */
function at(run: Run, n: number): number {
  const target = Math.min(n, run.end);
  run.timeline.seek(target);
  return run.machine.hart.steps;
}

/**
 * `amber bisect A B`: two runs recorded from the same start (`amber run --record`, the same
 * files and options) whose inputs differ; finds the first instruction after which their
 * states differ by binary search over the steps (each probe seeks both machines there with
 * in-memory snapshots and deterministic re-execution), and reports it: the step, the pc and
 * disassembly of the instruction that made the difference, the registers, CSRs, devices and
 * RAM pages that differ just after it.
 */
export function bisectCommand(env: CliEnv, fileA: string, fileB: string, options: BisectOptions): number {
  const a = openRun(env, fileA);
  try {
    const b = openRun(env, fileB);
    try {
      if (a.start !== b.start) {
        throw new UserError(
          `${fileA} and ${fileB} were not recorded from the same start (program, files, options): nothing to bisect`,
          ExitCode.Failure,
        );
      }
      const same = (n: number): boolean => {
        const ra = at(a, n);
        const rb = at(b, n);
        return ra === rb && statesEqual(diffStates(a.machine, b.machine));
      };
      let lo = 0;
      let hi = Math.min(a.end, b.end);
      if (same(hi)) {
        const verdict = { differ: false, instructions: hi };
        if (options.json) env.io.stdout(new TextEncoder().encode(`${JSON.stringify(verdict)}\n`));
        else
          env.stderr(
            `amber: the two runs are in the same state up to instruction ${hi}, where the shorter ends\n`,
          );
        return ExitCode.Ok;
      }
      if (!same(lo)) throw new UserError(`${fileA} and ${fileB} differ from the start`, ExitCode.Failure);
      // Invariant: equal at lo, different at hi.
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (same(mid)) lo = mid;
        else hi = mid;
      }
      // The instruction that made the difference runs from lo to hi.
      at(a, lo);
      const memory = new DebugMemory(a.machine);
      const pc = a.machine.hart.pc >>> 0;
      const priv = a.machine.hart.csr.priv;
      const bits = memory.instructionAt(pc);
      const text = Number.isNaN(bits) ? "(not readable)" : disassemble(bits, pc).replace("\t", " ");
      at(a, hi);
      at(b, hi);
      const diff = diffStates(a.machine, b.machine);
      report(env, options, { instruction: hi, pc, priv, bits, disassembly: text, diff });
      return ExitCode.Ok;
    } finally {
      b.close();
    }
  } finally {
    a.close();
  }
}

function report(
  env: CliEnv,
  options: BisectOptions,
  r: { instruction: number; pc: number; priv: number; bits: number; disassembly: string; diff: StateDiff },
): void {
  if (options.json) {
    env.io.stdout(new TextEncoder().encode(`${JSON.stringify({ differ: true, ...r })}\n`));
    return;
  }
  const lines = [
    `first difference after instruction ${r.instruction}: the states are equal after ${r.instruction - 1} instructions`,
    `instruction ${r.instruction - 1} (counting from 0): pc ${hex8(r.pc)} (${["U", "S", "?", "M"][r.priv]}-mode): ${Number.isNaN(r.bits) ? "--------" : hex8(r.bits)} ${r.disassembly}`,
  ];
  for (const d of [...r.diff.registers, ...r.diff.csrs]) {
    lines.push(
      `  ${d.name.padEnd(9)} A ${Number.isNaN(d.a) ? "?" : hex8(d.a)}  B ${Number.isNaN(d.b) ? "?" : hex8(d.b)}`,
    );
  }
  if (r.diff.parts.length > 0) lines.push(`  state of: ${r.diff.parts.join(", ")}`);
  if (r.diff.pages.length > 0) {
    const shown = r.diff.pages.slice(0, 16).map((p) => hex8(p));
    lines.push(
      `  RAM pages: ${shown.join(" ")}${r.diff.pages.length > 16 ? ` and ${r.diff.pages.length - 16} more` : ""}`,
    );
  }
  env.io.stdout(new TextEncoder().encode(`${lines.join("\n")}\n`));
}
