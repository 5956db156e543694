import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint, writeCheckpointFile } from "@amber/checkpoint/node";
import { Machine } from "@amber/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { runCli, runCliAsync } from "./run-cli.js";

const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;
let dir: string;

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-save-seams-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--save-to is checked before the guest runs", () => {
  it.each([
    ["in a missing directory", () => join(dir, "no", "such", "w.amber"), /: no such directory .*no\/such$/],
    ["onto a directory", () => dir, /: is a directory \(give a file name in it\)$/],
    [
      "in a directory nobody may write (/sys)",
      () => "/sys/w.amber",
      /: cannot write in \/sys: permission denied$/,
    ],
  ])("refuses a save %s in one line naming the path given, before running", (_what, target, why) => {
    const to = target();
    for (const command of [
      ["run", hello.elf, "--save-at", "100", "--save-to", to],
      ["run", hello.elf, "--save-at", "100", "--save-to", to, "--halt-after-save"],
    ]) {
      const r = runCli(command);
      expect(r.status).toBe(125);
      expect(r.stdout).toBe(""); // the guest never ran
      const line = r.stderr.trimEnd();
      expect(line.split("\n")).toHaveLength(1);
      expect(line.startsWith(`amber: --save-to ${to}: `)).toBe(true);
      expect(line).toMatch(why);
      expect(line).not.toMatch(/tmp-|\.tmp/);
    }
  });
});

describe("saves say what they did", () => {
  it("prints one line when a save completes (stopped and running on)", async () => {
    const file = join(dir, "hello.amber");
    const halted = runCli(["run", hello.elf, "--save-at", "5000", "--save-to", file, "--halt-after-save"]);
    expect(halted.status).toBe(0);
    expect(halted.stderr).toMatch(
      new RegExp(
        `^amber: saved ${file} \\(full\\): [\\d.]+ (bytes|KiB|MiB), \\d+ pages?, at instruction 5,000, in [\\d.]+ ms\\n$`,
      ),
    );
    const on = await runCliAsync(["run", hello.elf, "--save-at", "5000", "--save-to", join(dir, "on.amber")]);
    expect(on.status).toBe(0);
    expect(on.stdout).toBe(hello.expectedStdout.toString("latin1"));
    expect(on.stderr).toMatch(/^amber: saved .*on\.amber \(full\): .* at instruction 5,000, in [\d.]+ ms\n$/);
  });

  it("exits non-zero when --save-at lies beyond the end of the run (nothing saved)", () => {
    const file = join(dir, "never.amber");
    const r = runCli(["run", hello.elf, "--save-at", "1e9", "--save-to", file]);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe(hello.expectedStdout.toString("latin1"));
    expect(r.stderr).toMatch(
      /^amber: --save-at 1000000000: the guest stopped at instruction \d+ \(status 0\), before it: nothing saved\n$/,
    );
    expect(existsSync(file)).toBe(false);
    const saved = join(dir, "hello.amber");
    const resumed = runCli(["resume", saved, "--save-at", "1e9", "--save-to", join(dir, "never2.amber")]);
    expect(resumed.status).toBe(125);
    expect(resumed.stderr).toMatch(/nothing saved\n$/);
  });
});

describe("--ram", () => {
  it.each([
    ["0", "0 bytes"],
    ["99999G", "97.7 TiB"],
    ["1k", "1 KiB"],
    ["6000", "5.9 KiB"],
  ])("--ram %s is a bad command line (exit 2) naming the size humanly", (text, human) => {
    const r = runCli(["run", hello.elf, "--ram", text]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `amber: --ram ${text}: ${human} is not a RAM size of the virt board (a multiple of 4 KiB from 4 KiB to 2 GiB)\n`,
    );
  });
});

describe("machine state from an image is validated", () => {
  it("refuses an image whose hart section has pc = 1 (checksums consistent) in one line, exit 125", () => {
    const good = join(dir, "good.amber");
    expect(
      runCli(["run", hello.elf, "--save-at", "3000", "--save-to", good, "--halt-after-save"]).status,
    ).toBe(0);
    const reader = openCheckpoint(good);
    const input = Machine.fromCheckpoint(reader).checkpointInput();
    const sections = [...input.sections].map((s) =>
      s.name === "hart0" ? { ...s, fields: { ...s.fields, pc: 1 } } : s,
    );
    const bad = join(dir, "pc1.amber");
    writeCheckpointFile(bad, { ...input, sections });
    reader.close();
    const r = runCli(["resume", bad]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      `amber: ${bad}: hart0: section field "pc" is 1: not 2-byte aligned (an instruction address)\n`,
    );
    expect(r.stdout).toBe("");
  });
});

describe("leftovers", () => {
  it("the destination checks leave no probe file behind", () => {
    const sub = join(dir, "clean");
    mkdirSync(sub);
    runCli(["run", hello.elf, "--save-at", "100", "--save-to", join(sub, "x.amber"), "--halt-after-save"]);
    expect(readdirSync(sub)).toEqual(["x.amber"]);
  });
});
