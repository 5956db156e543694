import { fstatSync, readFileSync, readSync } from "node:fs";
import type { HostIo } from "@amber/machine";
import type { CliEnv } from "./cli-env.js";
import { openSerial } from "./serial/open-serial.js";

const CTRL_A = 0x01;

/** What the process's stdin is: a terminal, a stream that may make us wait (pipe, socket), or neither. */
function stdinKind(): "tty" | "stream" | "file" | "closed" {
  try {
    // node:tty on demand: most runs never read stdin.
    if (process.getBuiltinModule("node:tty").isatty(0)) return "tty";
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket() ? "stream" : "file";
  } catch {
    return "closed";
  }
}

/** Longest sleep in one go while waiting for input that can only be polled for. */
const POLL_MS = 5;

/**
 * Guest stdin from the process's stdin, never waiting for it: a pipe or socket is made
 * non-blocking (bytes not there yet read as none yet, the guest runs on; end of input is
 * end of input); a file reads as it is. From a terminal, the terminal is put in raw mode
 * so keys reach the guest as typed (its own echo, its own Ctrl-C), and Ctrl-A x quits,
 * as in QEMU. The UART asks only for what its FIFO can take: the rest stays in the pipe.
 */
function stdinReader(): { read: (max: number) => Uint8Array | null; canWait: boolean } {
  const kind = stdinKind();
  if (kind === "closed") return { read: () => null, canWait: false };
  const tty = kind === "tty";
  if (tty || kind === "stream") {
    // Creating process.stdin makes fd 0 non-blocking (libuv's tty, pipe or tcp handle).
    process.stdin.pause();
    if (tty) {
      // Raw mode passes every key through.
      process.stdin.setRawMode(true);
      process.on("exit", () => process.stdin.setRawMode(false));
    }
  }
  let afterCtrlA = false;
  const read = (max: number): Uint8Array | null => {
    const buffer = new Uint8Array(Math.max(1, max));
    try {
      const n = readSync(0, buffer, 0, buffer.length, null);
      if (n === 0) return null;
      if (!tty) return buffer.subarray(0, n);
      const keys: number[] = [];
      for (const b of buffer.subarray(0, n)) {
        if (afterCtrlA) {
          afterCtrlA = false;
          if (b === 0x78 /* x */) {
            process.stderr.write("\r\namber: terminated (Ctrl-A x)\r\n");
            process.exit(0);
          }
          keys.push(b); // Ctrl-A Ctrl-A or Ctrl-A anything: pass the key on
        } else if (b === CTRL_A) afterCtrlA = true;
        else keys.push(b);
      }
      return Uint8Array.from(keys);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") return new Uint8Array(0); // nothing yet
      if (code === "EOF" || code === "EBADF" || code === "ENXIO") return null;
      throw e;
    }
  };
  return { read, canWait: kind !== "file" };
}

/** Sleeps the thread without spinning (Atomics.wait on a private cell never notified). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
};

let stdoutReady = false;

/**
 * Writes to the process's stdout. process.stdout is made on first use (a terminal's, a
 * pipe's or a file's stream: node:tty, node:net, streams), which most runs of a guest that
 * prints nothing, or only to Amber's stderr, never pay for.
 */
export function writeStdout(data: string | Uint8Array): void {
  if (!stdoutReady) {
    stdoutReady = true;
    // A reader that went away (`amber run x.elf | head`) is not an error worth a stack trace.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  }
  process.stdout.write(data);
}

/**
 * Monotonic milliseconds since the first call. process.hrtime, not performance.now():
 * the global `performance` loads node:perf_hooks when first touched.
 */
let origin: [number, number] | undefined;
function hostMs(): number {
  if (origin === undefined) origin = process.hrtime();
  const [s, ns] = process.hrtime(origin);
  return s * 1000 + ns / 1e6;
}

/** The CLI environment of a real process: stdout for guest data, stderr for Amber's talk. */
export function nodeEnv(): CliEnv {
  let stdin: ReturnType<typeof stdinReader> | undefined;
  const io: HostIo = {
    stdout: writeStdout,
    stderr: (data) => {
      process.stderr.write(data);
    },
    // Set up on first use, so that commands that never read stdin leave the terminal alone.
    stdin: (max) => {
      stdin ??= stdinReader();
      return stdin.read(max);
    },
    // Only input can wake the guest and it is still to come: poll for it at a gentle pace.
    waitForInput: (ms) => {
      stdin ??= stdinReader();
      if (stdin.canWait) sleep(Math.min(ms, POLL_MS));
    },
  };
  return {
    io,
    stderr: (text) => {
      process.stderr.write(text);
    },
    readFile: (path) => readFileSync(path),
    now: () => hostMs() / 1000,
    cpuNow: () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1e6;
    },
    hostClock: { now: hostMs, sleep },
    openSerial: (spec) => openSerial(spec, (line) => process.stderr.write(`amber: ${line}\n`)),
  };
}
