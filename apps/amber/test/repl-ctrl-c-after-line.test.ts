import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { CapturedIo } from "@amber/machine";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { until } from "./gdb-session.js";
import { testEnv } from "./run-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-ctrl-c-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// On a loaded host a terminal delivers what was typed in bursts: the Enter that ends a line
// and the Ctrl-C typed after it arrive in one read. Keys act in the order they were typed.
describe("amber repl at a terminal: Ctrl-C typed right after a line", () => {
  it("interrupts what that line started, even when the line and the Ctrl-C arrive in one read", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const errors = new PassThrough();
    let screen = "";
    output.on("data", (d: Buffer) => {
      screen += d.toString("utf8");
    });
    errors.on("data", (d: Buffer) => {
      screen += d.toString("utf8");
    });
    const status = main(
      ["repl", "--dir", join(tmp, "w"), "--no-idle-compact"],
      testEnv(new CapturedIo(), (text) => {
        screen += text;
      }),
      (text) => {
        screen += text;
      },
      { input, output, errors, terminal: true },
    );
    // readline draws the prompt with cursor moves: read the screen without escape sequences.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
    const text = () => screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
    await until(text, /lisp> $/, "the prompt");
    input.write("(define (spin n) (if (= n 0) 'done (spin (- n 1))))\r");
    await until(text, /^spin\r?$/m, "the definition");
    // One chunk: the line, its Enter, then Ctrl-C.
    input.write("(spin 100000000)\r\x03");
    await until(text, /amber: paused at 0x8[0-9a-f]{7}/, "the pause");
    expect(text()).not.toMatch(/^done/m);
    input.write(":quit!\r");
    expect(await status).toBe(0);
  });
});
