import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    t.line("(spin 100000000)");
    await new Promise((r) => setTimeout(r, 300));
    t.send("C-c");
    await t.waitFor(/amber: paused at 0x8[0-9a-f]{7}/);
    t.line(":stats");
    await t.waitFor(/state +paused/);
    t.line(":quit");
    await t.waitFor(/discards unsaved work .* Go on\? \[y\/N\]/);
    t.line("y");
    await t.waitFor(/\[exit 0\]/);
  });
});
