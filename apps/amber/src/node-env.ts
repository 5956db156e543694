import { readFileSync, readSync } from "node:fs";
import type { HostIo } from "@amber/machine";
import type { CliEnv } from "./cli-env.js";

const CTRL_A = 0x01;

/**
 * Guest stdin from the process's stdin. From a pipe or file, reads block (the guest
 * waits for its input, and end of input is end of input). From a terminal, the terminal
 * is put in raw mode so keys reach the guest as typed (its own echo, its own Ctrl-C);
 * reads never block, and Ctrl-A x quits, as in QEMU.
 */
function stdinReader(): (max: number) => Uint8Array | null {
  const tty = process.stdin.isTTY === true;
  if (tty) {
    // Creating process.stdin makes fd 0 non-blocking; raw mode passes every key through.
    process.stdin.setRawMode(true);
    process.stdin.pause();
    process.on("exit", () => process.stdin.setRawMode(false));
  }
  let afterCtrlA = false;
  return (max) => {
    const buffer = new Uint8Array(Math.max(1, max));
    for (;;) {
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
        if (code === "EAGAIN") {
          if (tty) return new Uint8Array(0);
          continue;
        }
        if (code === "EOF" || code === "EBADF" || code === "ENXIO") return null;
        throw e;
      }
    }
  };
}

/** Sleeps the thread without spinning (Atomics.wait on a private cell never notified). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
};

/** The CLI environment of a real process: stdout for guest data, stderr for Amber's talk. */
export function nodeEnv(): CliEnv {
  // A reader that went away (`amber run x.elf | head`) is not an error worth a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  let stdin: ((max: number) => Uint8Array | null) | undefined;
  const io: HostIo = {
    stdout: (data) => {
      process.stdout.write(data);
    },
    stderr: (data) => {
      process.stderr.write(data);
    },
    // Set up on first use, so that commands that never read stdin leave the terminal alone.
    stdin: (max) => {
      stdin ??= stdinReader();
      return stdin(max);
    },
  };
  return {
    io,
    stderr: (text) => {
      process.stderr.write(text);
    },
    readFile: (path) => readFileSync(path),
    now: () => performance.now() / 1000,
    hostClock: { now: () => performance.now(), sleep },
  };
}
