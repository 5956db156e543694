import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import { ScriptedConsole } from "./support/scripted-console.js";

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/", import.meta.url));

/** The count on /proc/interrupts' ttyS0 line (PLIC source 10) in a console log. */
function uartInterrupts(log: string): number {
  const line = /^\s*\d+:\s+(\d+)\s+SiFive PLIC\s+10\b.*ttyS0/m.exec(log);
  if (line === null) throw new Error(`no ttyS0 line in:\n${log}`);
  return Number(line[1]);
}

describe("Linux's UART interrupts", () => {
  // Linux's 8250 driver reads IIR (lowering the THR-empty line) before the PLIC claim
  // completes, and writes THR inside its handler (reporting the line again while the
  // source is claimed): how many interrupts it sees depends on the PLIC latching each
  // report until a claim, as QEMU's does. By the first prompt QEMU shows a number that
  // does not depend on host timing (the same in every run); qemu-interrupts-nommu.log
  // is that session recorded with tools/guests/linux/qemu-session.sh.
  it("are as many by the first prompt as on QEMU (nommu kernel)", () => {
    const qemu = uartInterrupts(readFileSync(`${LINUX}qemu-interrupts-nommu.log`, "latin1"));
    const io = new ScriptedConsole("amber# ", ["cat /proc/interrupts", "poweroff"]);
    const m = new Machine({ io, ramSize: 128 << 20 });
    m.loadKernel(readFileSync(`${LINUX}out/Image-nommu`));
    expect(m.run(2_000_000_000)).toEqual({ kind: "exited", code: 0 });
    expect(uartInterrupts(io.output)).toBe(qemu);
  }, 240_000);
});
