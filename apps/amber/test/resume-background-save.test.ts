import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { runCli, runCliAsync } from "./run-cli.js";

// `amber resume` saves in the background as `amber run` does (run-background-save.test.ts):
// the guest waits only while its state is captured and the image encoded, then runs on
// while the file is written, synced and renamed into place. Whatever the timing, the run is
// the run QEMU gave and the image is the one a halted save at the same instruction writes;
// a save that fails after the guest ran on is one line, exit 125, the previous file kept.
const LISP = join(import.meta.dirname, "../../../tools/guests/lisp/out/lisp.elf");
let dir: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-resume-background-save-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inspect = (file: string) => JSON.parse(runCli(["inspect", "--json", file]).out);
const hello = guests((g) => g.march === "rv32imac" && g.name === "hello")[0]!;

/**
 * Runs `f` with a tmpfs at `mount` (root only; false when it cannot be had) holding `files`
 * and no free byte more (every write there runs out of space), or mounted read-only.
 */
async function onSmallTmpfs(
  mount: string,
  files: Record<string, Buffer>,
  how: "full" | "read-only",
  f: () => Promise<void>,
): Promise<boolean> {
  mkdirSync(mount, { recursive: true });
  if (process.getuid?.() !== 0) return false;
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mount]).status !== 0) {
    if (process.env.CI === "true") throw new Error("cannot mount a small tmpfs to fill up");
    return false;
  }
  try {
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(mount, name), bytes);
    if (how === "read-only") {
      expect(spawnSync("mount", ["-o", "remount,ro", mount]).status).toBe(0);
    } else {
      const { bavail, bsize } = statfsSync(mount);
      try {
        writeFileSync(join(mount, "filler"), Buffer.alloc(Number(bavail) * Number(bsize), 0x55));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      }
      expect(statfsSync(mount).bavail).toBe(0);
    }
    await f();
    return true;
  } finally {
    spawnSync("umount", [mount]);
  }
}

describe("amber resume --save-at saves while the guest runs on", () => {
  for (const [name, first, at] of [
    ["hello", 2000, 5000],
    ["bench-short", 500_000, 2_000_000],
  ] as const) {
    const guest = guests((g) => g.march === "rv32imac" && g.name === name)[0]!;
    const expected = guest.expectedStdout.toString("latin1");
    for (const full of [false, true]) {
      const kind = full ? "full" : "incremental";
      it(`${name}, ${kind}: the output and status are QEMU's; the image is the halted save's and resumes to QEMU's output`, async () => {
        const base = join(dir, `${name}-${kind}-base.amber`);
        const running = join(dir, `${name}-${kind}-running.amber`);
        const halted = join(dir, `${name}-${kind}-halted.amber`);
        const made = runCli([
          "run",
          guest.elf,
          "--save-at",
          String(first),
          "--save-to",
          base,
          "--halt-after-save",
        ]);
        expect(made.status).toBe(0);
        const extra = full ? ["--full"] : [];

        const on = await runCliAsync([
          "resume",
          base,
          "--save-at",
          String(at),
          "--save-to",
          running,
          ...extra,
        ]);
        expect(made.stdout + on.stdout).toBe(expected);
        expect(on.status).toBe(guest.expectedExit);
        expect(on.stderr).toMatch(
          new RegExp(
            `^amber: saved ${running} \\(${kind}\\): .* at instruction ${at.toLocaleString("en")}, in [\\d.]+ ms\\n$`,
          ),
        );

        const stopped = runCli([
          "resume",
          base,
          "--save-at",
          String(at),
          "--save-to",
          halted,
          "--halt-after-save",
          ...extra,
        ]);
        expect(stopped.status).toBe(0);
        const image = inspect(running);
        expect(image.digest).toBe(inspect(halted).digest);
        expect(image.incremental).toBe(!full);
        if (!full) expect(image.parent).toBe(inspect(base).digest);

        const resumed = runCli(["resume", running]);
        expect(made.stdout + stopped.stdout + resumed.stdout).toBe(expected);
        expect(resumed.status).toBe(guest.expectedExit);
      });
    }
  }

  it("a save that runs out of space: one line, exit 125, the guest ran to its end, the previous file kept", async (ctx) => {
    const base = join(dir, "space-base.amber");
    const made = runCli(["run", hello.elf, "--save-at", "2000", "--save-to", base, "--halt-after-save"]);
    expect(made.status).toBe(0);
    const previous = readFileSync(base);
    const small = join(dir, "small-save-at");
    const target = join(small, "next.amber");
    const ran = await onSmallTmpfs(small, { "next.amber": previous }, "full", async () => {
      const r = await runCliAsync(["resume", base, "--save-at", "5000", "--save-to", target, "--full"]);
      expect(r.stderr).toMatch(/^amber: .*next\.amber: no space left on device while writing\n$/);
      expect(r.status).toBe(125);
      expect(made.stdout + r.stdout).toBe(hello.expectedStdout.toString("latin1"));
      expect(readFileSync(target).equals(previous)).toBe(true);
      expect(readdirSync(small).sort()).toEqual(["filler", "next.amber"]);
    });
    if (!ran) ctx.skip();
  });

  it("a read-only target: refused before the guest runs, one line, exit 125, the previous file kept", async (ctx) => {
    const base = join(dir, "ro-base.amber");
    expect(
      runCli(["run", hello.elf, "--save-at", "2000", "--save-to", base, "--halt-after-save"]).status,
    ).toBe(0);
    const previous = readFileSync(base);
    const ro = join(dir, "ro-save-at");
    const target = join(ro, "next.amber");
    const ran = await onSmallTmpfs(ro, { "next.amber": previous }, "read-only", async () => {
      const r = await runCliAsync(["resume", base, "--save-at", "5000", "--save-to", target]);
      expect(r.stderr).toBe(`amber: --save-to ${target}: cannot write in ${ro}: read-only file system\n`);
      expect(r.status).toBe(125);
      expect(r.stdout).toBe("");
      expect(readFileSync(target).equals(previous)).toBe(true);
      expect(readdirSync(ro)).toEqual(["next.amber"]);
    });
    if (!ran) ctx.skip();
  });
});

describe("the guest's save-world under amber resume", () => {
  let world: string;
  beforeAll(async () => {
    // Smalltalk's snapshot idiom: the saving session exits, the resumed one goes on.
    const worlds = join(dir, "lisp");
    mkdirSync(worlds);
    const first = await runCliAsync(
      ["run", LISP, "--worlds", worlds],
      '(define x 41)\n(if (save-world "w") (quote resumed) (exit 5))\n',
    );
    expect(first.status).toBe(5);
    world = join(worlds, "w.amber");
  });

  it("two saves in one resume, each incremental: the second waits for the first; each resumes where it was saved", async () => {
    const session = await runCliAsync(
      ["resume", world],
      '(define y 3)\n(save-world "c")\n(define y 4)\n(save-world "d")\n(list x y)\n(exit 6)\n',
    );
    expect(session.stdout).toBe("resumed\nlisp> y\nlisp> #f\nlisp> y\nlisp> #f\nlisp> (41 4)\nlisp> ");
    expect(session.status).toBe(6);
    const saved = session.stderr.trimEnd().split("\n");
    expect(saved).toHaveLength(2);
    expect(saved[0]).toMatch(/^amber: saved .*\/c\.amber \(incremental\): /);
    expect(saved[1]).toMatch(/^amber: saved .*\/d\.amber \(incremental\): /);
    const parent = inspect(world).digest;
    const c = join(dir, "lisp", "c.amber");
    const d = join(dir, "lisp", "d.amber");
    expect(inspect(c).parent).toBe(parent);
    expect(runCli(["verify", d]).status).toBe(0);

    // Each world goes on from its own save-world (answering #t) with the input it had
    // already read from the pipe: d only what followed it; c the rest, saving d again.
    const fromD = runCli(["resume", d]);
    expect(fromD.stdout).toBe("#t\nlisp> (41 4)\nlisp> ");
    expect(fromD.status).toBe(6);
    const fromC = await runCliAsync(["resume", c]);
    expect(fromC.stdout).toBe("#t\nlisp> y\nlisp> #f\nlisp> (41 4)\nlisp> ");
    expect(fromC.stderr).toMatch(/^amber: saved .*\/d\.amber \(incremental\): [^\n]*\n$/);
    expect(fromC.status).toBe(6);
    expect(runCli(["resume", d]).stdout).toBe(fromD.stdout);
  });

  it("a save-world that runs out of space: one line, exit 125, the guest went on, the previous world kept", async (ctx) => {
    const small = join(dir, "small-worlds");
    const previous = readFileSync(world);
    const ran = await onSmallTmpfs(small, { "e.amber": previous }, "full", async () => {
      const r = await runCliAsync(
        ["resume", world, "--worlds", small],
        '(save-world "e")\n(+ 1 2)\n(exit 3)\n',
      );
      expect(r.stdout).toBe("resumed\nlisp> #f\nlisp> 3\nlisp> ");
      expect(r.stderr).toMatch(
        /^amber: the guest's save-world: .*e\.amber: no space left on device while writing\n$/,
      );
      expect(r.status).toBe(125);
      expect(readFileSync(join(small, "e.amber")).equals(previous)).toBe(true);
      expect(readdirSync(small).sort()).toEqual(["e.amber", "filler"]);
    });
    if (!ran) ctx.skip();
  });
});
