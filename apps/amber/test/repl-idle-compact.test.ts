import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { CODEC_IDS, FramedReader, initCodecs } from "@amber/compress";
import { CapturedIo, SECTION_SPECS } from "@amber/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { main } from "../src/cli.js";
import { replScript } from "./repl-script.js";
import { testEnv } from "./run-cli.js";

// Save fast, compress later: while the REPL is idle, worlds saved with the fast codec are
// recompressed to zstd in the background, digests kept. AMBER_IDLE_COMPACT_MS=0 makes the
// idle clock fire at once, so these tests wait for events (the REPL's notices), never time.
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-idle-compact-"));
  process.env.AMBER_IDLE_COMPACT_MS = "0";
});
afterAll(() => {
  delete process.env.AMBER_IDLE_COMPACT_MS;
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const machineDir = () => join(tmp, `m${++n}`);
const world = (dir: string, name: string) => join(dir, "worlds", `${name}.amber`);

/** The codecs the world's page segments are stored with, and its digest. */
function stored(file: string): { codecs: Set<number>; digest: string } {
  const r = openCheckpoint(file, { sections: SECTION_SPECS, withoutParent: true });
  try {
    const codecs = new Set(
      r.segments.map((g) => FramedReader.open(r.store.segmentData(g.entry).source).codecId),
    );
    return { codecs, digest: r.digest };
  } finally {
    r.close();
  }
}

/** A REPL driven line by line: `until` waits for what it says (stdout or stderr), not for time. */
interface Driver {
  type(text: string): void;
  until(pattern: RegExp, where?: "stdout" | "stderr"): Promise<void>;
  finished: Promise<{ status: number; stdout: string; stderr: string }>;
}

function drive(
  start: (input: PassThrough, out: (t: string) => void, err: (t: string) => void) => Promise<number>,
): Driver {
  const input = new PassThrough();
  const text = { stdout: "", stderr: "" };
  const waiters: (() => void)[] = [];
  const changed = () => {
    for (const w of waiters.splice(0)) w();
  };
  const finished = start(
    input,
    (t) => {
      text.stdout += t;
      changed();
    },
    (t) => {
      text.stderr += t;
      changed();
    },
  ).then((status) => {
    changed();
    return { status, ...text };
  });
  let over = false;
  void finished.then(() => {
    over = true;
  });
  return {
    type: (t) => input.write(t),
    async until(pattern, where = "stderr") {
      while (!pattern.test(text[where])) {
        if (over) throw new Error(`the REPL ended before ${pattern} (${where}: ${text[where]})`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    finished,
  };
}

/** `amber repl ...args` in this process (worlds compacted on the main thread between events). */
function inProcess(args: string[]): Driver {
  return drive((input, out, err) => {
    const output = new PassThrough();
    const errors = new PassThrough();
    output.on("data", (d: Buffer) => out(d.toString("utf8")));
    errors.on("data", (d: Buffer) => err(d.toString("utf8")));
    return Promise.resolve(
      main(["repl", ...args], testEnv(new CapturedIo(), err), out, {
        input,
        output,
        errors,
        terminal: false,
      }),
    );
  });
}

const DEFINE = "(define x 41)\n(define l (iota 20000))\n";
const IOTA =
  "(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))\n";

describe("idle-time compaction in the REPL", () => {
  it("recompresses fast-saved worlds to zstd once idle; digests kept, the incremental child still resumes", async () => {
    const dir = machineDir();
    const r = inProcess(["--dir", dir]);
    // Off while saving, so the digests can be read as saved (fast codec) first.
    r.type(`:compact auto off\n${IOTA}${DEFINE}:save a --full\n(set! x 1)\n:save b\n:stats\n`);
    await r.until(/saved b \(incremental on a\)/);
    await r.until(/instructions/, "stdout");
    const before = { a: stored(world(dir, "a")), b: stored(world(dir, "b")) };
    expect(before.a.codecs.has(CODEC_IDS.zstd)).toBe(false);
    expect(before.b.codecs.has(CODEC_IDS.zstd)).toBe(false);

    r.type(":compact auto on\n");
    await r.until(/compacted a in the background/);
    await r.until(/compacted b in the background/);
    r.type("(+ x 2)\n:quit!\n");
    const done = await r.finished;
    expect(done.status).toBe(0);
    expect(done.stdout).toMatch(/\n3\nlisp> $/);
    expect(done.stderr).toMatch(/idle-time compaction is on: after 0 ms idle/);

    for (const name of ["a", "b"] as const) {
      const after = stored(world(dir, name));
      expect([...after.codecs]).toEqual([CODEC_IDS.zstd]);
      expect(after.digest).toBe(before[name].digest);
    }
    // No temporary file is left beside the worlds.
    expect(readdirSync(join(dir, "worlds")).sort()).toEqual(["a.amber", "b.amber"]);
    const again = await replScript([world(dir, "b")], "(+ x 2)\n(length l)\n:quit!\n");
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^(lisp> )+3\nlisp> 20000\nlisp> $/);
  });

  it("--no-idle-compact (and :compact auto off) leave the fast-saved worlds alone", async () => {
    const dir = machineDir();
    const r = inProcess(["--dir", dir, "--no-idle-compact"]);
    r.type(`${DEFINE.replace("(iota 20000)", "'(1 2 3)")}:save a --full\n:compact auto\n`);
    await r.until(/idle-time compaction is off/);
    r.type("(+ x 1)\n:quit!\n");
    const done = await r.finished;
    expect(done.stdout).toMatch(/lisp> 42\nlisp> $/);
    expect(done.stderr).not.toMatch(/in the background/);
    expect(stored(world(dir, "a")).codecs.has(CODEC_IDS.zstd)).toBe(false);
  });

  it("the bundled CLI compacts in a worker thread while typed lines are answered at once", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "amber-bundle-")), "amber.js");
    await bundle(out);
    const dir = machineDir();
    const r = drive(
      (input, stdout, stderr) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [out, "repl", "--dir", dir], {
            env: { ...process.env, AMBER_IDLE_COMPACT_MS: "0", NO_COLOR: "1" },
          });
          input.pipe(child.stdin);
          child.stdout.on("data", (d: Buffer) => stdout(d.toString("utf8")));
          child.stderr.on("data", (d: Buffer) => stderr(d.toString("utf8")));
          child.on("close", (code) => resolve(code ?? -1));
        }),
    );
    r.type(`:compact auto\n${IOTA}(define big (iota 100000))\n:save big --full\n`);
    await r.until(/in a worker thread/);
    await r.until(/saved big/);
    // Lines typed now (the compaction of big may be under way) are answered one by one.
    for (let i = 1; i <= 5; i++) {
      r.type(`(+ ${i} 1000)\n`);
      await r.until(new RegExp(`lisp> ${i + 1000}\\n`), "stdout");
    }
    await r.until(/compacted big in the background/);
    r.type("(length big)\n:quit!\n");
    const done = await r.finished;
    expect(done.status).toBe(0);
    expect(done.stdout).toMatch(/lisp> 100000\nlisp> $/);
    expect([...stored(world(dir, "big")).codecs]).toEqual([CODEC_IDS.zstd]);

    // Quitting right after a save (its compaction may be under way): only whole worlds remain.
    const quit = spawnSync(process.execPath, [out, "repl", dir], {
      input: "(set! big (iota 500))\n:save again --full\n:quit!\n",
      env: { ...process.env, AMBER_IDLE_COMPACT_MS: "0" },
      encoding: "utf8",
    });
    expect(quit.status).toBe(0);
    expect(quit.stderr).toMatch(/saved again/);
    for (const f of readdirSync(join(dir, "worlds"))) {
      if (f.startsWith(".")) continue; // a temporary file: ignored, removed by the next write
      expect(() => stored(join(dir, "worlds", f))).not.toThrow();
    }
    const resumed = await replScript([world(dir, "again")], "(length big)\n:quit!\n");
    expect(resumed.stdout).toMatch(/lisp> 500\nlisp> $/);
  }, 120_000);
});
