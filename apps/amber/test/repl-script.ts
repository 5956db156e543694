import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { CapturedIo } from "@amber/machine";
import { main } from "../src/cli.js";

export interface ReplResult {
  status: number;
  /** Guest console and monitor data. */
  stdout: string;
  /** Amber's talk (banner, notices, errors). */
  stderr: string;
}

/**
 * Runs `amber repl ...args` in-process with `script` as its input (a pipe, not a
 * terminal: lines are taken in order, monitor commands after the guest finished the lines
 * before them), until it quits.
 */
export async function replScript(args: string[], script: string): Promise<ReplResult> {
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
  input.end(script);
  const status = await main(
    ["repl", ...args],
    {
      io: new CapturedIo(),
      stderr: (text) => {
        stderr += text;
      },
      readFile: (path) => readFileSync(path),
      now: () => performance.now() / 1000,
      hostClock: { now: () => performance.now(), sleep: () => {} },
    },
    (text) => {
      stdout += text;
    },
    { input, output, errors, terminal: false },
  );
  return { status, stdout, stderr };
}
