import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { ExitCode } from "../src/exit-codes.js";
import { guests } from "./guests.js";

// What an `amber resume` loads before the guest's first instruction is start-up time (issue
// 16: the whole process over `node -e 0`). Built-ins the run does not use must not be among
// it: the bundled CLI loads them on first use (launcher.ts, build.mjs, node-env.ts).
const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;

/** Loaded on first use only: none is needed to resume a guest that reads no input. */
const NOT_AT_START = [
  "NativeModule worker_threads", // worker threads are told by their argv (program-entry.ts)
  "NativeModule tty", // stdin is looked at when the guest first reads it
  "NativeModule net", // gdb, socket serial, process.stdout on a pipe
  "NativeModule readline", // cli-progress's, only for a progress bar on a terminal
  "NativeModule perf_hooks", // the CLI's clock is process.hrtime
  "NativeModule child_process", // commander's, for executable subcommands
  "NativeModule internal/modules/esm/translators", // the launcher is a CommonJS script
];

let tmp: string;
let cli: string;
let image: string;
let saved: number;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "amber-startup-"));
  cli = await bundle(join(tmp, "dist", "amber.js"));
  image = join(tmp, "hello.ambc");
  // Saved before the guest prints anything: the resumed run below writes nothing to stdout.
  saved = 50;
  const r = spawnSync(
    process.execPath,
    [cli, "run", hello.elf, "--save-at", String(saved), "--save-to", image, "--halt-after-save"],
    { encoding: "utf8", env: { ...process.env, AMBER_CODE_CACHE: join(tmp, "cache") } },
  );
  expect(r.stdout).toBe("");
  expect(r.status).toBe(0);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Node's list of what the process loaded, written at exit by a preloaded script. */
function loadedBy(args: string[]): { modules: string[]; status: number | null; stderr: string } {
  const list = join(tmp, `loaded-${args[0]}.txt`);
  const preload = join(tmp, "record-loaded.cjs");
  writeFileSync(
    preload,
    `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")));\n`,
  );
  // stdout and stderr are files, as a terminal or pipe would bring node:tty or node:net.
  const errFile = join(tmp, "stderr.txt");
  const out = openSync(join(tmp, "stdout.txt"), "w");
  const err = openSync(errFile, "w");
  try {
    const r = spawnSync(process.execPath, ["-r", preload, cli, ...args], {
      stdio: ["ignore", out, err],
      env: { ...process.env, AMBER_CODE_CACHE: join(tmp, "cache") },
    });
    return {
      modules: readFileSync(list, "utf8").split("\n"),
      status: r.status,
      stderr: readFileSync(errFile, "utf8"),
    };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

describe("the bundled CLI's start-up", () => {
  it("resumes an image to its first instructions without loading what the run does not use", () => {
    for (let run = 0; run < 2; run++) {
      // The first run writes the code cache, the second uses it: neither loads them.
      const r = loadedBy(["resume", image, "--max-insns", String(saved + 10)]);
      expect(r.stderr).toContain("stopped after");
      expect(r.status).toBe(124);
      expect(r.modules).toContain("NativeModule vm"); // the list is Node's, and complete
      for (const m of NOT_AT_START) expect(r.modules, m).not.toContain(m);
    }
  });

  it("refuses the worker threads' argument on a command line, as any unknown option", () => {
    const r = spawnSync(process.execPath, [cli, "--amber-worker"], { encoding: "utf8" });
    expect(r.status).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(/^amber: error: unknown option '--amber-worker'/);
  });
});
