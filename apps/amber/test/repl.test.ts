import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replScript } from "./repl-script.js";
import { runCli } from "./run-cli.js";

let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh machine directory path (not created: the first :save creates it). */
let n = 0;
const machineDir = () => join(tmp, `m${++n}`);

describe("amber repl: the Lisp world", () => {
  it("boots the default Lisp world, evaluates lines and quits on :quit", async () => {
    const r = await replScript(
      ["--dir", machineDir()],
      "(+ 1 2)\n(define (square x) (* x x))\n(square 12)\n:quit\n",
    );
    expect(r.stdout).toContain("Amber Lisp");
    expect(r.stdout).toMatch(/lisp> 3\n/);
    expect(r.stdout).toMatch(/lisp> 144\n/);
    expect(r.stderr).toMatch(/booting lisp\.elf on a 128 MiB virt board/);
    // :quit asked about unsaved work; the script had no answer: not quitting, then end of input.
    expect(r.stderr).toMatch(/discards unsaved work/);
    expect(r.status).toBe(0);
  });

  it("a world saved with :save resumes with its definitions, in a machine directory", async () => {
    const dir = machineDir();
    const first = await replScript(["--dir", dir], "(define (square x) (* x x))\n:save base\n:quit\n");
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/saved base \(full\): .* at instruction [0-9,]+/);
    expect(first.stderr).not.toMatch(/discards unsaved work/);
    expect(existsSync(join(dir, "worlds", "base.amber"))).toBe(true);
    expect(existsSync(join(dir, "program.elf"))).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, "machine.json"), "utf8"));
    expect(config).toMatchObject({
      amberMachine: 1,
      ram: 128 << 20,
      program: "program.elf",
      current: "base",
    });

    const again = await replScript([dir], "(square 12)\n:quit!\n");
    expect(again.stderr).toMatch(/resuming base at instruction/);
    // The prompt saved with the world is shown again, then the guest answers.
    expect(again.stdout).toBe("lisp> 144\nlisp> ");
    expect(again.status).toBe(0);
  });

  it("the second save is incremental on the first and much smaller; :saves lists both", async () => {
    const dir = machineDir();
    await replScript(["--dir", dir], "(define (square x) (* x x))\n:save base\n:quit\n");
    const r = await replScript([dir], "(define (cube x) (* x (square x)))\n:save next\n:saves\n:quit\n");
    expect(r.stderr).toMatch(/saved next \(incremental on base\)/);
    expect(r.stdout).toMatch(/\* next +\S+ \S+ +[0-9.]+ KiB +on base/);
    expect(r.stdout).toMatch(/ {2}base +\S+ \S+ +[0-9.]+ KiB +\(full\)/);
    const full = statSync(join(dir, "worlds", "base.amber")).size;
    const incremental = statSync(join(dir, "worlds", "next.amber")).size;
    expect(incremental).toBeLessThan(full / 4);
    // The chain resumes: both definitions are there.
    const later = await replScript([dir], "(cube 3)\n(square 5)\n:quit!\n");
    expect(later.stdout).toBe("lisp> 27\nlisp> 25\nlisp> ");
    // Worlds are ordinary checkpoints.
    expect(runCli(["verify", join(dir, "worlds", "next.amber")]).status).toBe(0);
  });

  it(":compact recompresses the saved worlds to zstd in place, digests kept; :restore and the chain still work", async () => {
    const dir = machineDir();
    const worlds = join(dir, "worlds");
    const r = await replScript(
      ["--dir", dir],
      "(define a 1)\n:save one\n(set! a 2)\n:save two\n:saves\n:compact\n:saves\n:compact\n:restore one\na\n:quit\n",
    );
    expect(r.status).toBe(0);
    // Saves store pages as they are (codec none): the full world shrinks a lot, digests stay.
    expect(r.stderr).toMatch(/compacted one: [0-9.]+ [KM]iB → [0-9.]+ [KM]iB, digest kept/);
    expect(r.stderr).toMatch(/compacted two: /);
    expect(r.stderr).toMatch(/2 worlds compacted, [0-9.]+ [KM]iB saved/);
    // The second :compact finds nothing left to do.
    expect(r.stderr).toMatch(/nothing to compact: every world is stored compressed/);
    const digests = [...r.stdout.matchAll(/ (one|two) .* ([0-9a-f]{12})\n/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(digests.length).toBe(4);
    expect(digests.slice(2).sort()).toEqual(digests.slice(0, 2).sort());
    expect(r.stderr).toMatch(/restored one at instruction/);
    expect(r.stdout.trimEnd().endsWith("1\nlisp>")).toBe(true);
    // Compacted worlds are whole checkpoints; the incremental one still finds its parent.
    for (const w of ["one", "two"]) expect(runCli(["verify", join(worlds, `${w}.amber`)]).status).toBe(0);
    // A new session resumes the current world (one, restored last) from its compacted file.
    const later = await replScript([dir], "a\n:quit!\n");
    expect(later.stderr).toMatch(/resuming one at instruction/);
    expect(later.stdout).toBe("lisp> 1\nlisp> ");
  });

  it(":restore goes back to an earlier world; :diff names what differs", async () => {
    const dir = machineDir();
    const r = await replScript(
      ["--dir", dir],
      "(define a 1)\n:save one\n(set! a 2)\n:save two\n:diff one two\n:restore one\na\n:quit\n",
    );
    expect(r.stdout).toMatch(/instructions: \d+ vs \d+/);
    expect(r.stdout).toMatch(/ram: \d+ pages? differ/);
    expect(r.stderr).toMatch(/restored one at instruction/);
    expect(r.stdout.trimEnd().endsWith("1\nlisp>")).toBe(true);
    expect(r.status).toBe(0);
  });

  it(":restore asks before discarding unsaved work and keeps the world on no", async () => {
    const dir = machineDir();
    const r = await replScript(
      ["--dir", dir],
      "(define a 1)\n:save one\n(set! a 5)\n:restore one\nn\na\n:quit!\n",
    );
    expect(r.stderr).toMatch(/restoring one discards unsaved work \([0-9,]+ instructions since one\)/);
    expect(r.stderr).toMatch(/not restored/);
    expect(r.stdout.trimEnd().endsWith("5\nlisp>")).toBe(true);
  });

  it("monitor: :regs, :mem, :disas, :step, :break, :continue, :stats, :help", async () => {
    const r = await replScript(
      ["--dir", machineDir()],
      ":regs\n:mem 0x80000000 20\n:disas pc 3\n:step 2\n:stats\n:break pc\n:break\n:break clear\n:continue\n(+ 2 2)\n:help\n:quit!\n",
    );
    expect(r.stdout).toMatch(/x2\/sp [0-9a-f]{8}/);
    expect(r.stdout).toMatch(/pc 8[0-9a-f]{7} {2}priv M {2}instructions \d+/);
    expect(r.stdout).toMatch(/mstatus [0-9a-f]{8}/);
    expect(r.stdout).toMatch(/^80000000 {2}([0-9a-f]{2} ){8} ([0-9a-f]{2} ?){8} +\|.{16}\|$/m);
    expect(r.stdout).toMatch(/^80000010 {2}([0-9a-f]{2} ){3}[0-9a-f]{2} +\|.{4}\|$/m);
    expect(r.stdout).toMatch(/^=> 0x8[0-9a-f]{7} {2}[0-9a-f]{4,8} +\S+/m);
    expect(r.stderr).toMatch(/paused at 0x8[0-9a-f]{7}: [0-9a-f]{4,8} +\S+.* \(:continue to run on\)/);
    expect(r.stdout).toMatch(/state +paused/);
    expect(r.stdout).toMatch(/pages touched +\d+/);
    expect(r.stderr).toMatch(/1 breakpoint \(the guest runs single-stepped/);
    expect(r.stderr).toMatch(/0 breakpoints/);
    expect(r.stdout).toMatch(/\n4\nlisp> /);
    expect(r.stdout).toMatch(/:save \[NAME\] \[--full\] \[--compact\] +save the world/);
    expect(r.status).toBe(0);
  });

  it("a breakpoint stops the guest where it is set; :continue runs on", async () => {
    // The Lisp idles in wfi between lines: a breakpoint on its UART read loop stops it once a line comes.
    const probe = await replScript(["--dir", machineDir()], ":step 1\n:quit!\n");
    const pc = /paused at (0x[0-9a-f]{8})/.exec(probe.stderr)![1]!;
    const r = await replScript(
      ["--dir", machineDir()],
      `:break ${pc}\n:continue\n(* 6 7)\n:regs\n:break clear\n:continue\n:quit!\n`,
    );
    expect(r.stderr).toMatch(new RegExp(`breakpoint at ${pc}`));
    expect(r.stdout).toMatch(/\n42\nlisp> /);
  });

  it("bad monitor input is one line and the world goes on", async () => {
    const r = await replScript(
      ["--dir", machineDir()],
      ":frobnicate\n:s\n:mem 0x10\n:mem zz\n:restore nowhere\n:save ../evil\n:balloon 4M\n(+ 40 2)\n:b\n:quit!\n",
    );
    expect(r.stderr).toMatch(/no monitor command :frobnicate/);
    expect(r.stderr).toMatch(/:s is ambiguous: :save :saves :step :stats/);
    expect(r.stderr).toMatch(/0x00000010 is not RAM or ROM/);
    expect(r.stderr).toMatch(/cannot read "zz" as a number/);
    expect(r.stderr).toMatch(/no world "nowhere" \(none saved yet/);
    expect(r.stderr).toMatch(/"..\/evil" is not a world name/);
    expect(r.stderr).toMatch(/this machine has no memory balloon \(amber run --balloon boots one/);
    // (":b" is ":break", as in gdb, though ":balloon" shares its letter.)
    expect(r.stdout).toMatch(/lisp> no breakpoints\n/);
    expect(r.stdout).toMatch(/lisp> 42\n/);
    expect(r.status).toBe(0);
  });

  it("a failed save says why and loses nothing: the world runs on and the old world stays", async () => {
    const dir = machineDir();
    await replScript(["--dir", dir], "(define (square x) (* x x))\n:save base\n:quit\n");
    // A directory where the image file should go: the rename into place fails.
    mkdirSync(join(dir, "worlds", "blocked.amber"));
    const r = await replScript([dir], "(define k 7)\n:save blocked\n(square k)\n:save ok\n:quit\n");
    expect(r.stderr).toMatch(/blocked\.amber/);
    expect(r.stdout).toMatch(/49\n/);
    expect(r.stderr).toMatch(/saved ok \(incremental on base\)/);
    expect(runCli(["verify", join(dir, "worlds", "base.amber")]).status).toBe(0);
  });

  it("refuses to overwrite a world that another world depends on", async () => {
    const dir = machineDir();
    const r = await replScript(
      ["--dir", dir],
      "(define x 1)\n:save a\n(define y 2)\n:save b\n:save a\n:quit\n",
    );
    expect(r.stderr).toMatch(/a is the parent of b: overwriting it would break them/);
    expect(runCli(["verify", join(dir, "worlds", "b.amber")]).status).toBe(0);
  });

  it("a damaged world or a missing parent is a clear error naming the file", async () => {
    const dir = machineDir();
    await replScript(["--dir", dir], "(define x 1)\n:save a\n(define y 2)\n:save b\n:quit\n");
    const bytes = readFileSync(join(dir, "worlds", "a.amber"));
    writeFileSync(join(dir, "worlds", "broken.amber"), bytes.subarray(0, 100));
    const r = await replScript([dir], ":restore broken\ny\n(+ x y)\n:quit!\n");
    expect(r.stderr).toMatch(/broken\.amber/);
    expect(r.stdout).toMatch(/3\n/);

    rmSync(join(dir, "worlds", "a.amber"));
    const missing = await replScript([dir], ":quit\n");
    expect(missing.status).toBe(125);
    expect(missing.stderr).toMatch(/^amber: .*b\.amber.*parent/m);
    expect(missing.stderr).not.toMatch(/\n {4}at /);
  });

  it("the guest powering off ends the session with its status", async () => {
    const r = await replScript(["--dir", machineDir()], "(exit 3)\n");
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/the guest powered off \(exit 3\)/);
  });

  it("resumes a world image given directly, and boots a given ELF", async () => {
    const dir = machineDir();
    await replScript(["--dir", dir], "(define z 9)\n:save w\n:quit\n");
    const r = await replScript([join(dir, "worlds", "w.amber")], "z\n:quit!\n");
    expect(r.stdout).toBe("lisp> 9\nlisp> ");
    const elf = join(dir, "program.elf");
    const booted = await replScript([elf, "--dir", machineDir()], "(+ 1 1)\n:quit!\n");
    expect(booted.stdout).toMatch(/lisp> 2\n/);
    // A machine directory whose program has gone: one line naming it, no stack trace.
    const bare = machineDir();
    await replScript(["--dir", bare], ":save w\n:quit\n");
    const config = JSON.parse(readFileSync(join(bare, "machine.json"), "utf8"));
    delete config.current;
    writeFileSync(join(bare, "machine.json"), JSON.stringify(config));
    rmSync(join(bare, "program.elf"));
    const gone = await replScript([bare], "");
    expect(gone.status).toBe(125);
    expect(gone.stderr).toMatch(/^amber: .*program\.elf: cannot read: no such file$/m);
    const nothing = await replScript([join(tmp, "no-such")], "");
    expect(nothing.status).toBe(125);
    expect(nothing.stderr).toMatch(/no-such: no such file or directory/);
  });

  it("in a script, a monitor command waits until the guest has finished the lines before it", async () => {
    const dir = machineDir();
    const r = await replScript(
      ["--dir", dir],
      "(define (loop n acc) (if (= n 0) acc (loop (- n 1) (+ acc 1))))\n(loop 20000 0)\n:save after\n:quit\n",
    );
    expect(r.stdout).toMatch(/20000\nlisp> $/);
    const again = await replScript([dir], "(loop 5 0)\n:quit!\n");
    expect(again.stdout).toBe("lisp> 5\nlisp> ");
  });
});
