import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import { ScriptedConsole } from "./support/scripted-console.js";

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const read = (name: string) => readFileSync(`${LINUX}${name}`);
const SESSION = ["echo hello from amber", "count 3", "ls /proc", "cat /proc/cpuinfo", "poweroff"];

function expectSession(output: string): void {
  expect(output).toContain("Run /init as init process");
  expect(output).toMatch(/amber# echo hello from amber\r?\nhello from amber/);
  expect(output).toMatch(/amber# count 3\r?\n1\r?\n2\r?\n3/);
  expect(output).toMatch(/amber# ls \/proc[\s\S]*cpuinfo[\s\S]*meminfo/);
  expect(output).toMatch(/isa\s*: rv32imac/);
}

describe("Linux on the virt board", () => {
  it("boots the MMU kernel in S-mode under the project's SBI firmware, runs shell commands and powers off", () => {
    const io = new ScriptedConsole("amber# ", SESSION);
    const m = new Machine({ io, ramSize: 128 << 20 });
    m.loadKernel(read("Image-mmu"), { firmware: read("firmware.elf") });
    const outcome = m.run(2_000_000_000);
    expectSession(io.output);
    expect(io.output).toMatch(/mmu\s*: sv32/);
    expect(outcome).toEqual({ kind: "exited", code: 0 });
  }, 240_000);

  it("boots the nommu kernel in M-mode with no firmware, as QEMU's -bios none", () => {
    const io = new ScriptedConsole("amber# ", SESSION);
    const m = new Machine({ io, ramSize: 128 << 20 });
    m.loadKernel(read("Image-nommu"));
    const outcome = m.run(2_000_000_000);
    expectSession(io.output);
    expect(outcome).toEqual({ kind: "exited", code: 0 });
  }, 240_000);
});
