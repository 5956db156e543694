import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replScript } from "./repl-script.js";

// Tidying memory before a save: Amber Lisp's compacting collection, asked for by the
// monitor (:save --compact) or by Lisp itself ((save-world "name")). The guest's side is
// checked against QEMU in tools/guests/lisp/tests/compact.lisp.
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-compact-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const machineDir = () => join(tmp, `m${++n}`);
const world = (dir: string, name: string) => join(dir, "worlds", `${name}.amber`);

const DEFINITIONS = [
  "(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))",
  "(define (sum l acc) (if (null? l) acc (sum (cdr l) (+ acc (car l)))))",
  "(define keep (iota 1000))",
  '(define greeting (string-append "hello" ", " "world"))',
].join("\n");
/** Builds a 100,000-element list (1.6 MB of cells, most of the heap) and drops it. */
const BIG_AND_DROPPED = "(define big (iota 100000))\n(length big)\n(set! big #f)\n(gc)";
const CHECK = "(sum keep 0)\ngreeting\n(length (iota 5000))\n";
const CHECKED = 'lisp> 499500\nlisp> "hello, world"\nlisp> 5000\nlisp> ';

describe(":save --compact", () => {
  it("a world that built and dropped a large structure saves far smaller compacted, and both resume intact", async () => {
    const dir = machineDir();
    const r = await replScript(
      ["--dir", dir],
      `${DEFINITIONS}\n${BIG_AND_DROPPED}\n:save big --full\n:save small --full --compact\n(sum keep 0)\n:quit!\n`,
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("lisp> 100000\n");
    expect(r.stderr).toMatch(/saved big \(full\)/);
    expect(r.stderr).toMatch(
      /saved small \(full\): .*; the guest compacted in [0-9.]+ ms, [0-9,]+ instructions \(cells=\d+ moved=\d+/,
    );
    // The control line is the monitor's business: none of it reaches the console.
    expect(r.stdout).not.toContain("\x1d");
    expect(r.stdout).not.toContain("compacted");
    // The session goes on after the compaction.
    expect(r.stdout).toMatch(/lisp> 499500\nlisp> $/);

    const big = statSync(world(dir, "big")).size;
    const small = statSync(world(dir, "small")).size;
    expect(small).toBeLessThan(big / 3);

    for (const name of ["big", "small"]) {
      const again = await replScript([world(dir, name)], `${CHECK}:quit!\n`);
      expect(again.status).toBe(0);
      expect(again.stdout).toBe(CHECKED);
    }
  });

  it("incremental on the big world, the compacted save stores the cleared pages as next to nothing", async () => {
    const dir = machineDir();
    const r = await replScript(
      ["--dir", dir],
      `${DEFINITIONS}\n${BIG_AND_DROPPED}\n:save big --full\n:save small --compact\n:quit!\n`,
    );
    expect(r.stderr).toMatch(/saved small \(incremental on big\)/);
    expect(statSync(world(dir, "small")).size).toBeLessThan(statSync(world(dir, "big")).size / 3);
    const again = await replScript([world(dir, "small")], `${CHECK}:quit!\n`);
    expect(again.stdout).toBe(CHECKED);
  });

  it("is refused, saving nothing, when the guest is in the middle of an expression", async () => {
    const dir = machineDir();
    const r = await replScript(["--dir", dir], "(+ 1\n:save half --compact\n2)\n:quit!\n");
    expect(r.stderr).toMatch(
      /--compact: the guest is in the middle of reading an expression; finish it first/,
    );
    expect(r.stderr).not.toMatch(/saved half/);
    expect(r.stdout).toMatch(/lisp> 3\nlisp> $/);
  });
});

describe("(save-world NAME) from Lisp", () => {
  it("saves the world and returns #f; resumed from it in a fresh process, the same call returns #t", async () => {
    const dir = machineDir();
    const first = await replScript(
      ["--dir", dir],
      `(define x 41)\n(define r (save-world "w"))\n:stats\nr\n(+ x 1)\n:quit!\n`,
    );
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/saved w \(the guest's save-world\) \(full\)/);
    // (:stats only makes the script wait for the save: its figures go to stdout between.)
    expect(first.stdout).toMatch(/lisp> x\nlisp> r\nlisp> /);
    expect(first.stdout).toMatch(/\n#f\nlisp> 42\nlisp> $/);

    // Execution continues right after the save-world call, which now answers #t.
    const resumed = await replScript([world(dir, "w")], "r\n(+ x 1)\n:quit!\n");
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toBe("lisp> r\nlisp> #t\nlisp> 42\nlisp> ");
  });

  it("a refused save is an error in Lisp and the session goes on", async () => {
    const dir = machineDir();
    const r = await replScript(["--dir", dir], '(save-world "../bad")\n(+ 1 2)\n:quit!\n');
    expect(r.stdout).toMatch(/error: save-world: .+\nlisp> 3\nlisp> $/);
  });
});
