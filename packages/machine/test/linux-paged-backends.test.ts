import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CapturedIo, Machine } from "../src/index.js";
import { ramDigest } from "./ram-digest.js";

// Both back ends of the block compiler run the Linux kernel's paged code (Sv32 on, S- and
// U-mode): WebAssembly regions reading the MMU's TLBs from the flat memory, and JS ones.
// Each must leave the machine exactly where the interpreter leaves it after the same
// number of steps: registers, CSRs, console output and every RAM page (page tables with
// their A/D bits included). The step count is a stretch of the boot well past turning the
// MMU on, short enough for the interpreter to get there in well under a minute.

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const STEPS = 12_000_000;
/** Slices as the CLI's run loop takes them, so that regions stop at many budgets. */
const SLICE = 1_000_003;

function bootFor(steps: number, options: { jit: boolean; compiler?: "wasm" | "js" }) {
  const io = new CapturedIo();
  const m = new Machine({ io, ramSize: 128 << 20, ...options });
  m.loadKernel(readFileSync(`${LINUX}Image-mmu`), { firmware: readFileSync(`${LINUX}firmware.elf`) });
  while (m.hart.steps < steps) {
    const outcome = m.run(Math.min(SLICE, steps - m.hart.steps));
    expect(outcome.kind).toBe("budget");
  }
  const h = m.hart;
  const c = h.csr;
  return {
    m,
    state: {
      steps: h.steps,
      instret: h.instret,
      pc: h.pc >>> 0,
      x: [...h.x],
      priv: c.priv,
      csrs: [c.mstatus, c.mepc, c.mcause, c.mtval, c.sepc, c.scause, c.stval, c.satp, c.mip, c.mie],
      output: io.stdoutText,
      ram: ramDigest(m),
    },
  };
}

describe("Linux with the MMU: compiled paged code is the interpreter's, step for step", () => {
  it("the wasm and JS back ends reach the interpreter's state after 12 M steps of the boot", () => {
    const interpreted = bootFor(STEPS, { jit: false });
    // The stretch is paged: satp is on and the kernel runs in S-mode.
    expect(interpreted.state.csrs[7]! >>> 31).toBe(1);
    for (const compiler of ["wasm", "js"] as const) {
      const compiled = bootFor(STEPS, { jit: true, compiler });
      expect(compiled.m.hart.translatedBackend, compiler).toBe(compiler);
      // The JS back end's threshold under translation (50,000) compiles its first kernel
      // regions later in the boot; the wasm back end's (2,000) has some by now (the count
      // restarts at each fence.i the kernel executes).
      if (compiler === "wasm") expect(compiled.m.hart.compiledRegions).toBeGreaterThan(0);
      expect(compiled.state, compiler).toEqual(interpreted.state);
    }
  }, 180_000);
});
