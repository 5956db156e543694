import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const LISP = "tools/guests/lisp/out/lisp.elf";
const dir = mkdtempSync(join(tmpdir(), "amber-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initCheckpoint();
});

describe("amber run --record and amber replay", () => {
  it("replays a console session instruction for instruction: same output, same end, same state", () => {
    const log = join(dir, "lisp.log");
    const recorded = runCli(["run", LISP, "--record", log], "(define (sq x) (* x x))\n(sq 12)\n");
    expect(recorded.stdout).toContain("144");
    const text = readFileSync(log, "utf8");
    expect(JSON.parse(text).events.length).toBeGreaterThan(0);
    const replayed = runCli(["replay", log]);
    expect(replayed.stderr).toMatch(
      /matches the recording: \d+ instructions, \d+ inputs, console output identical/,
    );
    expect(replayed.stdoutBytes).toEqual(recorded.stdoutBytes);
    expect(replayed.status).toBe(recorded.status);
    const verdict = JSON.parse(runCli(["replay", log, "--json"]).stdout);
    expect(verdict.matches).toBe(true);
  });

  it("says what differs when the log was tampered with, and refuses a damaged log in one line", () => {
    const log = join(dir, "lisp.log");
    const good = JSON.parse(readFileSync(log, "utf8"));
    const bad = {
      ...good,
      events: good.events.map((e: { at: number }, i: number) => (i === 0 ? { ...e, at: e.at + 1 } : e)),
    };
    const tampered = join(dir, "tampered.log");
    writeFileSync(tampered, JSON.stringify(bad));
    const r = runCli(["replay", tampered]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(
      /differs from the recording: the guest asked for input at step \d+, the recording has it at \d+/,
    );
    writeFileSync(tampered, '{"format":"amber-replay","version":1,"start":{}}');
    const damaged = runCli(["replay", tampered]);
    expect(damaged.status).toBe(125);
    expect(damaged.stderr).toBe(
      `amber: ${tampered}: not an Amber replay log: "start" must hold file, args, cmdline, options and files (path, sha256)\n`,
    );
  });

  it("bisect: two runs differing in one input byte differ first right after the instruction that read it", () => {
    const logA = join(dir, "a.log");
    const logB = join(dir, "b.log");
    expect(runCli(["run", LISP, "--record", logA], "(* 6 7)\n").stdout).toContain("42");
    expect(runCli(["run", LISP, "--record", logB], "(* 6 8)\n").stdout).toContain("48");
    const events = JSON.parse(readFileSync(logA, "utf8")).events as { at: number; stdin: string | null }[];
    // The UART takes host input into its FIFO during an instruction, only as much as it has room
    // for (flow control): the reads add up to the line, and one of them takes the differing byte.
    const reads = events.filter((e) => e.stdin !== null);
    expect(reads.map((e) => Buffer.from(e.stdin!, "base64").toString()).join("")).toBe("(* 6 7)\n");
    const differing = "(* 6 ".length;
    let taken = 0;
    const read = reads.find((e) => {
      taken += Buffer.from(e.stdin!, "base64").length;
      return taken > differing;
    })!;
    const r = runCli(["bisect", logA, logB, "--json"]);
    expect(r.status).toBe(0);
    const found = JSON.parse(r.stdout);
    expect(found.differ).toBe(true);
    expect(found.instruction).toBe(read.at + 1);
    // The instruction that read it: a load from the UART's registers.
    expect(found.disassembly).toMatch(/^l[bhw]u?\s/);
    expect(found.diff.parts).toContain("uart");
    const text = runCli(["bisect", logA, logB]);
    expect(text.stdout).toMatch(new RegExp(`^first difference after instruction ${read.at + 1}: `));
    expect(text.stdout).toMatch(
      /pc 0x[0-9a-f]{8} \(M-mode\): 0x[0-9a-f]{8} lbu a5,5\(a4\)\n {2}state of: uart\n$/,
    );
    // A run against itself: no difference.
    expect(runCli(["bisect", logA, logA]).stderr).toMatch(
      /the two runs are in the same state up to instruction \d+/,
    );
  });

  it("a saved image plus a log recorded from it replays too (resume IMAGE --record)", () => {
    const image = join(dir, "booted.amber");
    expect(runCli(["run", LISP, "--save-at", "50000", "--save-to", image, "--halt-after-save"]).status).toBe(
      0,
    );
    const log = join(dir, "resumed.log");
    const recorded = runCli(["resume", image, "--record", log], "(+ 40 2)\n");
    expect(recorded.stdout).toContain("42");
    expect(JSON.parse(readFileSync(log, "utf8")).start.image.path).toBe(image);
    const replayed = runCli(["replay", log]);
    expect(replayed.stderr).toMatch(/matches the recording/);
    expect(replayed.stdoutBytes).toEqual(recorded.stdoutBytes);
    expect(replayed.status).toBe(recorded.status);
  });
});
