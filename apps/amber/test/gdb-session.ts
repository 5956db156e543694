import { spawn } from "node:child_process";
import { CapturedIo } from "@amber/machine";
import { main } from "../src/cli.js";
import { testEnv } from "./run-cli.js";

/** What a gdb batch session printed, and how `amber run --gdb` ended. */
export interface GdbRun {
  gdb: string;
  status: number;
  stderr: string;
  guestOut: string;
}

/**
 * Runs `amber run ...args --gdb 127.0.0.1:0 --wait` in-process (its gdb server on the event
 * loop) and Debian's gdb-multiarch as a real client against it, in batch mode with `commands`
 * after `set architecture riscv:rv32` and `target remote`; resolves once both are done.
 */
export async function gdbSession(args: string[], commands: string[], symbols?: string): Promise<GdbRun> {
  const io = new CapturedIo();
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
  const status = Promise.resolve(main([...args, "--gdb", "127.0.0.1:0", "--wait"], env, () => {}));
  const port = await Promise.race([listening, status.then(() => -1)]);
  if (port < 0) throw new Error(`amber did not start its gdb server: ${stderr}`);
  const gdbArgs = ["-nx", "-batch", "-ex", "set architecture riscv:rv32", "-ex", "set pagination off"];
  if (symbols !== undefined) gdbArgs.push("-ex", `file ${symbols}`);
  gdbArgs.push("-ex", `target remote 127.0.0.1:${port}`);
  for (const c of commands) gdbArgs.push("-ex", c);
  const gdb = await new Promise<string>((resolve, reject) => {
    const child = spawn("gdb-multiarch", gdbArgs, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", () => resolve(out));
  });
  return { gdb, status: await status, stderr, guestOut: io.stdoutText };
}
