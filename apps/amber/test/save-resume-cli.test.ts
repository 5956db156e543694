import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const OUT = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));
let dir: string;

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-save-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("amber run --save-at / resume / inspect / verify", () => {
  for (const [name, at] of [
    ["hello", 5000],
    ["priv-interrupts", 3001],
    ["exit-code", 100],
  ] as const) {
    it(`${name}: run to ${at}, save, resume gives the straight run's output and status`, () => {
      const elf = `${OUT}${name}.elf`;
      const straight = runCli(["run", elf]);
      const file = join(dir, `${name}.ambc`);
      const first = runCli(["run", elf, "--save-at", String(at), "--save-to", file, "--halt-after-save"]);
      expect(first.status).toBe(0);
      const resumed = runCli(["resume", file]);
      expect(first.stdout + resumed.stdout).toBe(straight.stdout);
      expect(resumed.status).toBe(straight.status);
      // Saving and running on gives the same as not saving at all.
      const through = runCli(["run", elf, "--save-at", String(at), "--save-to", join(dir, "t.ambc")]);
      expect(through.stdout).toBe(straight.stdout);
      expect(through.status).toBe(straight.status);
    });
  }

  it("an image written while the guest runs on equals one written with the guest halted", () => {
    const elf = `${OUT}bench-short.elf`;
    const halted = join(dir, "halted.ambc");
    const running = join(dir, "running.ambc");
    expect(
      runCli(["run", elf, "--save-at", "2000000", "--save-to", halted, "--halt-after-save"]).status,
    ).toBe(0);
    expect(runCli(["run", elf, "--save-at", "2000000", "--save-to", running]).status).toBe(0);
    const digest = (file: string) => JSON.parse(runCli(["inspect", "--json", file]).out).digest;
    expect(digest(running)).toBe(digest(halted));
  });

  it("inspect and verify describe a sound image", () => {
    const file = join(dir, "i.ambc");
    expect(
      runCli(["run", `${OUT}hello.elf`, "--save-at", "1000", "--save-to", file, "--halt-after-save"]).status,
    ).toBe(0);
    const text = runCli(["inspect", file]);
    expect(text.status).toBe(0);
    expect(text.out).toMatch(/machine: riscv32-virt/);
    expect(text.out).toMatch(/instructions: 1000/);
    expect(text.out).toMatch(/hart0 v1/);
    const json = JSON.parse(runCli(["inspect", file, "--json"]).out);
    expect(json.sections.map((s: { name: string }) => s.name)).toContain("csr0");
    expect(json.segments[0].name).toBe("ram");
    expect(json.segments[0].storedPages).toBeGreaterThan(0);
    const ok = runCli(["verify", file]);
    expect(ok.status).toBe(0);
    expect(ok.out).toMatch(/ok/);
  });

  it("a truncated or damaged image fails with one line naming the file, status 125", () => {
    const file = join(dir, "d.ambc");
    runCli(["run", `${OUT}hello.elf`, "--save-at", "1000", "--save-to", file, "--halt-after-save"]);
    const bytes = readFileSync(file);
    const cut = join(dir, "cut.ambc");
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    for (const cmd of ["resume", "verify", "inspect"]) {
      const r = runCli([cmd, cut]);
      expect(r.status, cmd).toBe(125);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("cut.ambc");
    }
    const flipped = join(dir, "flip.ambc");
    const copy = Uint8Array.from(bytes);
    copy[copy.length - 10]! ^= 0xff;
    writeFileSync(flipped, copy);
    const v = runCli(["verify", flipped]);
    expect(v.status).toBe(125);
    expect(v.stderr).toContain("flip.ambc");
    const missing = runCli(["resume", join(dir, "nope.ambc")]);
    expect(missing.status).toBe(125);
  });

  it("bad save options are usage errors", () => {
    expect(runCli(["run", `${OUT}hello.elf`, "--save-at", "10"]).status).toBe(2);
    expect(runCli(["run", `${OUT}hello.elf`, "--save-at", "x", "--save-to", join(dir, "x")]).status).toBe(2);
  });
});
