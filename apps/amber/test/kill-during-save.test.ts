import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint, isCheckpointError } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { runCli } from "./run-cli.js";

/**
 * Real crashes in the middle of a save: the bundled CLI saves a machine with 8 MiB of
 * incompressible RAM over an existing good image and is SIGKILLed at points spread over
 * the save. After every kill the previous image must still verify and resume to its
 * result (or, killed after the rename, the new one must), and a leftover temporary file
 * must never pass for an image.
 */

const HELLO = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/hello.elf", import.meta.url));
const KILLS = 20;
let dir: string;
let amber: string;
let initrd: string;

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-kill-"));
  amber = join(dir, "amber.js");
  await bundle(amber);
  initrd = join(dir, "noise.bin");
  writeFileSync(initrd, randomBytes(8 << 20));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `amber run` of hello with the noise as initrd, saving after `at` steps to `to`. */
const saveArgs = (at: number, to: string, extra: string[] = []): string[] => [
  amber,
  "run",
  "--kernel",
  HELLO,
  "--initrd",
  initrd,
  "--ram",
  "256M",
  "--save-at",
  String(at),
  "--save-to",
  to,
  "--halt-after-save",
  ...extra,
];

/**
 * Runs node with `args` in `cwd`'s terms (the image is saved in `watchDir`). With `killAt`,
 * SIGKILLs it `killAt(saveMs)` ms after its temporary file appears. Resolves with when the
 * temporary file appeared and when the process ended (ms from its start).
 */
function run(
  args: string[],
  watchDir: string,
  killAt?: number,
): Promise<{ tempAt: number | undefined; ms: number; status: number | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let tempAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const child = spawn(process.execPath, args, { stdio: "ignore" });
    const watcher = watch(watchDir, (_event, name) => {
      if (tempAt !== undefined || !name?.includes(".tmp-")) return;
      tempAt = performance.now() - started;
      if (killAt !== undefined) timer = setTimeout(() => child.kill("SIGKILL"), killAt);
    });
    child.on("error", reject);
    child.on("exit", (status) => {
      clearTimeout(timer);
      watcher.close();
      resolve({ tempAt, ms: performance.now() - started, status });
    });
  });
}

/** The image's digest after a full verify, or the error code that refused it. */
function check(file: string): { digest?: string; refused?: string } {
  try {
    const r = openCheckpoint(file);
    try {
      r.verify();
      return { digest: r.digest };
    } finally {
      r.close();
    }
  } catch (e) {
    if (isCheckpointError(e)) return { refused: e.code };
    throw e;
  }
}

describe("SIGKILL during a save", () => {
  it(`${KILLS} kills spread over a save never cost the previous image`, async () => {
    const target = join(dir, "world.ambc");
    const elsewhere = join(dir, "next");
    mkdirSync(elsewhere);
    const next = join(elsewhere, "world.ambc");
    // The good image (after 1000 steps) and, elsewhere, the one the killed saves write (3000).
    const first = await run(saveArgs(1000, target), dir);
    expect(first.status).toBe(0);
    const good = readFileSync(target);
    const goodDigest = check(target).digest!;
    const goodResume = runCli(["resume", target]);
    expect(goodResume.status).toBe(0);
    const full = await run(saveArgs(3000, next), elsewhere);
    expect(full.status).toBe(0);
    const nextDigest = check(next).digest!;
    const nextResume = runCli(["resume", next]);
    expect(nextResume.stdout).not.toBe(goodResume.stdout);
    // How long a save takes, from its temporary file appearing to the process's end (the
    // shorter of two, so that the kills land inside the save even when it runs faster).
    const saveMs = Math.min(full.ms - full.tempAt!, first.ms - first.tempAt!);

    // Two saves at a time (each in its own directory), killed at points spread over the save
    // and, for the last two, just after it.
    const seen = { partial: 0, completeTemp: 0, renamed: 0, untouched: 0 };
    const trial = async (k: number, worker: number): Promise<void> => {
      let where = `kill ${k}`;
      const d = join(dir, `w${worker}`);
      mkdirSync(d, { recursive: true });
      const file = join(d, "world.ambc");
      writeFileSync(file, good);
      const at = ((k + 0.5) / (KILLS - 2)) * saveMs;
      const r = await run(saveArgs(3000, file), d, at);
      where = `${where} at ${at.toFixed(0)} of ${saveMs.toFixed(0)} ms (status ${r.status})`;

      // The image at the target is whole: the previous one, or (killed after the rename) the new one.
      const now = check(file);
      expect(now.refused, where).toBeUndefined();
      expect([goodDigest, nextDigest], where).toContain(now.digest);
      const resumed = runCli(["resume", file]);
      const expected = now.digest === goodDigest ? goodResume : nextResume;
      expect(resumed.status, where).toBe(expected.status);
      expect(resumed.stdout, where).toBe(expected.stdout);

      // A leftover temporary file is named apart and is refused, unless it is the whole new
      // image. At most one: each save removes those its killed predecessors left.
      const temps = readdirSync(d).filter((f) => f !== "world.ambc");
      expect(temps.length, where).toBeLessThanOrEqual(1);
      for (const t of temps) {
        expect(t, where).toMatch(/^\.world\.ambc\.tmp-/);
        const c = check(join(d, t));
        if (c.digest !== undefined) {
          expect(c.digest, where).toBe(nextDigest);
          seen.completeTemp++;
        } else {
          expect(["BAD_MAGIC", "TRUNCATED", "CHECKSUM_MISMATCH", "CORRUPT"], where).toContain(c.refused);
          seen.partial++;
        }
      }
      if (now.digest === nextDigest) seen.renamed++;
      else if (temps.length === 0) seen.untouched++;
    };
    let nextKill = 0;
    const worker = async (w: number): Promise<void> => {
      while (nextKill < KILLS) await trial(nextKill++, w);
    };
    await Promise.all([0, 1].map(worker));
    // A save that completes leaves no temporary file behind, its own or a killed one's.
    const d = join(dir, "w0");
    writeFileSync(join(d, ".world.ambc.tmp-2147483646-x"), "left by a killed save");
    expect((await run(saveArgs(1000, join(d, "world.ambc")), d)).status).toBe(0);
    expect(readdirSync(d)).toEqual(["world.ambc"]);
    expect(check(join(d, "world.ambc")).digest).toBe(goodDigest);
    // Kills did land inside the write (a temporary file left), not only after the rename.
    expect(seen.partial + seen.completeTemp, JSON.stringify(seen)).toBeGreaterThanOrEqual(KILLS / 4);
  }, 120_000);
});
