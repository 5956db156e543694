import type { MachineOptions } from "./board.js";
import type { HostIo } from "./host-io.js";
import type { RunOutcome } from "./run-loop.js";
import { WARM_UP_WORDS } from "./warm-up-program.js";

/** What the warm-up needs of a machine (the Machine class, passed in to avoid an import cycle). */
export interface WarmUpTarget {
  loadKernel(kernel: Uint8Array): void;
  run(maxSteps?: number): RunOutcome;
}

/** The warm-up program's RAM: its image, tables and stack fit in 32 KiB, the device tree above. */
const WARM_UP_RAM = 1 << 20;
/** Far more steps than the program takes (≈ 70,000): a bound, never reached. */
const WARM_UP_STEPS = 1_000_000;

/** Back-end choices already warmed up in this process ("wasm", "js", "interpreter"). */
const warmed = new Set<string>();

function backendOf(options: Pick<MachineOptions, "jit" | "compiler">): string {
  return options.jit === false ? "interpreter" : (options.compiler ?? "wasm");
}

/** Whether machines with these options' back end have been warmed up in this process. */
export function isWarmedUp(options: Pick<MachineOptions, "jit" | "compiler">): boolean {
  return warmed.has(backendOf(options));
}

const silent: HostIo = {
  stdout: () => {},
  stderr: () => {},
  stdin: () => new Uint8Array(0),
};

/**
 * Runs the warm-up program (tools/guests/warm-up/warm-up.S) once per process and per
 * back end, on a throwaway machine of its own, for a machine with these options that
 * has begun a long run (see run-loop.ts). It takes every path of the interpreter and the hart's slow paths (every
 * instruction, M/S/U mode, Sv32, traps, device accesses, atomics, wfi, compiled regions),
 * so V8 optimises `Hart.run` and its helpers once, with feedback for all of them:
 * otherwise each path a guest meets for the first time throws away optimised code
 * (14–18 recompilations of `Hart.run` per Linux boot, ≈ 100 ms of compiler time each).
 * Nothing of it is visible to any other machine: it shares no state with them.
 */
export function warmUpOnce(
  options: Pick<MachineOptions, "jit" | "compiler">,
  make: (options: MachineOptions) => WarmUpTarget,
): void {
  const backend = backendOf(options);
  if (warmed.has(backend)) return;
  warmed.add(backend);
  const machine = make({
    ramSize: WARM_UP_RAM,
    jit: options.jit,
    compiler: options.compiler,
    io: silent,
    warmUp: false,
  });
  const words = Uint32Array.from(WARM_UP_WORDS);
  machine.loadKernel(new Uint8Array(words.buffer));
  machine.run(WARM_UP_STEPS);
}
