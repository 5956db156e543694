import { readFileSync } from "node:fs";
import { CapturedIo, type HostIo } from "@amber/machine";
import { main } from "../src/cli.js";
import type { CliEnv } from "../src/cli-env.js";

export interface CliResult {
  status: number;
  stdout: string;
  stdoutBytes: Uint8Array;
  stderr: string;
  /** What commander printed as data (help, version). */
  out: string;
}

/** An in-process CLI environment: guest I/O through `io`, Amber's talk to `stderr`. */
export function testEnv(io: HostIo, stderr: (text: string) => void): CliEnv {
  return {
    io,
    stderr,
    readFile: (path) => readFileSync(path),
    now: () => performance.now() / 1000,
    cpuNow: () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1e6;
    },
    hostClock: { now: () => performance.now(), sleep: () => {} },
  };
}

/** Runs the CLI in-process, as `amber ...args`, capturing everything it prints. */
export function runCli(args: string[], stdin = ""): CliResult {
  const io = new CapturedIo(stdin);
  let stderr = "";
  let out = "";
  const status = main(
    args,
    testEnv(io, (text) => {
      stderr += text;
    }),
    (text) => {
      out += text;
    },
  );
  if (typeof status !== "number")
    throw new Error("runCli is for commands that finish synchronously (not repl)");
  return { status, stdout: io.stdoutText, stdoutBytes: io.stdoutBytes, stderr: stderr + io.stderrText, out };
}

/**
 * Runs the CLI in-process as `runCli` does, for commands that may finish later: `amber run`
 * whose save (`--save-at`, the guest's save-world) is made durable while the guest runs on.
 */
export async function runCliAsync(args: string[], stdin = ""): Promise<CliResult> {
  const io = new CapturedIo(stdin);
  let stderr = "";
  let out = "";
  const status = await main(
    args,
    testEnv(io, (text) => {
      stderr += text;
    }),
    (text) => {
      out += text;
    },
  );
  return { status, stdout: io.stdoutText, stdoutBytes: io.stdoutBytes, stderr: stderr + io.stderrText, out };
}
