import { type ChildProcess, spawn } from "node:child_process";
import { CapturedIo, type HostIo } from "@amber/machine";
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
  const gdb = await gdbBatch(port, commands, { symbols });
  return { gdb, status: await status, stderr, guestOut: io.stdoutText };
}

/**
 * Runs Debian's gdb-multiarch in batch mode against the gdb server on 127.0.0.1:`port`:
 * `set architecture riscv:rv32`, `symbols` as the program file if given, `target remote`,
 * then `commands`. Resolves with all it printed (stdout and stderr) once it exits;
 * `started` gets the process and its output so far, for tests that act while it runs.
 */
export function gdbBatch(
  port: number,
  commands: string[],
  options: { symbols?: string; started?: (child: ChildProcess, output: () => string) => void } = {},
): Promise<string> {
  const args = ["-nx", "-batch", "-ex", "set architecture riscv:rv32", "-ex", "set pagination off"];
  if (options.symbols !== undefined) args.push("-ex", `file ${options.symbols}`);
  args.push("-ex", `target remote 127.0.0.1:${port}`);
  for (const c of commands) args.push("-ex", c);
  return new Promise((resolve, reject) => {
    const child = spawn("gdb-multiarch", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", () => resolve(out));
    options.started?.(child, () => out);
  });
}

/**
 * Resolves when `read()` matches `pattern` (polled every 20 ms), with the match. The two
 * minutes only bound a failure: on a loaded core a guest's answer can take a while.
 */
export async function until(read: () => string, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const m = read().match(pattern);
    if (m !== null) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got:\n${read()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Console I/O whose input is typed later (`type`): until then stdin has nothing yet (not its end). */
export class TypedIo implements HostIo {
  out = "";
  private pending = new Uint8Array(0);
  stdout(data: Uint8Array): void {
    this.out += new TextDecoder().decode(data);
  }
  stderr(): void {}
  stdin(max: number): Uint8Array | null {
    const chunk = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(chunk.length);
    return chunk.slice();
  }
  type(text: string): void {
    this.pending = new TextEncoder().encode(text);
  }
}
