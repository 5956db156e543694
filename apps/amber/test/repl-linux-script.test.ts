import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { initCodecs } from "@amber/compress";
import { Machine } from "@amber/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stateDigest } from "../src/commands/record-replay.js";
import { replScript } from "./repl-script.js";
import { runCli } from "./run-cli.js";

const LINUX = "tools/guests/linux/out/";
const BOOT = ["--bios", `${LINUX}firmware.elf`, "--kernel", `${LINUX}Image-mmu`];

let tmp: string;
let image: string;
beforeAll(async () => {
  await Promise.all([initCodecs(), initCheckpoint()]);
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-linux-"));
  image = join(tmp, "linux.amber");
  // Saved past its shell's prompt (about 40 million instructions in): the guest idles on its timer.
  const saved = runCli(["run", ...BOOT, "--save-at", "60000000", "--save-to", image, "--halt-after-save"]);
  expect(saved.status, saved.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("a script piped into the REPL of a Linux world (a guest whose timer never lets it idle)", () => {
  it("runs the shell's command, saves once the guest is quiet, and ends; the same world every run", async () => {
    const runs = [];
    for (const dir of ["a", "b"]) {
      const r = await replScript([image, "--dir", join(tmp, dir)], "uname\n:save w --full\n:quit\n");
      expect(r.status, r.stderr).toBe(0);
      // The line QEMU's run of the same kernel prints (tools/guests/linux/qemu-boot.log).
      expect(r.stdout).toMatch(
        /uname\r?\nLinux 6\.1\.192 #1 Thu Jan {2}1 00:00:00 UTC 2026 riscv32\r?\namber# /,
      );
      const reader = openCheckpoint(join(tmp, dir, "worlds", "w.amber"));
      try {
        runs.push(stateDigest(Machine.fromCheckpoint(reader)));
      } finally {
        reader.close();
      }
    }
    expect(runs[1]).toBe(runs[0]);
  }, 300_000);

  it("ends at the end of its input, once the guest has taken all of it", async () => {
    const r = await replScript([image, "--dir", join(tmp, "eof")], "count 2\necho two\n");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/count 2\r?\n1\r?\n2\r?\namber# echo two\r?\ntwo\r?\namber# $/);
    expect(r.stderr).toMatch(/end of input: unsaved work/);
  }, 300_000);
});
