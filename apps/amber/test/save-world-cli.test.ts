import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runCliAsync } from "./run-cli.js";

// Lisp's (save-world "NAME") outside the REPL: `amber run` and `amber resume` save the
// world, other ways of running refuse at once. The guest never waits for an answer that
// cannot come. (The REPL's side: repl-compact.test.ts; bundles: world-bundle.test.ts.)
const LISP = join(import.meta.dirname, "../../../tools/guests/lisp/out/lisp.elf");
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-save-world-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("(save-world NAME) under amber run and amber resume", () => {
  it("amber run saves NAME.amber in --worlds and goes on (#f); amber resume of it answers #t and saves beside it", async () => {
    // Smalltalk's snapshot idiom: the saving session exits, the resumed one goes on.
    const first = await runCliAsync(
      ["run", LISP, "--worlds", tmp],
      '(define x 41)\n(if (save-world "w") (quote resumed) (exit 5))\n',
    );
    expect(first.stderr).toMatch(
      /^amber: saved .*w\.amber \(full\): .* at instruction [0-9,]+, in [0-9.]+ ms\n$/,
    );
    expect(first.stdout).not.toContain("\x1d");
    expect(first.stdout).toMatch(/\nlisp> x\nlisp> $/);
    expect(first.status).toBe(5);
    expect(existsSync(join(tmp, "w.amber"))).toBe(true);

    // Execution goes on right after the call, which now answers #t; it saves again, beside
    // the image. What the guest had read ahead of its answer (the pipe's next lines) is part
    // of the saved world, so the world resumed from w2 reads them again.
    const resumed = await runCliAsync(
      ["resume", join(tmp, "w.amber")],
      '(define r (save-world "w2"))\n(list r x)\n(exit 4)\n',
    );
    expect(resumed.stdout).toBe("resumed\nlisp> r\nlisp> (#f 41)\nlisp> ");
    expect(resumed.stderr).toMatch(/^amber: saved .*w2\.amber \(incremental\)/);
    expect(resumed.status).toBe(4);
    const again = runCli(["resume", join(tmp, "w2.amber")], "");
    expect(again.stdout).toBe("r\nlisp> (#t 41)\nlisp> ");
    expect(again.status).toBe(4);
  });

  it("is refused at once, as an error in Lisp, where the run cannot save (the world itself, a bad name, --record)", async () => {
    const self = await runCliAsync(["resume", join(tmp, "w.amber")], '(save-world "w")\n(+ 1 2)\n(exit 0)\n');
    expect(self.stdout).toBe(
      "resumed\nlisp> error: save-world: w.amber is the world this one came from: choose another name\nlisp> 3\nlisp> ",
    );
    const bad = await runCliAsync(["run", LISP, "--worlds", tmp], '(save-world "x.amber")\n(exit 0)\n');
    expect(bad.stdout).toMatch(/error: save-world: "x\.amber" is not a world name here/);
    const recorded = runCli(
      ["run", LISP, "--record", join(tmp, "r.log")],
      '(save-world "v")\n(+ 1 2)\n(exit 0)\n',
    );
    expect(recorded.stdout).toMatch(
      /\nlisp> error: save-world: amber run saves worlds only without --trace, --save-at and --record\nlisp> 3\nlisp> $/,
    );
    expect(existsSync(join(tmp, "v.amber"))).toBe(false);
    // The refusal is input like any other: the run replays exactly.
    const replay = runCli(["replay", join(tmp, "r.log")]);
    expect(replay.stderr).toMatch(/matches the recording/);
    expect(replay.status).toBe(0);
  });
});
