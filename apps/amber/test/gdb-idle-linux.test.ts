import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { initCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, test } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { main } from "../src/cli.js";
import { gdbBatch, TypedIo, until } from "./gdb-session.js";
import { runCli, testEnv } from "./run-cli.js";

const LINUX = "tools/guests/linux/out/";
const BOOT = ["run", "--bios", `${LINUX}firmware.elf`, "--kernel", `${LINUX}Image-mmu`];
const PROMPT = "amber# ";
/** The guest's `time` CSR counts at 10 MHz (the board's timebase, as QEMU's virt). */
const TIME_HZ = 10_000_000;
/** Wall time the guest is left idle at its prompt under gdb's continue. */
const IDLE_MS = 2000;

beforeAll(() => initCheckpoint());

/** The numbers gdb printed (`$N = value`) after the `echo ==name==` marker, in order. */
function values(out: string, name: string): number[] {
  const at = out.indexOf(`==${name}==`);
  if (at < 0) throw new Error(`no ==${name}== in gdb's output:\n${out}`);
  const next = out.indexOf("==", at + name.length + 4);
  const text = out.slice(at, next < 0 ? undefined : next);
  return [...text.matchAll(/^\$\d+ = (\S+)$/gm)].map((m) => Number(m[1]));
}

describe.skipIf(!hostTool("gdb-multiarch"))("a Linux guest idling under gdb's continue", () => {
  test("waits for its timer in wall time instead of spinning through guest time, boots to the same bytes as amber run, and wakes on input at a breakpoint", async () => {
    const map = readFileSync(`${LINUX}System.map-mmu`, "utf8");
    const rxChars = /^([0-9a-f]{8}) [tT] serial8250_rx_chars$/m.exec(map)?.[1];
    expect(rxChars).toBeDefined();
    const io = new TypedIo();
    let announce: (port: number) => void = () => {};
    const listening = new Promise<number>((resolve) => {
      announce = resolve;
    });
    const env = testEnv(io, (text) => {
      const m = /gdb server listening on [^:]+:(\d+)/.exec(text);
      if (m !== null) announce(Number(m[1]));
    });
    const status = Promise.resolve(main([...BOOT, "--gdb", "127.0.0.1:0", "--wait"], env, () => {}));
    let child: ChildProcess | undefined;
    let gdbOut = () => "";
    const closed = gdbBatch(
      await listening,
      [
        "continue",
        "echo ==booted==\\n",
        "p/u $time",
        "continue",
        "echo ==idled==\\n",
        "p/u $time",
        // Only input wakes the shell: the UART's receive interrupt reaches the 8250 driver.
        `break *0x${rxChars}`,
        "continue",
        "echo ==woke==\\n",
        "p/x $pc",
        "delete",
        "continue",
        "echo ==end==\\n",
        "kill",
      ],
      {
        started: (gdb, output) => {
          child = gdb;
          gdbOut = output;
        },
      },
    );
    const interrupt = async (marker: string) => {
      child?.kill("SIGINT");
      await until(gdbOut, new RegExp(`==${marker}==[\\s\\S]*\\$\\d+ = \\d+\\n`), marker);
    };
    await until(() => io.out, /amber# $/, "the shell's prompt");
    await interrupt("booted");
    // gdb continues at once: the guest idles at its prompt, its timer ticking.
    const wallStart = performance.now();
    const cpuStart = process.cpuUsage();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const cpu = process.cpuUsage(cpuStart);
    await interrupt("idled");
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const [booted] = values(gdbOut(), "booted");
    const [idled] = values(gdbOut(), "idled");
    const guestSeconds = (idled! - booted!) / TIME_HZ;
    // Guest time went on (its timer fired and was handled), but no faster than the wall
    // clock: spinning, it ran 10–20 guest seconds per wall second on this machine's cores.
    expect(guestSeconds).toBeGreaterThan(0);
    expect(guestSeconds).toBeLessThan(wallSeconds + 0.5);
    // And the process idled too (a generous bound, for one loaded core: spinning took all of one).
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(wallSeconds / 2);

    // Typed while gdb continues: the guest wakes from its wfi and takes the UART's interrupt.
    await until(gdbOut, /==idled==[\s\S]*Breakpoint 1 at/, "the breakpoint");
    io.type("echo woke\n");
    await until(gdbOut, /==woke==\n\$\d+ = 0x[0-9a-f]+\n/, "the breakpoint hit");
    expect(values(gdbOut(), "woke")).toEqual([Number.parseInt(rxChars!, 16)]);
    await until(() => io.out, /\nwoke\r?\namber# $/, "the shell's answer");
    child?.kill("SIGINT");
    const gdbText = await closed;
    expect(gdbText).toMatch(/==end==/);
    expect(await status).toBe(0);

    // Waiting in wall time changed nothing the guest saw: the boot, its printk timestamps
    // (guest time, idle included) and all, is the bytes `amber run` prints without gdb.
    const straight = runCli([...BOOT, "--max-insns", "45000000"]);
    const boot = (text: string) => text.slice(0, text.indexOf(PROMPT) + PROMPT.length);
    expect(straight.stdout).toContain(PROMPT);
    expect(boot(io.out)).toBe(boot(straight.stdout));
  }, 240_000);
});
