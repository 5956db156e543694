import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { Machine } from "@amber/machine";
import { beforeAll, describe, expect, it } from "vitest";
import { ConsoleIo, FilesWorldStore, MemoryWorldFiles, MonitorError, WorldSession } from "../src/index.js";
import { stringMonitor } from "./string-monitor.js";

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const PROMPT = "amber# ";

beforeAll(() => initCheckpoint());

/** A machine's monitor talking into a string, over a session that is not started (the test runs the guest). */
function monitorOf(machine: Machine, io: ConsoleIo) {
  const store = new FilesWorldStore(new MemoryWorldFiles(), { name: "amber-test", version: "0" });
  return stringMonitor(new WorldSession(machine, io, { idle() {}, stopped() {}, exited() {} }, true, store));
}

describe(":balloon", () => {
  it("shows the balloon and sets its target: Linux's virtio-balloon driver inflates to it and deflates at 0", async () => {
    let output = "";
    const io = new ConsoleIo((data) => {
      output += new TextDecoder().decode(data);
    });
    const machine = new Machine({ io, ramSize: 128 << 20, balloon: true });
    machine.loadKernel(readFileSync(`${LINUX}Image-mmu`), { firmware: readFileSync(`${LINUX}firmware.elf`) });
    const monitor = monitorOf(machine, io);
    const prompts = () => output.split(PROMPT).length - 1;
    /** Types `line` and runs the guest until the shell's next prompt. */
    const shell = (line?: string): string => {
      const before = prompts();
      const from = output.length;
      if (line !== undefined) io.push(`${line}\n`);
      for (let budget = 2_000_000_000; prompts() <= before; budget -= 10_000_000) {
        if (budget <= 0) throw new Error(`no prompt after ${line}:\n${output.slice(from)}`);
        const outcome = machine.run(10_000_000);
        if (outcome.kind !== "budget") throw new Error(`the guest stopped: ${JSON.stringify(outcome)}`);
      }
      return output.slice(from);
    };
    const memTotal = (text: string) => Number(/MemTotal:\s+(\d+) kB/.exec(text)?.[1]);

    shell();
    const full = memTotal(shell("cat /proc/meminfo"));
    expect(full).toBeGreaterThan(100_000);
    expect(await monitor(":balloon")).toMatch(
      /^target +0 bytes \(0 pages\)\nin the balloon 0 bytes \(0 pages\) .*\ndriver +running, free page reporting on\n/,
    );

    // 4 MiB back from the guest: its driver inflates with 1024 pages, which Linux takes
    // out of its memory (as on QEMU: the driver does not deflate on OOM).
    expect(await monitor(":balloon 4M")).toBe(
      "balloon target 4 MiB (1,024 pages): the guest's driver inflates to it (:balloon shows how far)\n",
    );
    shell("sleep 1");
    expect(memTotal(shell("cat /proc/meminfo"))).toBe(full - 4096);
    const inflated = await monitor(":balloon");
    expect(inflated).toMatch(/^target +4 MiB \(1,024 pages\)\nin the balloon 4 MiB \(1,024 pages\)/);
    expect(machine.balloon!.balloonPages).toBe(1024);

    // Back to 0: the driver deflates, the guest has all its memory again.
    await monitor(":balloon 0");
    shell("sleep 1");
    expect(memTotal(shell("cat /proc/meminfo"))).toBe(full);
    expect(await monitor(":balloon")).toMatch(
      /^target +0 bytes \(0 pages\)\nin the balloon 0 bytes \(0 pages\)/,
    );

    // Sizes that are not whole pages of this RAM are refused in one line.
    for (const bad of ["5000", "1G", "lots"]) {
      await expect(monitor(`:balloon ${bad}`)).rejects.toThrow(
        /^:balloon: cannot read ".+" as a size in whole 4 KiB pages, at most the RAM \(128 MiB\)/,
      );
    }
  }, 600_000);

  it("says so on a machine without a balloon", async () => {
    const io = new ConsoleIo(() => {});
    const monitor = monitorOf(new Machine({ io, ramSize: 1 << 20 }), io);
    await expect(monitor(":balloon")).rejects.toThrow(MonitorError);
    await expect(monitor(":balloon 4M")).rejects.toThrow(
      /this machine has no memory balloon \(amber run --balloon/,
    );
  });
});
