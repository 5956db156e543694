import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { initCodecs } from "@amber/compress";
import { registerName } from "@amber/isa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { replScript } from "./repl-script.js";
import { runCli } from "./run-cli.js";

const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-diff-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The registers as stored in an image's hart section (the diff's ground truth). */
function registers(file: string): Int32Array {
  const r = openCheckpoint(file);
  try {
    return r.section("hart0").fields.x as Int32Array;
  } finally {
    r.close();
  }
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

describe("diff names the registers and CSRs that differ, with their values", () => {
  it("amber diff: one line per differing register (x<n> and its ABI name), none for equal ones", () => {
    const a = join(tmp, "a.amber");
    const b = join(tmp, "b.amber");
    for (const [at, file] of [
      [5000, a],
      [9000, b],
    ] as const)
      expect(
        runCli(["run", hello.elf, "--save-at", String(at), "--save-to", file, "--halt-after-save"]).status,
      ).toBe(0);
    const ra = registers(a);
    const rb = registers(b);
    const r = runCli(["diff", a, b]);
    expect(r.status).toBe(1);
    expect(r.out).not.toMatch(/Array\[/);
    let differing = 0;
    for (let i = 0; i < 32; i++) {
      const line = `hart0.x${i} (${registerName(i)}): ${hex(ra[i]!)} vs ${hex(rb[i]!)}\n`;
      if (ra[i] !== rb[i]) {
        differing++;
        expect(r.out).toContain(line);
      } else expect(r.out).not.toContain(`hart0.x${i} (`);
    }
    expect(differing).toBeGreaterThan(3);
    const json = JSON.parse(runCli(["diff", "--json", a, b]).out);
    const hart = json.sections.find((s: { name: string }) => s.name === "hart0");
    expect(hart.fields).toContainEqual({ name: "x2", alias: "sp", a: hex(ra[2]!), b: hex(rb[2]!) });
  });

  it("amber diff names CSRs (mepc, mcause...) when a trap happened in between", () => {
    const trap = guests(({ march, name }) => march === "rv32imac" && name === "traps")[0]!;
    const a = join(tmp, "t1.amber");
    const b = join(tmp, "t2.amber");
    expect(runCli(["run", trap.elf, "--save-at", "100", "--save-to", a, "--halt-after-save"]).status).toBe(0);
    expect(runCli(["run", trap.elf, "--save-at", "20000", "--save-to", b, "--halt-after-save"]).status).toBe(
      0,
    );
    expect(runCli(["diff", a, b]).out).toMatch(
      /^csr0\.m(epc|cause|tval|status): 0x[0-9a-f]+ vs 0x[0-9a-f]+$/m,
    );
  });

  it(":diff in the REPL names registers the same way", async () => {
    const r = await replScript(
      ["--dir", join(tmp, "m")],
      "(define a 1)\n:save one\n(define (f x) (* x 2))\n(f 21)\n:save two\n:diff one two\n:quit\n",
    );
    expect(r.stdout).toMatch(/^hart0\.x\d+ \((ra|sp|gp|tp|t\d|s\d+|a\d)\): 0x[0-9a-f]+ vs 0x[0-9a-f]+$/m);
    expect(r.stdout).not.toMatch(/Array\[/);
    expect(r.status).toBe(0);
  });
});
