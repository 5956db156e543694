import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runCliAsync } from "./run-cli.js";

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
    it(`${name}: run to ${at}, save, resume gives the straight run's output and status`, async () => {
      const elf = `${OUT}${name}.elf`;
      const straight = runCli(["run", elf]);
      const file = join(dir, `${name}.ambc`);
      const first = runCli(["run", elf, "--save-at", String(at), "--save-to", file, "--halt-after-save"]);
      expect(first.status).toBe(0);
      const resumed = runCli(["resume", file]);
      expect(first.stdout + resumed.stdout).toBe(straight.stdout);
      expect(resumed.status).toBe(straight.status);
      // Saving and running on gives the same as not saving at all.
      const through = await runCliAsync([
        "run",
        elf,
        "--save-at",
        String(at),
        "--save-to",
        join(dir, "t.ambc"),
      ]);
      expect(through.stdout).toBe(straight.stdout);
      expect(through.status).toBe(straight.status);
    });
  }

  it("resume --stats reports the restore's wall and CPU time and the run's CPU time; run --stats does not", () => {
    const elf = `${OUT}hello.elf`;
    const file = join(dir, "stats.ambc");
    expect(runCli(["run", elf, "--save-at", "5000", "--save-to", file, "--halt-after-save"]).status).toBe(0);
    const last = (stderr: string) => JSON.parse(stderr.trim().split("\n").at(-1)!);
    const resumed = last(runCli(["resume", "--stats", file]).stderr);
    expect(resumed.restoreSeconds).toBeGreaterThan(0);
    expect(resumed.restoreCpuSeconds).toBeGreaterThan(0);
    expect(resumed.runCpuSeconds).toBeGreaterThanOrEqual(0);
    const ran = last(runCli(["run", "--stats", elf]).stderr);
    for (const k of ["restoreSeconds", "restoreCpuSeconds", "runCpuSeconds"])
      expect(Object.hasOwn(ran, k)).toBe(false);
  });

  it("an image written while the guest runs on equals one written with the guest halted", async () => {
    const elf = `${OUT}bench-short.elf`;
    const halted = join(dir, "halted.ambc");
    const running = join(dir, "running.ambc");
    expect(
      runCli(["run", elf, "--save-at", "2000000", "--save-to", halted, "--halt-after-save"]).status,
    ).toBe(0);
    expect((await runCliAsync(["run", elf, "--save-at", "2000000", "--save-to", running])).status).toBe(0);
    const digest = (file: string) => JSON.parse(runCli(["inspect", "--json", file]).out).digest;
    expect(digest(running)).toBe(digest(halted));
  });

  /** What `--stats` says that does not depend on timing or on what was read lazily. */
  const stats = (stderr: string): { instructions: number; retired: number; exit: unknown } => {
    const { instructions, retired, exit } = JSON.parse(stderr.trim().split("\n").at(-1)!);
    return { instructions, retired, exit };
  };

  for (const [name, n1, n2, n3] of [
    ["hello", 3000, 9000, 15000],
    ["priv-interrupts", 30_000, 120_000, 200_000],
    ["priv-paging", 100_000, 400_000, 700_000],
    ["bench-short", 3_000_000, 15_000_000, 25_000_000],
  ] as const) {
    it(`${name}: run → A, resume A → B (incremental, guest running on) → resume B is the straight run`, async () => {
      const elf = `${OUT}${name}.elf`;
      const straight = runCli(["run", "--stats", elf]);
      const A = join(dir, `chain-${name}-a.ambc`);
      const B = join(dir, `chain-${name}-b.ambc`);
      const Bhalted = join(dir, `chain-${name}-b-halted.ambc`);
      const first = runCli(["run", elf, "--save-at", String(n1), "--save-to", A, "--halt-after-save"]);
      expect(first.status, first.stderr).toBe(0);

      // Resume A, save B at n2 while running on to the end: the same output and status.
      const through = await runCliAsync(["resume", "--stats", A, "--save-at", String(n2), "--save-to", B]);
      expect(through.status, through.stderr).toBe(straight.status);
      expect(first.stdout + through.stdout).toBe(straight.stdout);
      expect(stats(through.stderr)).toEqual(stats(straight.stderr));

      // B is incremental on A, found by its hint, and the same image as one saved halted.
      const info = JSON.parse(runCli(["inspect", "--json", B]).out);
      expect(info.incremental).toBe(true);
      expect(info.parent).toBe(JSON.parse(runCli(["inspect", "--json", A]).out).digest);
      expect(info.parentHint).toBe(`chain-${name}-a.ambc`);
      const halted = runCli([
        "resume",
        A,
        "--save-at",
        String(n2),
        "--save-to",
        Bhalted,
        "--halt-after-save",
      ]);
      expect(halted.status, halted.stderr).toBe(0);
      expect(JSON.parse(runCli(["inspect", "--json", Bhalted]).out).digest).toBe(info.digest);
      expect(runCli(["verify", B]).status).toBe(0);

      // Resume B: the rest of the straight run, to the same instruction count.
      const fromB = runCli(["resume", "--stats", B]);
      expect(first.stdout + halted.stdout + fromB.stdout).toBe(straight.stdout);
      expect(fromB.status).toBe(straight.status);
      expect(stats(fromB.stderr)).toEqual(stats(straight.stderr));

      // Registers, CSRs, devices and RAM at a later instant: the same as never stopping.
      const late = join(dir, `chain-${name}-late.ambc`);
      const lateChain = join(dir, `chain-${name}-late-chain.ambc`);
      expect(
        runCli(["run", elf, "--save-at", String(n3), "--save-to", late, "--halt-after-save"]).status,
      ).toBe(0);
      const c = runCli(["resume", B, "--save-at", String(n3), "--save-to", lateChain, "--halt-after-save"]);
      expect(c.status, c.stderr).toBe(0);
      const d = runCli(["diff", late, lateChain]);
      expect(d.status, d.out).toBe(0);
    }, 60_000);
  }

  it("run --parent saves while the guest runs on, the same image as saved halted", async () => {
    const elf = `${OUT}priv-interrupts.elf`;
    const straight = runCli(["run", elf]);
    const base = join(dir, "p-base.ambc");
    expect(runCli(["run", elf, "--save-at", "20000", "--save-to", base, "--halt-after-save"]).status).toBe(0);
    const running = join(dir, "p-running.ambc");
    const halted = join(dir, "p-halted.ambc");
    const r = await runCliAsync(["run", elf, "--save-at", "150000", "--save-to", running, "--parent", base]);
    expect(r.status, r.stderr).toBe(straight.status);
    expect(r.stdout).toBe(straight.stdout);
    const h = runCli([
      "run",
      elf,
      "--save-at",
      "150000",
      "--save-to",
      halted,
      "--parent",
      base,
      "--halt-after-save",
    ]);
    expect(h.status, h.stderr).toBe(0);
    const digest = (file: string) => JSON.parse(runCli(["inspect", "--json", file]).out).digest;
    expect(digest(running)).toBe(digest(halted));
    expect(JSON.parse(runCli(["inspect", "--json", running]).out).incremental).toBe(true);
    expect(h.stdout + runCli(["resume", running]).stdout).toBe(straight.stdout);
  });

  it("resume --full saves a self-contained image of the same state", async () => {
    const elf = `${OUT}hello.elf`;
    const A = join(dir, "f-a.ambc");
    const inc = join(dir, "f-inc.ambc");
    const full = join(dir, "f-full.ambc");
    expect(runCli(["run", elf, "--save-at", "2000", "--save-to", A, "--halt-after-save"]).status).toBe(0);
    expect(runCli(["resume", A, "--save-at", "8000", "--save-to", inc, "--halt-after-save"]).status).toBe(0);
    const saved = await runCliAsync(["resume", A, "--save-at", "8000", "--save-to", full, "--full"]);
    expect(saved.status).toBe(0);
    const info = JSON.parse(runCli(["inspect", "--json", full]).out);
    expect(info.incremental).toBe(false);
    expect(runCli(["diff", inc, full]).status).toBe(0);
  });

  it("an incremental save onto its own parent is refused before running; --full may replace it", async () => {
    const elf = `${OUT}hello.elf`;
    const A = join(dir, "self.ambc");
    const B = join(dir, "self-b.ambc");
    expect(runCli(["run", elf, "--save-at", "2000", "--save-to", A, "--halt-after-save"]).status).toBe(0);
    expect(runCli(["resume", A, "--save-at", "4000", "--save-to", B, "--halt-after-save"]).status).toBe(0);
    const before = readFileSync(A);
    for (const args of [
      ["resume", A, "--save-at", "6000", "--save-to", A],
      ["resume", B, "--save-at", "6000", "--save-to", A], // A is B's parent
      ["run", elf, "--save-at", "6000", "--save-to", A, "--parent", A],
    ]) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr).toContain("self.ambc");
    }
    expect(readFileSync(A).equals(before)).toBe(true);
    // A full image may replace the one it was resumed from (read lazily through the open file).
    const straight = runCli(["run", elf]);
    const first = runCli([
      "run",
      elf,
      "--save-at",
      "2000",
      "--save-to",
      join(dir, "x.ambc"),
      "--halt-after-save",
    ]);
    const full = await runCliAsync(["resume", A, "--save-at", "6000", "--save-to", A, "--full"]);
    expect(full.status, full.stderr).toBe(straight.status);
    expect(JSON.parse(runCli(["inspect", "--json", A]).out).incremental).toBe(false);
    const mid = runCli(["resume", join(dir, "x.ambc"), "--max-insns", "6000"]);
    expect(first.stdout + mid.stdout + runCli(["resume", A]).stdout).toBe(straight.stdout);
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
