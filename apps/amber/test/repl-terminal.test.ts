import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { HAVE_TMUX, TmuxTerminal } from "./tmux-terminal.js";

let tmp: string;
let cli: string;
const terminals: TmuxTerminal[] = [];
const open = (name: string, args: string): TmuxTerminal => {
  const t = TmuxTerminal.start(`amber-test-${process.pid}-${name}`, `node ${cli} ${args}`, tmp);
  terminals.push(t);
  return t;
};

beforeAll(async () => {
  if (!HAVE_TMUX) return;
  tmp = mkdtempSync(join(tmpdir(), "amber-tty-"));
  cli = await bundle(join(tmp, "dist", "amber.js"));
}, 60_000);
afterAll(() => {
  for (const t of terminals) t.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// A user at a real terminal (tmux): the bundled CLI, as `pnpm start` runs it.
describe.skipIf(!HAVE_TMUX)("amber repl at a terminal", () => {
  it("define, :save, quit; start again from the saved world and get the same answer; then an incremental save", async () => {
    const a = open("a", "repl --dir world");
    await a.waitFor(/Amber Lisp.*\n.*lisp> $/m);
    a.line('(define (greet name) (string-append "hello, " name))');
    await a.waitFor(/^greet$/m);
    a.line('(greet "world")');
    await a.waitFor(/^"hello, world"$/m);
    a.line(":save first");
    await a.waitFor(/amber: saved first \(full\)/);
    a.line(":quit");
    await a.waitFor(/\[exit 0\]/);

    const b = open("b", "repl world");
    await b.waitFor(/resuming first/);
    // The guest's prompt comes back with the world.
    await b.waitFor(/lisp> $/m);
    b.line('(greet "again")');
    await b.waitFor(/^lisp> \(greet "again"\)\n"hello, again"$/m);
    b.line("(define (twice f x) (f (f x)))");
    await b.waitFor(/^twice$/m);
    b.line(":save second");
    const saved = await b.waitFor(/amber: saved second \(incremental on first\): ([0-9.]+ \S+)/);
    b.line(":quit");
    await b.waitFor(/\[exit 0\]/);
    const full = statSync(join(tmp, "world", "worlds", "first.amber")).size;
    const incremental = statSync(join(tmp, "world", "worlds", "second.amber")).size;
    expect(incremental).toBeLessThan(full / 4);
    expect(saved[1]).toMatch(/KiB/);
  });

  it("history, line editing and Tab completion on the host side; Ctrl-C pauses a busy guest", async () => {
    const t = open("c", "repl --dir edit");
    await t.waitFor(/lisp> $/m);
    t.send("(* 6 7)", true);
    t.send("Enter");
    await t.waitFor(/^42$/m);
    // Up recalls the last line; editing it: BSpace twice, then "8)".
    t.send("Up");
    t.send("BSpace");
    t.send("BSpace");
    t.send("8)", true);
    t.send("Enter");
    await t.waitFor(/^48$/m);
    t.send(":he", true);
    t.send("Tab");
    t.send("Enter");
    await t.waitFor(/:restore NAME +replace the running world/);
    t.line("(define (spin n) (if (= n 0) 'done (spin (- n 1))))");
    await t.waitFor(/^spin$/m);
    // Ctrl-C right after the line, with no pause: on a loaded host both may reach Amber in
    // one read, and the Ctrl-C still interrupts what the line started.
    t.line("(spin 100000000)");
    t.send("C-c");
    await t.waitFor(/amber: paused at 0x8[0-9a-f]{7}/);
    t.line(":stats");
    await t.waitFor(/state +paused/);
    t.line(":quit");
    await t.waitFor(/discards unsaved work .* Go on\? \[y\/N\]/);
    t.line("y");
    await t.waitFor(/\[exit 0\]/);
  });

  it.skipIf(!hostTool("gdb-multiarch"))(
    ":gdb: gdb-multiarch attaches, steps back across a typed line and detaches; Ctrl-C stops listening",
    async () => {
      const t = open("gdb", "repl --dir gdbworld");
      await t.waitFor(/lisp> $/m);
      t.line(":gdb 127.0.0.1:0");
      const port = (await t.waitFor(/gdb server listening on 127\.0\.0\.1:(\d+)/))[1];
      // Typed while it listens: the guest reads it (and the log keeps it for going back).
      t.line("(* 6 7)");
      await t.waitFor(/^42$/m);
      const gdb = spawnSync(
        "gdb-multiarch",
        [
          "-nx",
          "-batch",
          "-ex",
          "set architecture riscv:rv32",
          "-ex",
          `target remote 127.0.0.1:${port}`,
          "-ex",
          "p $minstret",
          "-ex",
          "reverse-continue",
          "-ex",
          "continue",
          "-ex",
          "p $minstret",
          "-ex",
          "detach",
        ],
        { encoding: "utf8" },
      );
      const counts = [...gdb.stdout.matchAll(/^\$\d+ = (\d+)$/gm)].map((m) => m[1]);
      expect(gdb.stdout + gdb.stderr).toMatch(/No more reverse-execution history/);
      expect(counts).toHaveLength(2);
      expect(counts[1]).toBe(counts[0]);
      await t.waitFor(/gdb detached at 0x[0-9a-f]{8}/);
      // Back in the REPL: the world answers, and its answer was shown once.
      t.line("(+ 1 1)");
      await t.waitFor(/^2$/m);
      expect(t.screen().match(/^42$/gm)).toHaveLength(1);
      t.line(":gdb 127.0.0.1:0");
      await t.waitFor(/gdb server listening on 127\.0\.0\.1:\d+\n(?:.*\n)*?[^\n]*$/);
      t.send("C-c");
      await t.waitFor(/gdb server closed at 0x[0-9a-f]{8}/);
      t.line("(+ 2 2)");
      await t.waitFor(/^4$/m);
      t.line(":quit!");
      await t.waitFor(/\[exit 0\]/);
    },
  );
});
