import { readFileSync } from "node:fs";
import { CapturedIo } from "@amber/machine";
import { main } from "../src/cli.js";

export interface CliResult {
  status: number;
  stdout: string;
  stdoutBytes: Uint8Array;
  stderr: string;
  /** What commander printed as data (help, version). */
  out: string;
}

/** Runs the CLI in-process, as `amber ...args`, capturing everything it prints. */
export function runCli(args: string[], stdin = ""): CliResult {
  const io = new CapturedIo(stdin);
  let stderr = "";
  let out = "";
  const status = main(
    args,
    {
      io,
      stderr: (text) => {
        stderr += text;
      },
      readFile: (path) => readFileSync(path),
      now: () => performance.now() / 1000,
      hostClock: { now: () => performance.now(), sleep: () => {} },
    },
    (text) => {
      out += text;
    },
  );
  if (typeof status !== "number")
    throw new Error("runCli is for commands that finish synchronously (not repl)");
  return { status, stdout: io.stdoutText, stdoutBytes: io.stdoutBytes, stderr: stderr + io.stderrText, out };
}
