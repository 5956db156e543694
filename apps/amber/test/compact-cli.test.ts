import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const HELLO = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/hello.elf", import.meta.url));
let dir: string;

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-compact-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const digestOf = (p: string): string => JSON.parse(runCli(["inspect", p, "--json"]).out).digest;

describe("amber compact", { timeout: 300_000 }, () => {
  it("recompresses a saved image in place: same digest, smaller, resumes identically, children still resume", () => {
    const base = join(dir, "base.ambc");
    const saved = runCli(["run", HELLO, "--save-at", "2000", "--save-to", base, "--halt-after-save"]);
    expect(saved.status, saved.stderr).toBe(0);
    const child = join(dir, "child.ambc");
    const inc = runCli(["resume", base, "--save-at", "6000", "--save-to", child, "--halt-after-save"]);
    expect(inc.status, inc.stderr).toBe(0);
    const digest = digestOf(base);
    const size = statSync(base).size;
    const before = runCli(["resume", base]);
    const childBefore = runCli(["resume", child]);

    const r = runCli(["compact", base, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ image: base, digest, codec: "zstd", bytesBefore: size });
    expect(statSync(base).size).toBe(report.bytesAfter);
    expect(report.bytesAfter).toBeLessThan(size);
    expect(digestOf(base)).toBe(digest);

    const after = runCli(["resume", base]);
    expect(after.stdout).toBe(before.stdout);
    expect(after.status).toBe(before.status);
    const childAfter = runCli(["resume", child]);
    expect(childAfter.stdout).toBe(childBefore.stdout);
    expect(childAfter.status).toBe(childBefore.status);
    // Compacting again (or back to a fast codec) changes nothing the digest sees.
    expect(runCli(["compact", base, "--codec", "lz4"]).status).toBe(0);
    expect(digestOf(base)).toBe(digest);
  });

  it("a damaged image exits 125 with one line and is left exactly as it was; usage errors exit 2", () => {
    const img = join(dir, "bad.ambc");
    expect(runCli(["run", HELLO, "--save-at", "1000", "--save-to", img, "--halt-after-save"]).status).toBe(0);
    const bytes = new Uint8Array(readFileSync(img));
    bytes[400] ^= 0x10; // section data: its hash no longer matches
    bytes[bytes.length - 200] ^= 0x10; // the tables: refused on open
    writeFileSync(img, bytes);
    const r = runCli(["compact", img]);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(img);
    expect(new Uint8Array(readFileSync(img))).toEqual(bytes);
    expect(runCli(["compact", img, "--codec", "gzip"]).status).toBe(2);
    expect(runCli(["compact", img, "--level", "x"]).status).toBe(2);
  });
});
