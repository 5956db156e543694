import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { guests } from "./guests.js";

const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;

describe("the bundled amber command", () => {
  it("builds into one file that runs a guest, as `pnpm start` does", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "amber-bundle-")), "amber.js");
    await bundle(out);
    const r = spawnSync(process.execPath, [out, "run", hello.elf], { encoding: "latin1" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(hello.expectedStdout.toString("latin1"));
    expect(r.status).toBe(hello.expectedExit);
    expect(execFileSync(process.execPath, [out, "--help"], { encoding: "utf8" })).toMatch(/Usage: amber/);
  }, 60_000);
});
