import { closeSync, openSync, writeSync } from "node:fs";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";
import type { SerialSpec } from "./serial-spec.js";
import { openSocketSerial, type SerialPort } from "./socket-serial.js";

/**
 * Opens a `--serial` back end other than `stdio` (which is the CLI environment's own io):
 * `file:PATH` writes the console to PATH (created or emptied, as QEMU) and gives no input,
 * `none` drops output and gives no input, sockets see socket-serial.ts. No input is end of
 * input: a guest waiting for some is reported stuck instead of waiting forever.
 */
export function openSerial(
  spec: Exclude<SerialSpec, { kind: "stdio" }>,
  talk: (line: string) => void,
): SerialPort {
  const stderr = (data: Uint8Array): void => {
    process.stderr.write(data);
  };
  switch (spec.kind) {
    case "none":
      return { stdout: () => {}, stderr, stdin: () => null, close: () => {} };
    case "file": {
      let fd: number;
      try {
        fd = openSync(spec.path, "w");
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const why =
          err.code === "ENOENT"
            ? "no such directory"
            : err.code === "EISDIR"
              ? "is a directory"
              : err.code === "EACCES"
                ? "permission denied"
                : err.message;
        throw new UserError(`--serial file:${spec.path}: cannot write: ${why}`, ExitCode.Failure);
      }
      let open = true;
      return {
        stdout: (data) => {
          if (open) writeSync(fd, data);
        },
        stderr,
        stdin: () => null,
        close: () => {
          if (!open) return;
          open = false;
          closeSync(fd);
        },
      };
    }
    case "tcp":
    case "unix":
      return openSocketSerial(spec, talk);
  }
}
