import { mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const OUT = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));
const HELLO = `${OUT}hello.elf`;
let dir: string;

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-tools-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function save(at: number, to: string, extra: string[] = []): void {
  const r = runCli(["run", HELLO, "--save-at", String(at), "--save-to", to, "--halt-after-save", ...extra]);
  expect(r.status, r.stderr).toBe(0);
}
const digestOf = (p: string): string => JSON.parse(runCli(["inspect", p, "--json"]).out).digest;

describe("amber convert / squash / diff / incremental saves", () => {
  it("convert file -> dir -> file keeps the digest, and the directory resumes as the file", () => {
    const file = join(dir, "c.ambc");
    save(3000, file);
    const d = join(dir, "c.d");
    const r = runCli(["convert", file, d, "--layout", "dir"]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(d).isDirectory()).toBe(true);
    expect(digestOf(d)).toBe(digestOf(file));
    const back = join(dir, "c2.ambc");
    expect(runCli(["convert", d, back, "--layout", "file"]).status).toBe(0);
    expect(digestOf(back)).toBe(digestOf(file));
    const fromFile = runCli(["resume", file]);
    const fromDir = runCli(["resume", d]);
    expect(fromDir.stdout).toBe(fromFile.stdout);
    expect(fromDir.status).toBe(fromFile.status);
    expect(runCli(["diff", file, d]).status).toBe(0);
  });

  it("convert --codec re-encodes the same state", () => {
    const file = join(dir, "k.ambc");
    save(3000, file);
    for (const codec of ["none", "lz4"]) {
      const out = join(dir, `k-${codec}.ambc`);
      expect(runCli(["convert", file, out, "--layout", "file", "--codec", codec]).status).toBe(0);
      expect(runCli(["diff", file, out]).status).toBe(0);
      expect(runCli(["resume", out]).stdout).toBe(runCli(["resume", file]).stdout);
    }
    const dirOut = join(dir, "k-zstd.d");
    expect(
      runCli(["convert", file, dirOut, "--layout", "dir", "--codec", "zstd", "--level", "9"]).status,
    ).toBe(0);
    expect(runCli(["diff", file, dirOut]).status).toBe(0);
  });

  it("convert usage errors exit 2, a bad image 125", () => {
    const file = join(dir, "u.ambc");
    save(100, file);
    expect(runCli(["convert", file, join(dir, "u2"), "--layout", "zip"]).status).toBe(2);
    expect(runCli(["convert", file, join(dir, "u2")]).status).toBe(2);
    expect(runCli(["convert", file, join(dir, "u2"), "--layout", "file", "--codec", "gzip"]).status).toBe(2);
    expect(runCli(["convert", join(dir, "none.ambc"), join(dir, "u3"), "--layout", "file"]).status).toBe(125);
  });

  it("incremental saves: smaller, resume the same, squash to a full image, missing parent is 125", () => {
    const straight = runCli(["run", HELLO]);
    const base = join(dir, "base.ambc");
    save(1000, base);
    // From run --parent and from resume (which names the resumed image as parent).
    const viaRun = join(dir, "inc-run.ambc");
    save(5000, viaRun, ["--parent", base]);
    const viaResume = join(dir, "inc-resume.ambc");
    const r = runCli(["resume", base, "--save-at", "5000", "--save-to", viaResume, "--halt-after-save"]);
    expect(r.status, r.stderr).toBe(0);
    const full = join(dir, "full.ambc");
    save(5000, full);

    for (const inc of [viaRun, viaResume]) {
      const info = JSON.parse(runCli(["inspect", inc, "--json"]).out);
      expect(info.incremental).toBe(true);
      expect(info.parent).toBe(digestOf(base));
      expect(info.parentHint).toBe("base.ambc");
      expect(info.segments[0].storedPages).toBeLessThan(
        JSON.parse(runCli(["inspect", full, "--json"]).out).segments[0].storedPages,
      );
      // RAM data (the machine section, with the 64 KiB boot ROM, is stored whole in each image).
      const incDir = `${inc}.d`;
      const fullDir = `${full}.d`;
      runCli(["convert", inc, incDir, "--layout", "dir"]);
      runCli(["convert", full, fullDir, "--layout", "dir"]);
      const ramBytes = (d: string): number => statSync(join(d, "segments", "ram.ambp")).size;
      expect(ramBytes(incDir) * 4).toBeLessThan(ramBytes(fullDir));
      expect(statSync(inc).size).toBeLessThan(statSync(full).size);
      const resumed = runCli(["resume", inc]);
      const fromFull = runCli(["resume", full]);
      expect(resumed.stdout).toBe(fromFull.stdout);
      expect(resumed.status).toBe(straight.status);
      expect(runCli(["diff", inc, full]).status).toBe(0);
      expect(runCli(["verify", inc]).status).toBe(0);
    }

    // A chain of three: base <- inc-resume <- inc2.
    const inc2 = join(dir, "inc2.ambc");
    expect(
      runCli(["resume", viaResume, "--save-at", "8000", "--save-to", inc2, "--halt-after-save"]).status,
    ).toBe(0);
    const flat = join(dir, "flat.ambc");
    const s = runCli(["squash", inc2, flat]);
    expect(s.status, s.stderr).toBe(0);
    const flatInfo = JSON.parse(runCli(["inspect", flat, "--json"]).out);
    expect(flatInfo.incremental).toBe(false);
    expect(flatInfo.parent).toBeNull();
    expect(runCli(["diff", inc2, flat]).status).toBe(0);
    expect(runCli(["resume", flat]).stdout).toBe(runCli(["resume", inc2]).stdout);

    // The parent goes missing: resume and squash name it, status 125; inspect names it
    // too, but still shows the image's own header (status 0).
    renameSync(base, join(dir, "moved.ambc"));
    for (const cmd of [
      ["resume", viaRun],
      ["squash", viaRun, join(dir, "x.ambc")],
      ["inspect", viaRun],
    ]) {
      const m = runCli(cmd);
      expect(m.status, cmd[0]).toBe(cmd[0] === "inspect" ? 0 : 125);
      expect(m.stderr).toMatch(/parent/);
      expect(m.stderr).toContain("base.ambc");
      expect(m.stderr.trim().split("\n")).toHaveLength(1);
    }
    // The squashed image needs no parent.
    expect(runCli(["resume", flat]).status).toBe(straight.status);
    renameSync(join(dir, "moved.ambc"), base);
  });

  it("incremental option errors", () => {
    expect(runCli(["run", HELLO, "--parent", join(dir, "base.ambc")]).status).toBe(2);
    const m = runCli([
      "run",
      HELLO,
      "--save-at",
      "10",
      "--save-to",
      join(dir, "y.ambc"),
      "--parent",
      join(dir, "nope.ambc"),
    ]);
    expect(m.status).toBe(125);
    expect(m.stderr).toContain("nope.ambc");
  });

  it("diff names the differing registers, CSR fields and pages; exit 1", () => {
    const a = join(dir, "da.ambc");
    const b = join(dir, "db.ambc");
    save(1000, a);
    save(5000, b);
    const t = runCli(["diff", a, b]);
    expect(t.status).toBe(1);
    expect(t.out).toMatch(/^hart0\.pc: /m);
    expect(t.out).toMatch(/^instructions: 1000 vs 5000/m);
    const j = runCli(["diff", a, b, "--json"]);
    expect(j.status).toBe(1);
    const d = JSON.parse(j.out);
    expect(d.identical).toBe(false);
    const hart = d.sections.find((s: { name: string }) => s.name === "hart0");
    expect(hart.fields.map((f: { name: string }) => f.name)).toContain("pc");
    expect(d.segments[0].name).toBe("ram");
    expect(d.segments[0].pages.length).toBeGreaterThan(0);
    const same = runCli(["diff", a, a, "--json"]);
    expect(same.status).toBe(0);
    expect(JSON.parse(same.out).identical).toBe(true);
    expect(runCli(["diff", a, join(dir, "missing.ambc")]).status).toBe(125);
  });

  it("every new command has --help", () => {
    for (const cmd of ["convert", "squash", "diff", "resume"]) {
      const h = runCli([cmd, "--help"]);
      expect(h.status).toBe(0);
      expect(h.out).toMatch(/Usage: amber/);
    }
  });
});
