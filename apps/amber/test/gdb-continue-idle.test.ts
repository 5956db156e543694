import type { ChildProcess } from "node:child_process";
import { describe, expect, test } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { main } from "../src/cli.js";
import { gdbBatch, TypedIo, until } from "./gdb-session.js";
import { testEnv } from "./run-cli.js";

const LISP = "tools/guests/lisp/out/lisp.elf";

describe.skipIf(!hostTool("gdb-multiarch"))("gdb's continue on a guest waiting for input", () => {
  test("the Lisp guest idles at its prompt under continue, reads what is typed meanwhile, and stops on gdb's Ctrl-C (SIGINT)", async () => {
    const io = new TypedIo();
    let stderr = "";
    let announce: (port: number) => void = () => {};
    const listening = new Promise<number>((resolve) => {
      announce = resolve;
    });
    const env = testEnv(io, (text) => {
      stderr += text;
      const m = /gdb server listening on [^:]+:(\d+)/.exec(text);
      if (m !== null) announce(Number(m[1]));
    });
    const status = Promise.resolve(main(["run", LISP, "--gdb", "127.0.0.1:0", "--wait"], env, () => {}));
    const port = await listening;
    let gdbOut = () => "";
    let child: ChildProcess | undefined;
    const closed = gdbBatch(
      port,
      [
        "continue",
        "echo ==stopped==\\n",
        "p $minstret",
        // Back to the start and forward again: the typed line is replayed at its instruction,
        // and the continue stops where the recorded input ends.
        "reverse-continue",
        "continue",
        "echo ==replayed==\\n",
        "p $minstret",
        "kill",
      ],
      {
        symbols: LISP,
        started: (gdb, output) => {
          child = gdb;
          gdbOut = output;
        },
      },
    );
    // gdb continues: the guest boots to its prompt and waits there, still running for gdb.
    await until(() => io.out, /lisp> $/, "the prompt");
    await new Promise((r) => setTimeout(r, 300));
    expect(gdbOut()).not.toMatch(/SIGTRAP|==stopped==/);
    // Typed while gdb's continue runs: the guest reads it and answers.
    io.type("(* 6 7)\n");
    await until(() => io.out, /lisp> 42\nlisp> $/, "the answer");
    expect(gdbOut()).not.toMatch(/==stopped==/);
    // Ctrl-C in gdb: it sends the interrupt byte; the stop is a SIGINT.
    child?.kill("SIGINT");
    const gdbText = await closed;
    expect(gdbText).toMatch(/Program received signal SIGINT, Interrupt\.[\s\S]*==stopped==/);
    expect(gdbText).not.toMatch(/SIGTRAP/);
    expect(gdbText).toMatch(/No more reverse-execution history/);
    const count = (name: string) =>
      Number(/\$\d+ = (\d+)/.exec(gdbText.slice(gdbText.indexOf(`==${name}==`)))?.[1]);
    expect(count("replayed")).toBe(count("stopped"));
    expect(await status).toBe(0);
    // The replayed answer was not printed again.
    expect(io.out.match(/42/g)?.length).toBe(1);
    expect(stderr).toMatch(/gdb server listening/);
  });
});
