import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS } from "../../../tools/test-support/chromium.mjs";
import { hostTool } from "../../../tools/test-support/host-tool.js";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { HAVE_TMUX, TmuxTerminal } from "./tmux-terminal.js";

const LISP = join(import.meta.dirname, "../../../tools/guests/lisp/out/lisp.elf");
const GUESTS = join(import.meta.dirname, "../../../tools/guests/out/rv32imac");
/** Instructions after which the Lisp has printed its prompt and polls the UART for input. */
const LISP_PROMPT_STEPS = "98700";

let work: string;
let amber: string;

/** Runs the built CLI (what users run), capturing everything. */
function cli(args: string[], input = "") {
  return spawnSync(process.execPath, [amber, ...args], { cwd: work, input, encoding: "utf8" });
}

/** Runs a bundle with plain `node` from a directory of its own, outside the repository. */
function runBundle(file: string, args: string[], input: string) {
  const alone = mkdtempSync(join(tmpdir(), "amber-app-"));
  const copy = join(alone, "app.mjs");
  copyFileSync(file, copy);
  const r = spawnSync(process.execPath, [copy, ...args], { cwd: alone, input, encoding: "utf8" });
  rmSync(alone, { recursive: true, force: true });
  return r;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "amber-bundle-test-"));
  amber = await bundle(join(work, "cli", "amber.js"));
  // A Lisp world at its prompt, and one incremental on it after a definition.
  const saved = cli([
    "run",
    LISP,
    "--save-at",
    LISP_PROMPT_STEPS,
    "--save-to",
    "lisp.amber",
    "--halt-after-save",
  ]);
  expect(saved.status).toBe(0);
  const child = cli(
    ["resume", "lisp.amber", "--save-at", "104300", "--save-to", "child.amber", "--halt-after-save"],
    "(define answer 41)\n",
  );
  expect(child.stderr).toMatch(/^amber: saved child\.amber \(incremental\): [^\n]*\n$/);
  expect(child.status).toBe(0);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("amber bundle", () => {
  it("a world the Lisp saved itself answers #t in its bundle; (save-world ...) in a bundle is refused at once", () => {
    const saved = cli(["run", LISP], '(define n 6)\n(if (save-world "own") (quote resumed) (exit 0))\n');
    expect(saved.stderr).toMatch(/^amber: saved own\.amber \(full\)/);
    expect(saved.status).toBe(0);
    expect(cli(["bundle", "own.amber", "-o", "own.mjs"]).status).toBe(0);
    const r = runBundle(join(work, "own.mjs"), [], '(* n 7)\n(save-world "again")\n(exit 2)\n');
    expect(r.stdout).toBe(
      "lisp> resumed\nlisp> 42\nlisp> error: save-world: a bundle runs its world and cannot save another (save it with amber repl)\nlisp> ",
    );
    expect(r.status).toBe(2);
  }, 60_000);

  it("makes one .mjs file that resumes the world with plain node: console from a pipe, exit status the guest's", () => {
    const made = cli(["bundle", "lisp.amber", "-o", "lisp.mjs", "--json"]);
    expect(made.status).toBe(0);
    const report = JSON.parse(made.stdout) as { digest: string; bytes: number; world: number };
    const inspected = JSON.parse(cli(["inspect", "--json", "lisp.amber"]).stdout) as { digest: string };
    expect(report.digest).toBe(inspected.digest);
    expect(report.bytes).toBe(readFileSync(join(work, "lisp.mjs")).length);

    const r = runBundle(join(work, "lisp.mjs"), [], "(* 6 7)\n(exit 5)\n");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("42\nlisp> ");
    expect(r.status).toBe(5);
    // Same world, same input: same output (the runtime is deterministic).
    expect(runBundle(join(work, "lisp.mjs"), [], "(* 6 7)\n(exit 5)\n").stdout).toBe(r.stdout);
  }, 60_000);

  it("types the arguments after the bundle's name into the console as one line", () => {
    cli(["bundle", "lisp.amber", "-o", "args.mjs"]);
    const r = runBundle(join(work, "args.mjs"), ["(exit", "(+", "3", "4))"], "");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(7);
  }, 60_000);

  it("gives a semihosting program saved before it asked for its command line the arguments there, as QEMU's arg= does", () => {
    // tools/guests/src/args.c prints argc and argv; QEMU ran it with arg=args,arg=hello,arg=world.
    const oracle = readFileSync(join(GUESTS, "args.stdout"), "utf8");
    copyFileSync(join(GUESTS, "args.elf"), join(work, "args"));
    const run = cli(["run", "args", "hello", "world"]);
    expect(run.stdout).toBe(oracle);
    // Saved after a few instructions, before crt0's SYS_GET_CMDLINE: the bundle's arguments are its command line.
    expect(
      cli(["run", "args", "--save-at", "10", "--save-to", "args.amber", "--halt-after-save"]).status,
    ).toBe(0);
    expect(cli(["bundle", "args.amber", "-o", "argv.mjs"]).status).toBe(0);
    const r = runBundle(join(work, "argv.mjs"), ["hello", "world"], "");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(oracle);
    expect(r.status).toBe(0);
    // Saved at 6,000 of its 9,728 instructions, after crt0 read its command line ("args x")
    // and before printf flushed: the arguments can only be typed (the program reads no
    // input), and it prints the rest of what it had.
    const saveLate = [
      "run",
      "args",
      "x",
      "--save-at",
      "6000",
      "--save-to",
      "late.amber",
      "--halt-after-save",
    ];
    expect(cli(saveLate).status).toBe(0);
    expect(cli(["bundle", "late.amber", "-o", "late.mjs"]).status).toBe(0);
    const late = runBundle(join(work, "late.mjs"), ["hello", "world"], "");
    expect(late.stdout).not.toContain("hello");
    expect(late.stdout).not.toBe("");
    expect('argc 3\nargv[1] "args"\nargv[2] "x"\n'.endsWith(late.stdout)).toBe(true);
    expect(late.status).toBe(0);
  }, 90_000);

  it.skipIf(!HAVE_TMUX)(
    "runs on a real terminal in raw mode: keys reach the guest, Ctrl-A x quits",
    async () => {
      cli(["bundle", "lisp.amber", "-o", "tty.mjs"]);
      const term = TmuxTerminal.start(`amber-bundle-${process.pid}`, `${process.execPath} tty.mjs`, work);
      try {
        // The Lisp does not echo (its host does, in amber repl): the answer shows that the keys arrived.
        term.line("(* 6 7)");
        await term.waitFor(/^42\r?$/m, 60_000);
        term.send("C-a");
        term.send("x");
        await term.waitFor(/amber: terminated \(Ctrl-A x\)\s+\[exit 0\]/, 60_000);
      } finally {
        term.close();
      }
    },
    90_000,
  );

  it("squashes an incremental world's parent chain into the bundle", () => {
    expect(cli(["bundle", "child.amber", "-o", "child.mjs"]).status).toBe(0);
    // The bundle runs alone: the parent image is not beside it.
    const r = runBundle(join(work, "child.mjs"), [], "(+ answer 1)\n(exit 0)\n");
    expect(r.stdout).toContain("42\n");
    expect(r.status).toBe(0);
  }, 60_000);

  it("refuses a damaged bundle in one line (exit 125) and never runs the guest", () => {
    cli(["bundle", "lisp.amber", "-o", "good.mjs"]);
    const bytes = readFileSync(join(work, "good.mjs"));
    // One bit flipped in the middle of the payload (base64 stays base64, the file stays JavaScript).
    const damaged = Buffer.from(bytes);
    const at = Math.floor(damaged.length / 2);
    damaged[at] = damaged[at]! ^ 1;
    writeFileSync(join(work, "damaged.mjs"), damaged);
    const r = runBundle(join(work, "damaged.mjs"), ["(exit 3)"], "");
    expect(r.status).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^amber: \S+app\.mjs: damaged bundle: the payload's SHA-256 is [0-9a-f]{64}, expected [0-9a-f]{64}\n$/,
    );
  }, 60_000);

  it("says in one line when the world cannot be bundled", () => {
    const r = cli(["bundle", "missing.amber", "-o", "x.mjs"]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^amber: missing\.amber: .*\n$/);
  });

  it("--exe makes a native executable that runs without node on PATH", () => {
    const made = cli(["bundle", "lisp.amber", "--exe", "-o", "lisp-app"]);
    expect(made.stderr).toMatch(/^amber: bundled lisp\.amber .* → lisp-app: /);
    expect(made.status).toBe(0);
    const env = { PATH: "/nonexistent", HOME: work };
    const r = spawnSync(join(work, "lisp-app"), ["(exit", "(*", "2", "3))"], {
      env,
      input: "",
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(6);
    const piped = spawnSync(join(work, "lisp-app"), [], {
      env,
      input: "(* 6 7)\n(exit 0)\n",
      encoding: "utf8",
    });
    expect(piped.stdout).toBe("42\nlisp> ");
    expect(piped.status).toBe(0);
    // The payload sits in the executable as the loader's text: a flipped bit there is caught too.
    const exe = readFileSync(join(work, "lisp-app"));
    const at = exe.indexOf('PAYLOAD = "') + 5000;
    exe[at] = exe[at]! ^ 1;
    writeFileSync(join(work, "damaged-app"), exe, { mode: 0o755 });
    const damaged = spawnSync(join(work, "damaged-app"), ["(exit 3)"], { env, input: "", encoding: "utf8" });
    expect(damaged.status).toBe(125);
    expect(damaged.stdout).toBe("");
    expect(damaged.stderr).toMatch(
      /^amber: \S+damaged-app: damaged bundle: the payload's SHA-256 is [0-9a-f]{64}, expected [0-9a-f]{64}\n$/,
    );
  }, 120_000);

  it.skipIf(!hostTool(CHROMIUM))(
    "loads in a browser as a module and runs the world there",
    async () => {
      cli(["bundle", "lisp.amber", "-o", "web.mjs"]);
      const site = mkdtempSync(join(tmpdir(), "amber-web-"));
      copyFileSync(join(work, "web.mjs"), join(site, "app.mjs"));
      // A blank page whose one module script imports the bundle and drives the world.
      writeFileSync(
        join(site, "index.html"),
        `<!doctype html><title>amber</title><script type="module">
          const { start } = await import("./app.mjs");
          let out = "";
          const world = await start({ stdout: (b) => (out += new TextDecoder().decode(b)) });
          world.type("(* 6 7)\\n(exit 3)\\n");
          const end = await world.exited;
          window.amberResult = { out, code: end.code };
        </script>`,
      );
      const server = createServer((req, res) => {
        const name = req.url === "/app.mjs" ? "app.mjs" : "index.html";
        res.setHeader("content-type", name.endsWith(".mjs") ? "text/javascript" : "text/html");
        res.end(readFileSync(join(site, name)));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as { port: number };
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/`);
        const handle = await page.waitForFunction(
          () => (window as { amberResult?: unknown }).amberResult,
          null,
          {
            timeout: 60_000,
          },
        );
        const result = (await handle.jsonValue()) as { out: string; code: number };
        expect(result.out).toBe("42\nlisp> ");
        expect(result.code).toBe(3);
      } finally {
        await browser.close();
        server.close();
        rmSync(site, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
