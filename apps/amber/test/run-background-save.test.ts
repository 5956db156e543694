import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { runCli, runCliAsync } from "./run-cli.js";

// `amber run` saves in the background: the guest waits only while its state is captured and
// the image encoded, then runs on while the file is written, synced and renamed into place.
// Whatever the timing, the run is the run QEMU gave and the image is the one a halted save
// at the same instruction writes.
const LISP = join(import.meta.dirname, "../../../tools/guests/lisp/out/lisp.elf");
let dir: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-run-background-save-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const digest = (file: string): string => JSON.parse(runCli(["inspect", "--json", file]).out).digest;

describe("amber run --save-at saves while the guest runs on", () => {
  for (const [name, at] of [
    ["hello", 5000],
    ["bench-short", 2_000_000],
  ] as const) {
    const guest = guests((g) => g.march === "rv32imac" && g.name === name)[0]!;
    it(`${name}: the output and status are QEMU's; the image is the halted save's and resumes to QEMU's output`, async () => {
      const running = join(dir, `${name}-running.amber`);
      const halted = join(dir, `${name}-halted.amber`);
      const on = await runCliAsync(["run", guest.elf, "--save-at", String(at), "--save-to", running]);
      expect(on.stdout).toBe(guest.expectedStdout.toString("latin1"));
      expect(on.status).toBe(guest.expectedExit);
      expect(on.stderr).toMatch(
        new RegExp(
          `^amber: saved ${running} \\(full\\): .* at instruction ${at.toLocaleString("en")}, in [\\d.]+ ms\\n$`,
        ),
      );

      const stopped = runCli([
        "run",
        guest.elf,
        "--save-at",
        String(at),
        "--save-to",
        halted,
        "--halt-after-save",
      ]);
      expect(stopped.status).toBe(0);
      expect(digest(running)).toBe(digest(halted));

      const resumed = runCli(["resume", running]);
      expect(stopped.stdout + resumed.stdout).toBe(guest.expectedStdout.toString("latin1"));
      expect(resumed.status).toBe(guest.expectedExit);
    });
  }
});

describe("the guest's save-world under amber run", () => {
  it("two saves in one run: the second waits for the first; each world resumes where it was saved", async () => {
    const worlds = join(dir, "worlds");
    rmSync(worlds, { recursive: true, force: true });
    mkdirSync(worlds);
    const first = await runCliAsync(
      ["run", LISP, "--worlds", worlds],
      '(define x 1)\n(save-world "a")\n(define x 2)\n(save-world "b")\n(exit 7)\n',
    );
    expect(first.status).toBe(7);
    const saved = first.stderr.trimEnd().split("\n");
    expect(saved).toHaveLength(2);
    expect(saved[0]).toMatch(/^amber: saved .*\/a\.amber \(full\): /);
    expect(saved[1]).toMatch(/^amber: saved .*\/b\.amber \(full\): /);

    // Each world goes on from its own save-world (answering #t) with the input it had
    // already read from the pipe: b only the (exit 7); a the rest of the lines, saving b again.
    const b = runCli(["resume", join(worlds, "b.amber")]);
    expect(b.stdout).toBe("#t\nlisp> ");
    expect(b.status).toBe(7);
    const a = await runCliAsync(["resume", join(worlds, "a.amber")]);
    expect(a.stdout).toBe("#t\nlisp> x\nlisp> #f\nlisp> ");
    expect(a.stderr).toMatch(/^amber: saved .*\/b\.amber \(incremental\): /);
    expect(a.status).toBe(7);
  });
});
