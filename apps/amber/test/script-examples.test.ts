import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";

// The examples run through the bundled CLI, as users run them (forks are worker threads of it).
const EXAMPLES = join(import.meta.dirname, "../examples");
const LISP = join(import.meta.dirname, "../../../tools/guests/lisp/out/lisp.elf");

let work: string;
let amber: string;

function script(file: string, ...args: string[]) {
  return spawnSync(process.execPath, [amber, "script", file, ...args], { cwd: work, encoding: "utf8" });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "amber-script-test-"));
  amber = await bundle(join(work, "cli", "amber.js"));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("amber script", () => {
  it("model-checks the Lisp world: one fork per interleaving of three inputs, the distinct final states", () => {
    const r = script(join(EXAMPLES, "lisp-interleavings.mjs"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // x starts at 1; the six orders of x+1, x*2, x-3 end in four values.
    expect(r.stdout).toBe(
      [
        "6 interleavings of 3 inputs, 4 distinct final states:",
        "  x = -3: (- x 3) ; (* x 2) ; (+ x 1)",
        "  x = -2: (+ x 1) ; (- x 3) ; (* x 2)  |  (- x 3) ; (+ x 1) ; (* x 2)",
        "  x = 0: (* x 2) ; (+ x 1) ; (- x 3)  |  (* x 2) ; (- x 3) ; (+ x 1)",
        "  x = 1: (+ x 1) ; (* x 2) ; (- x 3)",
        "",
      ].join("\n"),
    );
  }, 120_000);

  it("runs the class demo: Linux booted once, saved at the prompt, resumed 20 times", () => {
    const r = script(join(EXAMPLES, "linux-class.mjs"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^booted to the prompt in [\d,]+ instructions; saved \(\d+ bytes\)$/);
    const students = lines.filter((l) => l.startsWith("student"));
    expect(students).toHaveLength(20);
    expect(students[0]).toMatch(/^student {2}1: uname → 1 line\(s\): Linux 6\.1\.\d+ .* riscv32$/);
    expect(students[3]).toBe("student  4: echo hello from student 3 → 1 line(s): hello from student 3");
    expect(students[12]).toBe("student 13: count 12 → 12 line(s): 1");
    expect(lines.at(-1)).toMatch(
      /^every student's machine started at the same instant: yes \(up [\d.]+ s\)$/,
    );
  }, 300_000);

  it("passes arguments, and reports a session error in one line (exit 1)", () => {
    const file = join(work, "waits.mjs");
    writeFileSync(
      file,
      `const s = await amber.boot({ elf: amber.args[0] });
       await s.expect("lisp> ");
       await s.expect("never printed");`,
    );
    const r = script(file, LISP);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^amber: \S+waits\.mjs: lisp\.elf: the guest waits for input and "never printed" has not appeared \(type something first\); last output ".*"\n$/,
    );
  }, 60_000);

  it("says in one line when the script or a file it names cannot be read (exit 125)", () => {
    const missing = script(join(work, "missing.mjs"));
    expect(missing.status).toBe(125);
    expect(missing.stderr).toMatch(/^amber: \S+missing\.mjs: cannot read: no such file\n$/);
    const file = join(work, "nofile.mjs");
    writeFileSync(file, `await amber.boot({ elf: "no-such.elf" });`);
    const r = script(file);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe("amber: no-such.elf: cannot read: no such file\n");
    // A directory, or a file Node will not load as a module (a world given by mistake).
    const dir = join(work, "a-directory");
    mkdirSync(dir, { recursive: true });
    const d = script(dir);
    expect(d.status).toBe(125);
    expect(d.stderr).toMatch(
      /^amber: \S+a-directory: is not a file, expected a JavaScript module \(\.mjs\)\n$/,
    );
    const world = join(work, "world.amber");
    writeFileSync(world, "not a script");
    const w = script(world);
    expect(w.status).toBe(125);
    expect(w.stderr).toMatch(
      /^amber: \S+world\.amber: not a JavaScript module Node can load \(expected \.mjs or \.js\)\n$/,
    );
  }, 60_000);
});
