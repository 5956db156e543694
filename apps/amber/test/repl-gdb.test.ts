import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { CapturedIo } from "@amber/machine";
import { afterAll, describe, expect, test } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { main } from "../src/cli.js";
import { gdbBatch, until } from "./gdb-session.js";
import { testEnv } from "./run-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-repl-gdb-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The value gdb printed after `echo ==NAME==`: the first `$N = VALUE` following it. */
function value(out: string, name: string): string {
  const at = out.indexOf(`==${name}==`);
  const m = /\$\d+ = (\S+)/.exec(out.slice(at));
  if (at < 0 || m === null) throw new Error(`no value ${name} in gdb's output:\n${out}`);
  return m[1]!;
}

describe.skipIf(!hostTool("gdb-multiarch"))("the REPL's :gdb", () => {
  test("gdb-multiarch attaches to the live Lisp world, goes back in time across typed input and detaches to the REPL", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const errors = new PassThrough();
    let stdout = "";
    let stderr = "";
    output.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    errors.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    const status = Promise.resolve(
      main(
        ["repl", "--dir", join(tmp, "m")],
        testEnv(new CapturedIo(), (text) => {
          stderr += text;
        }),
        (text) => {
          stdout += text;
        },
        { input, output, errors, terminal: false },
      ),
    );
    // Through the REPL's real input stream, as typed.
    input.write("(define x 40)\n:gdb 127.0.0.1:0\n");
    const port = Number(
      (await until(() => stderr, /gdb server listening on 127\.0\.0\.1:(\d+)/, "the server"))[1],
    );
    // A console line typed while :gdb listens goes to the guest (which runs until gdb attaches).
    input.write("(+ x 2)\n");
    await until(() => stdout, /lisp> 42\n/, "the guest's answer");
    const gdb = await gdbBatch(port, [
      "echo ==pc==\\n",
      "p/x $pc",
      "echo ==count==\\n",
      "p $minstret",
      // Back to where :gdb started, before the typed line was read...
      "reverse-continue",
      "echo ==start==\\n",
      "p $minstret",
      "reverse-stepi",
      // ...and forward again: the guest reads the logged line at the same instruction.
      "continue",
      "echo ==pc-again==\\n",
      "p/x $pc",
      "echo ==count-again==\\n",
      "p $minstret",
      "reverse-stepi 3",
      "echo ==count-back==\\n",
      "p $minstret",
      "stepi 3",
      "echo ==count-forth==\\n",
      "p $minstret",
      "detach",
    ]);
    expect(gdb).toMatch(/No more reverse-execution history/);
    const before = Number(value(gdb, "count"));
    expect(Number(value(gdb, "start"))).toBeLessThan(before);
    expect(value(gdb, "pc-again")).toBe(value(gdb, "pc"));
    expect(Number(value(gdb, "count-again"))).toBe(before);
    expect(Number(value(gdb, "count-back"))).toBe(before - 3);
    expect(Number(value(gdb, "count-forth"))).toBe(before);
    await until(() => stderr, /gdb detached at 0x[0-9a-f]{8}/, "the detach");
    // Again, and gdb continues the guest idle at its prompt: it waits (no SIGTRAP at its
    // wfi), a line typed meanwhile reaches it, and gdb's Ctrl-C stops it with SIGINT.
    input.write(":gdb 127.0.0.1:0\n");
    const port2 = Number(
      (
        await until(
          () => stderr.slice(stderr.indexOf("gdb detached")),
          /listening on 127\.0\.0\.1:(\d+)/,
          "the server",
        )
      )[1],
    );
    let gdb2: ChildProcess | undefined;
    const second = gdbBatch(port2, ["continue", "echo ==stopped==\\n", "detach"], {
      started: (child) => {
        gdb2 = child;
      },
    });
    // Once gdb is attached, the guest (stopped, then continued) reads the line under the continue.
    await until(() => stderr.slice(stderr.lastIndexOf("listening")), /gdb attached from/, "the attach");
    input.write("(* x 3)\n");
    await until(() => stdout, /lisp> 120\n/, "the answer typed under continue");
    gdb2?.kill("SIGINT");
    const out2 = await second;
    expect(out2).toMatch(/Program received signal SIGINT, Interrupt\.[\s\S]*==stopped==/);
    expect(out2).not.toMatch(/SIGTRAP/);
    await until(() => stderr.slice(stderr.lastIndexOf("listening")), /gdb detached at/, "the second detach");
    // Back in the REPL: the world lives on, with what was typed before and under gdb.
    input.end("(+ x 1)\n:quit!\n");
    expect(await status).toBe(0);
    expect(stdout).toMatch(/lisp> 41\n/);
    // The replayed steps' output was not shown twice.
    expect(stdout.match(/42/g)?.length).toBe(1);
  });
});
