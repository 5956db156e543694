import { readFileSync, readSync } from "node:fs";
import type { HostIo } from "@amber/machine";
import type { CliEnv } from "./cli-env.js";

/** Reads the process's stdin synchronously: the guest blocks until input arrives. */
function readStdin(max: number): Uint8Array | null {
  const buffer = new Uint8Array(Math.max(1, max));
  for (;;) {
    try {
      const n = readSync(0, buffer, 0, buffer.length, null);
      return n === 0 ? null : buffer.subarray(0, n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") continue;
      if (code === "EOF" || code === "EBADF" || code === "ENXIO") return null;
      throw e;
    }
  }
}

/** The CLI environment of a real process: stdout for guest data, stderr for Amber's talk. */
export function nodeEnv(): CliEnv {
  // A reader that went away (`amber run x.elf | head`) is not an error worth a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  const io: HostIo = {
    stdout: (data) => {
      process.stdout.write(data);
    },
    stderr: (data) => {
      process.stderr.write(data);
    },
    stdin: readStdin,
  };
  return {
    io,
    stderr: (text) => {
      process.stderr.write(text);
    },
    readFile: (path) => readFileSync(path),
    now: () => performance.now() / 1000,
  };
}
