import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";

let tmp: string;
let cli: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "amber-kill-"));
  cli = await bundle(join(tmp, "dist", "amber.js"));
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the bundled CLI with `input` on stdin to the end. */
function amber(args: string[], input = "") {
  return spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8", cwd: tmp });
}

/**
 * Starts the REPL, writes `input` once the guest's prompt shows, SIGKILLs it `when.ms` later
 * or, with `when.tempIn`, as soon as a save's temporary file appears in that directory (a
 * kill in the middle of writing, however fast or loaded the machine).
 */
function killDuringSave(
  args: string[],
  input: string,
  when: { ms: number } | { tempIn: string },
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: tmp, stdio: ["pipe", "pipe", "pipe"] });
    const watcher =
      "tempIn" in when
        ? watch(when.tempIn, (_event, file) => {
            if (file?.startsWith(".latest.amber.tmp-")) child.kill("SIGKILL");
          })
        : undefined;
    let out = "";
    let err = "";
    let sent = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes("lisp> ")) {
        sent = true;
        child.stdin.write(input);
        if ("ms" in when) setTimeout(() => child.kill("SIGKILL"), when.ms);
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", () => {
      clearTimeout(guard);
      watcher?.close();
      resolve(err);
    });
  });
}

const BUILD = "(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))";

describe("killing amber during a :save", () => {
  it("leaves every world that was saved before resumable and sound, at many kill points", async () => {
    const dir = join(tmp, "m");
    // A world with a large heap, so that a full save takes a while.
    const setup = amber(
      ["repl", "--dir", dir],
      `${BUILD}\n(define big (build 60000 '()))\n(length big)\n:save base\n:quit\n`,
    );
    expect(setup.status).toBe(0);
    expect(setup.stdout).toMatch(/60000/);
    const timing = amber(["repl", join(dir, "worlds", "base.amber")], ":save latest --full\n:quit\n");
    // The save pauses the guest P ms and the image is durable after D ms (written meanwhile).
    const saveMs = Number(
      (/durable after ([0-9.]+) ms/.exec(timing.stderr) ?? /in ([0-9.]+) ms/.exec(timing.stderr))![1],
    );
    expect(timing.status).toBe(0);

    // Kill points spread from before the save starts to after it ends, timed from that save;
    // then kills as the temporary file appears, which land mid-write whatever the load.
    const timed = 8;
    const points = timed + 3;
    let completed = 0;
    let interrupted = 0;
    for (let i = 0; i < points; i++) {
      const when =
        i < timed ? { ms: Math.round((i * (saveMs + 40)) / (timed - 1)) } : { tempIn: join(dir, "worlds") };
      const err = await killDuringSave(
        ["repl", join(dir, "worlds", "base.amber")],
        `(define k ${i})\n:save latest --full\n`,
        when,
      );
      if (/saved latest/.test(err)) completed++;
      // A save SIGKILLed while writing leaves its temporary file behind, never a damaged image.
      if (readdirSync(join(dir, "worlds")).some((f) => f.startsWith(".latest.amber.tmp-"))) interrupted++;
      // Whatever the kill interrupted, what is on disk is sound: the old world or the new one.
      const worlds = readdirSync(join(dir, "worlds")).filter((f) => !f.startsWith("."));
      expect(worlds.sort()).toEqual(["base.amber", "latest.amber"]);
      expect(amber(["verify", join(dir, "worlds", "latest.amber")]).status).toBe(0);
      const config = JSON.parse(readFileSync(join(dir, "machine.json"), "utf8"));
      expect(["base", "latest"]).toContain(config.current);
      const resumed = amber(["repl", join(dir, "worlds", "latest.amber")], "(length big)\n:quit!\n");
      expect(resumed.status).toBe(0);
      expect(resumed.stdout).toMatch(/^lisp> 60000\n/);
    }
    expect(amber(["verify", join(dir, "worlds", "base.amber")]).status).toBe(0);
    // Some kills landed before the save finished, some after, some in the middle of writing.
    expect(completed).toBeLessThan(points);
    expect(interrupted).toBeGreaterThan(0);
    // Temporary files of interrupted saves never pass for worlds (:saves lists only the two),
    // and reopening the machine directory clears them away.
    const listed = amber(["repl", dir], ":saves\n:quit!\n");
    expect(
      listed.stdout
        .match(/^[* ] \S+/gm)!
        .map((l) => l.slice(2))
        .sort(),
    ).toEqual(["base", "latest"]);
    expect(existsSync(join(dir, "worlds", "base.amber"))).toBe(true);
    expect(readdirSync(join(dir, "worlds")).sort()).toEqual(["base.amber", "latest.amber"]);
  }, 120_000);
});
