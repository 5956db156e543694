import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replScript } from "./repl-script.js";

let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-full-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(":save on a disk that fills up while the image is written in the background", () => {
  it("says so in one line, keeps the previous world and the guest running; the next save works", async (ctx) => {
    const src = join(tmp, "src");
    const first = await replScript(["--dir", src], "(define (sq x) (* x x))\n:save base\n:quit\n");
    expect(first.status).toBe(0);
    const base = join(src, "worlds", "base.amber");
    const size = statSync(base).size;
    const digest = digestOf(base);

    // A file system with room for the machine directory and half a world more: a second
    // full save runs out of space in the middle of its (background) writes.
    const small = join(tmp, "small");
    mkdirSync(small);
    if (process.getuid?.() !== 0) {
      ctx.skip();
      return;
    }
    const kib = Math.ceil((size * 1.5 + 64 * 1024) / 4096) * 4;
    if (spawnSync("mount", ["-t", "tmpfs", "-o", `size=${kib}k`, "tmpfs", small]).status !== 0) {
      if (process.env.CI === "true") throw new Error("cannot mount a small tmpfs to fill up");
      ctx.skip();
      return;
    }
    try {
      const m = join(small, "m");
      cpSync(src, m, { recursive: true });
      const r = await replScript([m], "(sq 12)\n:save again --full\n(sq 5)\n:save inc\n(sq 6)\n:quit\n");
      expect(r.stdout).toMatch(/144/);
      expect(r.stdout).toMatch(/25/);
      expect(r.stdout).toMatch(/36/);
      const failed = r.stderr.split("\n").filter((l) => l.includes("again"));
      expect(failed).toEqual([
        expect.stringMatching(/^amber: .*worlds\/again\.amber: no space left on device while writing$/),
      ]);
      // The incremental save after it is on the world it came from, which is still whole.
      expect(r.stderr).toMatch(/saved inc \(incremental on base\)/);
      expect(r.status).toBe(0);
      const worlds = readdirSync(join(m, "worlds")).sort();
      expect(worlds).toEqual(["base.amber", "inc.amber"]);
      expect(digestOf(join(m, "worlds", "base.amber"))).toBe(digest);
      const inc = openCheckpoint(join(m, "worlds", "inc.amber"));
      expect(inc.parent?.digest).toBe(digest);
      inc.verify();
      inc.close();
      expect(JSON.parse(readFileSync(join(m, "machine.json"), "utf8")).current).toBe("inc");
    } finally {
      spawnSync("umount", [small]);
    }
  }, 60_000);
});

function digestOf(file: string): string {
  const r = openCheckpoint(file);
  try {
    return r.digest;
  } finally {
    r.close();
  }
}
