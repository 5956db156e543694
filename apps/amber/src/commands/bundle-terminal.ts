/**
 * A bundle run as a program (`node app.mjs ARGS`, or the native executable): the guest
 * console on the process's terminal, as `amber run` has it. On a terminal, raw mode (keys
 * reach the guest as typed, its own echo, its own Ctrl-C; Ctrl-A x quits, as in QEMU);
 * from pipes, bytes as they come, end of input is end of input. The exit status is the
 * guest's. Uses only the `process` global, so this file is also part of the browser build
 * (where it is never called).
 */
import { ExitCode } from "../exit-codes.js";
import { BundleError } from "./bundle-container.js";
import { startBundle } from "./bundle-runtime.js";

const CTRL_A = 0x01;

/** Runs the world of `payload` on this process's terminal; `file` names the bundle in messages. */
export async function runInTerminal(
  payload: Uint8Array,
  file: string,
  args: readonly string[],
): Promise<void> {
  const say = (text: string) => process.stderr.write(`amber: ${file}: ${text}\n`);
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  let running: Awaited<ReturnType<typeof startBundle>>;
  try {
    running = await startBundle(payload, {
      stdout: (bytes) => {
        process.stdout.write(bytes);
      },
      stderr: (bytes) => {
        process.stderr.write(bytes);
      },
      args,
    });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    say(`damaged bundle: ${e.message}`);
    process.exitCode = ExitCode.Failure;
    return;
  }

  const stdin = process.stdin;
  const tty = stdin.isTTY === true && process.stdout.isTTY === true;
  const restore = () => {
    if (tty) stdin.setRawMode(false);
  };
  if (tty) {
    stdin.setRawMode(true);
    process.on("exit", restore);
  }
  let afterCtrlA = false;
  stdin.on("data", (chunk: Buffer) => {
    if (!tty) {
      running.type(new Uint8Array(chunk));
      return;
    }
    const keys: number[] = [];
    for (const b of chunk) {
      if (afterCtrlA) {
        afterCtrlA = false;
        if (b === 0x78 /* x */) {
          restore();
          process.stderr.write("\r\namber: terminated (Ctrl-A x)\r\n");
          process.exit(0);
        }
        keys.push(b);
      } else if (b === CTRL_A) afterCtrlA = true;
      else keys.push(b);
    }
    running.type(Uint8Array.from(keys));
  });
  stdin.on("end", () => running.endInput());
  stdin.on("error", () => running.endInput());

  const end = await running.exited;
  restore();
  if (end.message !== undefined) say(end.message);
  process.exitCode = end.code;
  stdin.destroy();
}
