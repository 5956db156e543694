import { PassThrough } from "node:stream";
import { CapturedIo } from "@amber/machine";
import { main } from "../src/cli.js";
import { testEnv } from "./run-cli.js";

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
    testEnv(new CapturedIo(), (text) => {
      stderr += text;
    }),
    (text) => {
      stdout += text;
    },
    { input, output, errors, terminal: false },
  );
  return { status, stdout, stderr };
}
