import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { CapturedIo } from "@amber/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { runCli, testEnv } from "./run-cli.js";

// Lisp's (save-world "NAME") under `amber script`: the session saves snapshot NAME and the
// guest goes on, getting the answers the REPL gives (#f where it saved, #t where it was
// resumed). (The REPL's side: repl-compact.test.ts; amber run's: save-world-cli.test.ts.)
const LISP = join(import.meta.dirname, "../../../tools/guests/lisp/out/lisp.elf");
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-script-save-world-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `amber script FILE ARGS...` in-process; resolves with its status and what it said. */
async function script(file: string, args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = "";
  const status = await main(
    ["script", file, ...args],
    testEnv(new CapturedIo(), (text) => {
      stderr += text;
    }),
    () => {},
  );
  return { status, stderr };
}

describe("(save-world NAME) under amber script", () => {
  it("saves snapshot NAME and the guest goes on (#f); restored, or resumed by amber resume, the call answers #t", async () => {
    const file = join(tmp, "save-world.mjs");
    writeFileSync(
      file,
      `import { writeFileSync } from "node:fs";
const [elf, results, image] = amber.args;
const s = await amber.boot({ elf });
await s.expect("lisp> ");
s.type('(define x 41)\\n(define r (save-world "w"))\\n');
await s.expect("lisp> r\\nlisp> ");
s.type("(list r x)\\n");
const saved = await s.expect(/\\((#[tf]) (\\d+)\\)\\nlisp> /);
writeFileSync(image, s.snapshot("w"));
s.restore("w");
s.type("(list r (+ x 1))\\n");
const restored = await s.expect(/\\((#[tf]) (\\d+)\\)\\nlisp> /);
writeFileSync(results, JSON.stringify({ saved: saved.groups, restored: restored.groups, transcript: s.transcript }));
`,
    );
    const results = join(tmp, "results.json");
    const image = join(tmp, "w.amber");
    const r = await script(file, [LISP, results, image]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(readFileSync(results, "utf8")) as {
      saved: string[];
      restored: string[];
      transcript: string;
    };
    // Saved, the guest went on at once: save-world returned #f.
    expect(out.saved).toEqual(["#f", "41"]);
    // Restored, execution goes on right after the call, which now answers #t.
    expect(out.restored).toEqual(["#t", "42"]);
    // The control lines never reached the console.
    expect(out.transcript).not.toContain("\x1d");

    // The snapshot is a world like the REPL's: amber resume tells the guest it was resumed.
    const resumed = runCli(["resume", image], "(list r x)\n(exit 0)\n");
    expect(resumed.stdout).toMatch(/\(#t 41\)\nlisp> $/);
    expect(resumed.status).toBe(0);
  }, 120_000);
});
