import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { guests } from "./guests.js";

// The console and its back ends, driven as a program drives Amber: through pipes and
// sockets of a real `amber` process. Every wait is on what the guest shows, never a sleep.
const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const LISP = fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url));
const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;
const LONG = 240_000;

let tmp: string;
let cli: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "amber-console-"));
  cli = await bundle(join(tmp, "dist", "amber.js"));
}, 60_000);
/** Every amber started here: one a failed test left running is ended, never left behind. */
const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill();
  rmSync(tmp, { recursive: true, force: true });
});

/** Text that arrives on a stream, and a way to wait until some shows. */
class Watched {
  text = "";
  private waiters: { re: RegExp; from: number; resolve: () => void }[] = [];

  add(chunk: Buffer | string): void {
    this.text += chunk.toString();
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(this.text.slice(w.from))) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `re` matches what arrived after offset `from` (default: anything so far). */
  until(re: RegExp, from = 0): Promise<void> {
    if (re.test(this.text.slice(from))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ re, from, resolve }));
  }
}

interface Amber {
  child: ChildProcess;
  out: Watched;
  err: Watched;
  exit: Promise<number | null>;
}

function amber(args: string[]): Amber {
  const child = spawn(process.execPath, [cli, ...args], { cwd: tmp, stdio: ["pipe", "pipe", "pipe"] });
  started.push(child);
  const out = new Watched();
  const err = new Watched();
  child.stdout!.on("data", (d: Buffer) => out.add(d));
  child.stderr!.on("data", (d: Buffer) => err.add(d));
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, out, err, exit };
}

function socketWatched(socket: Socket): Watched {
  const w = new Watched();
  socket.on("data", (d: Buffer) => w.add(d));
  return w;
}

describe("the console through pipes", () => {
  it(
    "boots the project's Linux with stdin a pipe and answers every line, however they arrive",
    async () => {
      const a = amber(["run", "--bios", `${LINUX}firmware.elf`, "--kernel", `${LINUX}Image-mmu`]);
      // The kernel polls the UART while it boots: the machine must run on with no input at hand.
      await a.out.until(/amber# $/);
      // Two lines at once, before the shell read the first: neither may be lost.
      a.child.stdin!.write("echo hi\ncount 5\n");
      await a.out.until(/amber# [\s\S]*5\r?\namber# $/);
      a.child.stdin!.end("poweroff\n");
      expect(await a.exit).toBe(0);
      expect(a.out.text).toMatch(/amber# echo hi\r?\n(count 5\r?\n)?hi\r?\n/);
      expect(a.out.text).toMatch(/1\r?\n2\r?\n3\r?\n4\r?\n5\r?\n/);
    },
    LONG,
  );

  it(
    "talks with the Lisp guest line by line through a pipe, each answer shown before the next line is sent",
    async () => {
      const a = amber(["run", LISP]);
      await a.out.until(/lisp> $/);
      a.child.stdin!.write("(define (square x) (* x x))\n");
      await a.out.until(/square\r?\nlisp> $/);
      const at = a.out.text.length;
      a.child.stdin!.write("(square 12)\n");
      await a.out.until(/144\r?\nlisp> $/, at);
      a.child.stdin!.end("(exit 3)\n");
      expect(await a.exit).toBe(3);
    },
    LONG,
  );

  it(
    "takes a burst longer than the UART's FIFO without dropping a byte (flow control, not overrun)",
    async () => {
      const a = amber(["run", LISP]);
      const lines = Array.from({ length: 40 }, (_, i) => `(+ ${i} 1000)`);
      a.child.stdin!.end(`${lines.join("\n")}\n(exit 0)\n`);
      expect(await a.exit).toBe(0);
      for (let i = 0; i < 40; i++) expect(a.out.text).toContain(`${i + 1000}\n`);
    },
    LONG,
  );

  it(
    "ends at end of input: a guest left waiting for more is reported, not waited on forever",
    async () => {
      const a = amber(["run", LISP]);
      a.child.stdin!.end("(+ 1 2)\n");
      expect(await a.exit).toBe(126);
      expect(a.out.text).toContain("3\n");
      expect(a.err.text).toMatch(
        /^amber: guest stopped: wfi at pc 0x[0-9a-f]{8} waits for an interrupt .*no input left/m,
      );
    },
    LONG,
  );
});

describe("--serial back ends", () => {
  it(
    "tcp:HOST:PORT,server waits for a client and gives it the console (a Node socket client drives Lisp)",
    async () => {
      const a = amber(["run", LISP, "--serial", "tcp:127.0.0.1:0,server"]);
      await a.err.until(/waiting for a connection on tcp:127\.0\.0\.1:\d+/);
      const port = Number(/tcp:127\.0\.0\.1:(\d+)/.exec(a.err.text)![1]);
      const socket = connect({ host: "127.0.0.1", port });
      const console = socketWatched(socket);
      await console.until(/lisp> $/);
      socket.write("(define (square x) (* x x))\n");
      await console.until(/square\r?\nlisp> $/);
      socket.write("(square 12)\n(exit 7)\n");
      expect(await a.exit).toBe(7);
      await console.until(/144\r?\n/);
      expect(console.text).toContain("Amber Lisp 1.0");
      expect(a.out.text).toBe(""); // the console went to the socket, not to stdout
      socket.destroy();
    },
    LONG,
  );

  it(
    "unix:PATH,server takes one client; its going away is end of input",
    async () => {
      const path = join(tmp, "console.sock");
      const a = amber(["run", LISP, "--serial", `unix:${path},server`]);
      await a.err.until(/waiting for a connection on unix:/);
      const socket = connect(path);
      const console = socketWatched(socket);
      await console.until(/lisp> $/);
      socket.end("(* 6 7)\n");
      expect(await a.exit).toBe(126); // the Lisp waits for a next line that cannot come
      await console.until(/42\r?\n/);
    },
    LONG,
  );

  it(
    "tcp:HOST:PORT connects to a listening peer and fails in one line when nobody listens",
    async () => {
      const refused = amber(["run", LISP, "--serial", "tcp:127.0.0.1:1"]);
      expect(await refused.exit).toBe(125);
      expect(refused.err.text).toMatch(
        /^amber: --serial tcp:127\.0\.0\.1:1: cannot connect to tcp:127\.0\.0\.1:1: .*\n$/,
      );
    },
    LONG,
  );

  it(
    "file:PATH writes the console to the file; none drops it; both give no input",
    async () => {
      const path = join(tmp, "console.txt");
      const f = amber(["run", hello.elf, "--serial", `file:${path}`]);
      expect(await f.exit).toBe(hello.expectedExit);
      expect(f.out.text).toBe("");
      expect(readFileSync(path)).toEqual(hello.expectedStdout);

      const n = amber(["run", hello.elf, "--serial", "none"]);
      expect(await n.exit).toBe(hello.expectedExit);
      expect(n.out.text).toBe("");

      const lisp = amber(["run", LISP, "--serial", "none"]);
      expect(await lisp.exit).toBe(126);
      expect(lisp.err.text).toMatch(/no input left/);

      // resume takes the same back ends: the saved machine's console goes on in the file.
      const world = join(tmp, "hello.amber");
      const first = amber(["run", hello.elf, "--save-at", "3000", "--save-to", world, "--halt-after-save"]);
      expect(await first.exit).toBe(0);
      const rest = join(tmp, "rest.txt");
      const resumed = amber(["resume", world, "--serial", `file:${rest}`]);
      expect(await resumed.exit).toBe(hello.expectedExit);
      expect(resumed.out.text).toBe("");
      expect(Buffer.concat([Buffer.from(first.out.text, "latin1"), readFileSync(rest)])).toEqual(
        hello.expectedStdout,
      );
    },
    LONG,
  );

  it(
    "refuses a back end it does not know with status 2, and a file it cannot write with 125",
    async () => {
      const bad = amber(["run", hello.elf, "--serial", "pty"]);
      expect(await bad.exit).toBe(2);
      expect(bad.err.text).toMatch(/^amber: --serial pty: unknown back end \(give stdio, file:PATH, .*\)\n$/);
      const dir = amber(["run", hello.elf, "--serial", `file:${tmp}`]);
      expect(await dir.exit).toBe(125);
      expect(dir.err.text).toBe(`amber: --serial file:${tmp}: cannot write: is a directory\n`);
    },
    LONG,
  );
});
