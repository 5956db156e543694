import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { CapturedIo } from "@amber/machine";
import { initRegistry } from "@amber/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedConsole } from "../../../packages/machine/test/support/scripted-console.js";
import { TestRegistry } from "../../../packages/registry/test/registry-server.js";
import { hostTool } from "../../../tools/test-support/host-tool.js";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { main } from "../src/cli.js";
import { replScript } from "./repl-script.js";
import { runCli, testEnv } from "./run-cli.js";
import { HAVE_TMUX, TmuxTerminal } from "./tmux-terminal.js";

const HAVE = hostTool("docker-registry", ["--version"]) && hostTool("htpasswd", ["-Bbn", "a", "b"]);
const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));

/** Runs `amber ...args` in-process and waits for commands that finish on the event loop (push, pull). */
async function runCliAsync(args: string[]): Promise<{ status: number; out: string; stderr: string }> {
  let stderr = "";
  let out = "";
  const status = await main(
    args,
    testEnv(new CapturedIo(), (t) => {
      stderr += t;
    }),
    (t) => {
      out += t;
    },
  );
  return { status, out, stderr };
}

const digestOf = (target: string, ...extra: string[]) => {
  const r = runCli(["inspect", "--json", target, ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.out).digest as string;
};

describe.runIf(HAVE)("amber push / pull / resume REF against Debian's docker-registry", () => {
  const open = new TestRegistry();
  const locked = new TestRegistry({ user: "student", password: "pa55 word" });
  let tmp: string;
  let machine: string;
  const savedEnv = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };

  beforeAll(async () => {
    await Promise.all([initCodecs(), initCheckpoint(), initRegistry(), open.start(), locked.start()]);
    tmp = mkdtempSync(join(tmpdir(), "amber-registry-cli-"));
    // Credentials the way `docker login` leaves them; the default cache under a temporary XDG_CACHE_HOME.
    mkdirSync(join(tmp, "docker"));
    const auth = Buffer.from("student:pa55 word").toString("base64");
    writeFileSync(join(tmp, "docker", "config.json"), JSON.stringify({ auths: { [locked.host]: { auth } } }));
    process.env.DOCKER_CONFIG = join(tmp, "docker");
    process.env.XDG_CACHE_HOME = join(tmp, "xdg-cache");
    // A Lisp world and an incremental child, saved from the REPL.
    machine = join(tmp, "lisp");
    const a = await replScript(["--dir", machine], "(define (square x) (* x x))\n:save base\n:quit\n");
    expect(a.status, a.stderr).toBe(0);
    const b = await replScript([machine], "(define (cube x) (* x (square x)))\n:save next\n:quit\n");
    expect(b.stderr).toMatch(/saved next \(incremental on base\)/);
  }, 240_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await Promise.all([open.stop(), locked.stop()]);
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const auth of [false, true]) {
    it(`pushes a Lisp world and its child${auth ? " with htpasswd Basic auth" : ""}, pulls both on a second host and resumes them to the same answer and digest`, async () => {
      const reg = auth ? locked : open;
      const ref = (tag: string) => `${reg.host}/class/lisp:${tag}`;
      const base = join(machine, "worlds", "base.amber");
      const next = join(machine, "worlds", "next.amber");
      const p1 = await runCliAsync(["push", base, ref("base"), "--insecure"]);
      expect(p1.status, p1.stderr).toBe(0);
      expect(p1.out).toMatch(new RegExp(`^${reg.host}/class/lisp@sha256:[0-9a-f]{64}\\n$`));
      const p2 = await runCliAsync(["push", next, ref("next"), "--insecure", "--json"]);
      expect(p2.status, p2.stderr).toBe(0);
      const pushed = JSON.parse(p2.out);
      expect(pushed.manifests).toHaveLength(2);
      expect(pushed.skippedBlobs).toBeGreaterThan(0); // the base's chunks were there already
      expect(pushed.uploadedBytes).toBeLessThan(readFileSync(next).length + 4096);

      // The second host: a fresh working directory and cache.
      const host2 = join(tmp, `host2-${auth}`);
      mkdirSync(host2);
      const cache = join(host2, "cache");
      const pulled = await runCliAsync([
        "pull",
        ref("next"),
        "-o",
        join(host2, "next.amber"),
        "--insecure",
        "--cache",
        cache,
        "--json",
      ]);
      expect(pulled.status, pulled.stderr).toBe(0);
      expect(JSON.parse(pulled.out).files.map((f: { file: string }) => f.file)).toEqual([
        join(host2, "next.amber"),
        join(host2, "base.amber"),
      ]);
      expect(digestOf(join(host2, "next.amber"))).toBe(digestOf(next));
      expect(digestOf(join(host2, "base.amber"))).toBe(digestOf(base));
      // Pulling again fetches nothing new and overwrites nothing.
      const again = await runCliAsync([
        "pull",
        ref("next"),
        "-o",
        join(host2, "next.amber"),
        "--insecure",
        "--cache",
        cache,
        "--json",
      ]);
      expect(again.status, again.stderr).toBe(0);
      expect(JSON.parse(again.out).files.every((f: { written: boolean }) => !f.written)).toBe(true);

      // Resumed from the pulled files and straight from the registry: the same answer.
      const local = await replScript(
        [join(host2, "next.amber"), "--dir", join(host2, "m1")],
        "(cube 3)\n:quit!\n",
      );
      expect(local.stdout).toBe("lisp> 27\nlisp> ");
      const remote = await replScript(
        [`http://${ref("next")}`, "--dir", join(host2, "m2"), "--cache", join(host2, "lazy")],
        "(cube 3)\n(square 5)\n(define (sq4 x) (square (square x)))\n:save mine\n:quit!\n",
      );
      expect(remote.stdout, remote.stderr).toMatch(/^lisp> 27\nlisp> 25\nlisp> sq4\nlisp> /);
      // A world saved there is incremental on the REF; reopened later, its parent comes from the registry.
      expect(remote.stderr).toMatch(/saved mine \(incremental on lisp\)/);
      const mine = await replScript([join(host2, "m2")], "(sq4 2)\n(cube 2)\n:quit!\n");
      expect(mine.stdout, mine.stderr).toBe("lisp> 16\nlisp> 8\nlisp> ");
      // …and the same machine state: a save after the same instructions has the same digest.
      // (mid-way through reading and evaluating a line typed at the prompt)
      const at = String(Number(JSON.parse(runCli(["inspect", "--json", next]).out).instructionCount) + 3000);
      const saves = [next, join(host2, "next.amber"), `http://${ref("next")}`].map((src, i) => {
        const out = join(host2, `at-${i}.amber`);
        const r = runCli(
          [
            "resume",
            src,
            "--save-at",
            at,
            "--save-to",
            out,
            "--halt-after-save",
            "--full",
            "--cache",
            join(host2, "lazy"),
          ],
          "(cube 4)\n",
        );
        expect(r.status, r.stderr).toBe(0);
        return digestOf(out);
      });
      expect(new Set(saves).size).toBe(1);
      // inspect and diff read REFs too.
      expect(digestOf(`http://${ref("next")}`)).toBe(digestOf(next));
      const d = runCli(["diff", "--json", `http://${ref("base")}`, `http://${ref("next")}`]);
      expect(d.status).toBe(1);
      expect(JSON.parse(d.out).identical).toBe(false);
    }, 240_000);
  }

  it("refuses wrong or missing credentials and a bad REF, never overwrites a different image, and names a corrupted chunk", async () => {
    const pull = () =>
      runCliAsync(["pull", `${locked.host}/class/lisp:base`, "--insecure", "-o", join(tmp, "x.amber")]);
    const saved = process.env.DOCKER_CONFIG;
    try {
      mkdirSync(join(tmp, "wrong"));
      const auth = Buffer.from("student:guess").toString("base64");
      writeFileSync(
        join(tmp, "wrong", "config.json"),
        JSON.stringify({ auths: { [`http://${locked.host}`]: { auth } } }),
      );
      process.env.DOCKER_CONFIG = join(tmp, "wrong");
      const refused = await pull();
      expect(refused.status).toBe(125);
      expect(refused.stderr).toMatch(
        /^amber: 127\.0\.0\.1:\d+\/class\/lisp:base: .*the credentials were refused.*HTTP 401.*\n$/,
      );
      process.env.DOCKER_CONFIG = join(tmp, "nowhere");
      const none = await pull();
      expect(none.status).toBe(125);
      expect(none.stderr).toMatch(/asks for a user name and password/);
      expect(existsSync(join(tmp, "x.amber"))).toBe(false);
    } finally {
      process.env.DOCKER_CONFIG = saved;
    }
    const bad = await runCliAsync(["pull", "http://example.com/x:1"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^amber: http:\/\/example\.com\/x:1: plain HTTP is only allowed to localhost/);
    const base = join(machine, "worlds", "base.amber");
    const p = await runCliAsync(["push", base, `${open.host}/guard/lisp:v1`, "--insecure"]);
    expect(p.status, p.stderr).toBe(0);
    const victim = join(tmp, "victim.amber");
    writeFileSync(victim, "precious");
    const r = await runCliAsync(["pull", `${open.host}/guard/lisp:v1`, "--insecure", "-o", victim]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/victim\.amber: exists and is not a checkpoint; .*not overwritten/);
    expect(readFileSync(victim, "utf8")).toBe("precious");
    // Without --cache, chunks go to the default cache under $XDG_CACHE_HOME/amber.
    const fine = await runCliAsync([
      "pull",
      `${open.host}/guard/lisp:v1`,
      "--insecure",
      "-o",
      join(tmp, "fine.amber"),
    ]);
    expect(fine.status, fine.stderr).toBe(0);
    expect(existsSync(join(process.env.XDG_CACHE_HOME!, "amber", "blobs", "sha256"))).toBe(true);
    // A chunk corrupted on the registry's disk: reading it fails in one line naming REF, chunk and bytes.
    const res = await fetch(`http://${open.host}/v2/guard/lisp/manifests/v1`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const chunk = ((await res.json()) as { layers: { digest: string }[] }).layers[0]!.digest;
    const onDisk = readFileSync(open.blobFile(chunk));
    onDisk[200] ^= 0x55;
    writeFileSync(open.blobFile(chunk), onDisk);
    const corrupt = runCli([
      "inspect",
      `http://${open.host}/guard/lisp:v1`,
      "--cache",
      join(tmp, "fresh-cache"),
    ]);
    expect(corrupt.status).toBe(125);
    expect(corrupt.stderr).toMatch(
      new RegExp(
        `^amber: http://${open.host}/guard/lisp:v1: blob ${chunk} \\(chunk 0 of sha256:[0-9a-f]{64} in guard/lisp, image bytes 0\\.\\.\\d+\\) does not match its digest: the registry sent bytes hashing to sha256:[0-9a-f]{64}\\n$`,
      ),
    );
  }, 120_000);
});

describe.runIf(HAVE)("Linux resumed straight from a registry", () => {
  const reg = new TestRegistry();
  let tmp: string;
  beforeAll(async () => {
    await Promise.all([initCodecs(), initCheckpoint(), initRegistry(), reg.start()]);
    tmp = mkdtempSync(join(tmpdir(), "amber-registry-linux-"));
  }, 120_000);
  afterAll(async () => {
    await reg.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("a Linux saved a few million instructions into boot resumes from the registry to its shell", async () => {
    const image = join(tmp, "linux.amber");
    const boot = ["--bios", `${LINUX}firmware.elf`, "--kernel", `${LINUX}Image-mmu`];
    const saved = runCli(["run", ...boot, "--save-at", "3000000", "--save-to", image, "--halt-after-save"]);
    expect(saved.status, saved.stderr).toBe(0);
    const ref = `${reg.host}/fleet/linux:booting`;
    const p = await runCliAsync(["push", image, ref, "--insecure"]);
    expect(p.status, p.stderr).toBe(0);
    // Typed at the shell's prompt, as a person would (input before the tty exists is lost).
    const io = new ScriptedConsole("amber# ", ["echo hello from the registry", "poweroff"]);
    let stderr = "";
    const status = main(
      ["resume", `http://${ref}`, "--cache", join(tmp, "cache"), "--max-insns", "2000000000"],
      testEnv(io, (t) => {
        stderr += t;
      }),
      () => {},
    );
    expect(io.output).toMatch(/amber# echo hello from the registry\r?\nhello from the registry/);
    expect(status, stderr).toBe(0);
  }, 300_000);
});

describe.runIf(HAVE && HAVE_TMUX)("push and pull at a terminal (tmux)", () => {
  const reg = new TestRegistry();
  let tmp: string;
  let cli: string;
  let term: TmuxTerminal | undefined;
  beforeAll(async () => {
    await Promise.all([initCodecs(), initCheckpoint(), initRegistry(), reg.start()]);
    tmp = mkdtempSync(join(tmpdir(), "amber-registry-tty-"));
    cli = await bundle(join(tmp, "dist", "amber.js"));
  }, 120_000);
  afterAll(async () => {
    term?.close();
    await reg.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("shows progress bars on the terminal, and the pinned digest as the data", async () => {
    const image = join(tmp, "linux.amber");
    const boot = ["--bios", `${LINUX}firmware.elf`, "--kernel", `${LINUX}Image-mmu`];
    const saved = runCli(["run", ...boot, "--save-at", "3000000", "--save-to", image, "--halt-after-save"]);
    expect(saved.status, saved.stderr).toBe(0);
    const ref = `${reg.host}/tty/linux:v1`;
    term = TmuxTerminal.start(
      `amber-test-${process.pid}-registry`,
      `node ${cli} push linux.amber ${ref} --insecure && node ${cli} pull ${ref} --insecure -o pulled.amber --cache cache`,
      tmp,
    );
    const screen = await term.waitFor(/\[exit (\d+)\]/, 120_000);
    const text = term.screen();
    expect(screen[1], text).toBe("0");
    expect(text).toMatch(/push \[#+\] 100% \| (\d+)\/\1 MiB/);
    expect(text).toMatch(/pull \[#+\] 100% \| (\d+)\/\1 MiB/);
    expect(text).toMatch(new RegExp(`${reg.host}/tty/linux@sha256:[0-9a-f]{64}`));
    expect(text).toMatch(/pulled .* → pulled\.amber/);
  }, 240_000);
});
