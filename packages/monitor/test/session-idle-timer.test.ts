import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { Machine } from "@amber/machine";
import { beforeAll, describe, expect, it } from "vitest";
import { ConsoleIo, FilesWorldStore, MemoryWorldFiles, WorldSession } from "../src/index.js";

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const PROMPT = "amber# ";
/** Wall time the guest is left idle at its prompt. */
const IDLE_MS = 1500;

beforeAll(() => initCheckpoint());

async function until(read: () => string, pattern: RegExp, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got:\n${read().slice(-400)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a session running a guest idle until its timer", () => {
  it("waits for the timer in wall time instead of running tick after tick, and input wakes it at once", async () => {
    let output = "";
    const io = new ConsoleIo((data) => {
      output += new TextDecoder().decode(data);
    });
    const machine = new Machine({ io, ramSize: 128 << 20 });
    machine.loadKernel(readFileSync(`${LINUX}Image-mmu`), { firmware: readFileSync(`${LINUX}firmware.elf`) });
    // Booted to the shell outside the session (as fast as the host goes), then handed to it.
    for (let budget = 2_000_000_000; !output.endsWith(PROMPT); budget -= 10_000_000) {
      if (budget <= 0) throw new Error(`no prompt:\n${output}`);
      machine.run(10_000_000);
    }
    const store = new FilesWorldStore(new MemoryWorldFiles(), { name: "amber-test", version: "0" });
    const session = new WorldSession(machine, io, { idle() {}, stopped() {}, exited() {} }, true, store);
    const guestSeconds = () =>
      (machine.hart.steps + machine.idleCycles) / machine.clock.instructionsPerSecond;
    try {
      const from = guestSeconds();
      const wallStart = performance.now();
      const cpuStart = process.cpuUsage();
      session.start();
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const cpu = process.cpuUsage(cpuStart);
      const wall = (performance.now() - wallStart) / 1000;
      const passed = guestSeconds() - from;
      // Guest time went on (its timer fired and was handled), no faster than the wall clock
      // (run tick after tick it went 10–20 guest seconds per wall second); the host idled too
      // (a generous bound, for one loaded core: running ticks took all of one).
      expect(passed).toBeGreaterThan(0);
      expect(passed).toBeLessThan(wall + 0.5);
      expect((cpu.user + cpu.system) / 1e6).toBeLessThan(wall / 2);
      expect(session.state).toBe("running");
      // A line sent ends the wait: the guest takes it and answers.
      session.sendLine("echo woke");
      await until(() => output, /\nwoke\r?\namber# $/, "the shell's answer");

      // Saved while it waits for its timer, the world is one an unpaced run has too: resumed,
      // it runs on exactly as the session's machine does.
      await new Promise((r) => setTimeout(r, 100));
      const saved = session.save("idle");
      await saved.persisted;
      const resumed = Machine.fromCheckpoint(session.baseline!.reader, { io: new ConsoleIo(() => {}) });
      session.pause();
      const at = Math.max(machine.hart.steps, resumed.hart.steps) + 5_000_000;
      machine.run(at - machine.hart.steps);
      resumed.run(at - resumed.hart.steps);
      expect(resumed.captureState()).toEqual(machine.captureState());
    } finally {
      session.close();
    }
  }, 120_000);
});
