import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CapturedIo, type HostIo, Machine } from "../src/index.js";
import { ScriptedConsole } from "./support/scripted-console.js";

// The block compiler also runs code under Sv32 translation (S- and U-mode with paging
// on). These runs must be indistinguishable from the interpreter's: same steps, output,
// registers, CSRs and RAM, for the paged guests and for Linux with its MMU.

const OUT = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));
const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));

function architecturalState(m: Machine) {
  const h = m.hart;
  const c = h.csr;
  return {
    steps: h.steps,
    instret: h.instret,
    pc: h.pc >>> 0,
    x: [...h.x],
    priv: c.priv,
    csrs: [c.mstatus, c.mepc, c.mcause, c.mtval, c.sepc, c.scause, c.stval, c.satp, c.mip, c.mie],
  };
}

function expectSameRam(a: Machine, b: Machine): void {
  const pages = a.ram.allocatedPageIndexes();
  expect(pages).toEqual(b.ram.allocatedPageIndexes());
  for (const i of pages) {
    const pa = a.ram.page(i)!;
    const pb = b.ram.page(i)!;
    if (Buffer.compare(pa, pb) !== 0) expect.fail(`RAM page ${i} differs`);
  }
}

describe("the board runs paged code the same with and without the block compiler", () => {
  it.each(["bench-paged", "priv-paging", "priv-delegation"])(
    "%s",
    (name) => {
      const run = (jit: boolean) => {
        const io = new CapturedIo();
        const m = new Machine({ io, jit });
        m.loadElf(readFileSync(`${OUT}${name}.elf`), name);
        const outcome = m.run(200_000_000);
        return { outcome, io, m };
      };
      const compiled = run(true);
      const interpreted = run(false);
      expect(compiled.outcome).toEqual(interpreted.outcome);
      expect(compiled.io.stdoutText).toBe(interpreted.io.stdoutText);
      expect(compiled.io.stdoutText).toBe(readFileSync(`${OUT}${name}.stdout`, "latin1"));
      expect(architecturalState(compiled.m)).toEqual(architecturalState(interpreted.m));
      expectSameRam(compiled.m, interpreted.m);
      if (name === "bench-paged") expect(compiled.m.hart.compiledRegions).toBeGreaterThan(0);
    },
    120_000,
  );

  it("Linux with the MMU: the same steps and state at the prompt, and through a shell session to poweroff", () => {
    const SESSION = ["echo hello from amber", "count 3", "ls /proc", "poweroff"];
    const boot = (jit: boolean) => {
      const io = new ScriptedConsole("amber# ", SESSION);
      let m: Machine | undefined;
      let atPrompt: ReturnType<typeof architecturalState> | undefined;
      const watch: HostIo = {
        stdout: (d) => {
          io.stdout(d);
          if (atPrompt === undefined && io.output.includes("amber# ")) m!.hart.requestStop();
        },
        stderr: (d) => io.stderr(d),
        stdin: (max) => io.stdin(max),
      };
      m = new Machine({ io: watch, jit, ramSize: 128 << 20 });
      m.loadKernel(readFileSync(`${LINUX}Image-mmu`), { firmware: readFileSync(`${LINUX}firmware.elf`) });
      while (atPrompt === undefined && m.hart.steps < 2_000_000_000) {
        const outcome = m.run(10_000_000);
        if (io.output.includes("amber# ")) atPrompt = architecturalState(m);
        else expect(outcome.kind).toBe("budget");
      }
      const promptRam = m.ram
        .allocatedPageIndexes()
        .map((i) => Buffer.from(m!.ram.page(i)!).toString("base64"));
      const outcome = m.run(2_000_000_000);
      return { m, io, atPrompt, promptRam, outcome };
    };
    const compiled = boot(true);
    const interpreted = boot(false);
    expect(compiled.atPrompt).toBeDefined();
    expect(compiled.atPrompt).toEqual(interpreted.atPrompt);
    expect(compiled.promptRam.length).toBe(interpreted.promptRam.length);
    expect(compiled.promptRam.every((p, i) => p === interpreted.promptRam[i])).toBe(true);
    expect(compiled.outcome).toEqual({ kind: "exited", code: 0 });
    expect(compiled.outcome).toEqual(interpreted.outcome);
    expect(compiled.io.output).toBe(interpreted.io.output);
    expect(compiled.io.output).toMatch(/amber# count 3\r?\n1\r?\n2\r?\n3/);
    expect(architecturalState(compiled.m)).toEqual(architecturalState(interpreted.m));
    expectSameRam(compiled.m, interpreted.m);
  }, 600_000);
});
