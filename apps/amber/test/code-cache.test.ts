import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { ExitCode } from "../src/exit-codes.js";
import { guests } from "./guests.js";

// The bundled CLI compiles amber-main.cjs with V8's code cache (src/launcher.ts). Whatever
// the cache holds — nothing, another V8's data, garbage, a truncated file — or wherever it
// cannot be written, `amber` must behave exactly as without it.
const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;

let tmp: string;
let cli: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "amber-code-cache-"));
  cli = await bundle(join(tmp, "dist", "amber.js"));
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `amber run hello.elf` with the code cache in `cache`; checks the guest's output and status. */
function runHello(cache: string): void {
  const r = spawnSync(process.execPath, [cli, "run", hello.elf], {
    env: { ...process.env, AMBER_CODE_CACHE: cache },
  });
  expect(r.stderr.toString()).toBe("");
  expect(Buffer.from(r.stdout).equals(hello.expectedStdout)).toBe(true);
  expect(r.status).toBe(hello.expectedExit);
}

const cacheFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".v8cache"));

describe("the bundled CLI's code cache", () => {
  it("is written by the first run, one file for this build, Node and architecture, and used by the next", () => {
    const dir = join(tmp, "fresh");
    runHello(dir);
    const files = cacheFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toContain(`-${process.version}-${process.arch}.v8cache`);
    const written = readFileSync(join(dir, files[0]!));
    runHello(dir);
    // Accepted: not rewritten (a rejected cache is replaced at exit).
    expect(readFileSync(join(dir, files[0]!)).equals(written)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("is one file per command, the run that wrote it having run that command; a bad command line writes none", () => {
    const dir = join(tmp, "per-command");
    const amber = (args: string[]) =>
      spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, AMBER_CODE_CACHE: dir } });
    expect(amber(["--version"]).status).toBe(0);
    expect(amber(["runn", hello.elf]).status).toBe(ExitCode.Usage); // mistyped: no cache for "runn"
    runHello(dir);
    const files = cacheFiles(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^amber-main-[0-9a-f]{16}-other-/);
    expect(files[1]).toMatch(/^amber-main-[0-9a-f]{16}-run-/);
  });

  it("ignores and replaces a cache that is garbage or truncated, and removes other builds' caches", () => {
    const dir = join(tmp, "stale");
    runHello(dir);
    const [name] = cacheFiles(dir);
    const good = readFileSync(join(dir, name!));
    writeFileSync(join(dir, "amber-main-0000000000000000-v20.0.0-x64.v8cache"), good);
    for (const bad of [Buffer.alloc(5000, 0x5a), good.subarray(0, good.length >> 1)]) {
      writeFileSync(join(dir, name!), bad);
      runHello(dir);
      const now = readFileSync(join(dir, name!));
      expect(now.equals(bad)).toBe(false);
      expect(now.length).toBeGreaterThan(bad.length >> 1);
    }
    expect(cacheFiles(dir)).toEqual([name]);
  });

  it("runs as without one where the cache cannot be written, or with AMBER_CODE_CACHE=off", () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "not a directory");
    runHello(join(file, "cache")); // mkdir fails: no cache, same run
    const off = join(tmp, "off");
    mkdirSync(off);
    const r = spawnSync(process.execPath, [cli, "--version"], {
      cwd: off,
      env: { ...process.env, AMBER_CODE_CACHE: "off", HOME: off, XDG_CACHE_HOME: off },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(readdirSync(off)).toEqual([]);
    expect(existsSync(join(off, "amber"))).toBe(false);
  });
});

describe("the built command", () => {
  it.skipIf(process.platform === "win32")(
    "is executable and runs through its shebang, with the Node flags it names, as the installed `amber` does",
    () => {
      expect(statSync(cli).mode & 0o111).toBe(0o111);
      const shebang = readFileSync(cli, "utf8").split("\n", 1)[0]!;
      expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node --max-semi-space-size=\d+$/);
      // This Node first on PATH, for /usr/bin/env to find.
      const r = spawnSync(cli, ["run", hello.elf], {
        env: {
          ...process.env,
          AMBER_CODE_CACHE: "off",
          PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
        },
      });
      expect(r.stderr.toString()).toBe("");
      expect(Buffer.from(r.stdout).equals(hello.expectedStdout)).toBe(true);
      expect(r.status).toBe(hello.expectedExit);
    },
  );
});
