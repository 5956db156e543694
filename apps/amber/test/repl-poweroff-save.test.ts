import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replScript } from "./repl-script.js";
import { runCli } from "./run-cli.js";

const LISP = fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url));
let tmp: string;
let world: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-off-"));
  // A world outside any machine directory: Lisp saved just before its prompt (instruction 98,738).
  world = join(tmp, "w.amber");
  const r = runCli(["run", "--kernel", LISP, "--save-at", "98000", "--save-to", world, "--halt-after-save"]);
  expect(r.status).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("amber repl: a :save typed before the guest powers off", () => {
  it("saves the powered-off world (its pages still read from the resumed image), then ends with the guest's status", async () => {
    const dir = join(tmp, "m1");
    // The :save waits for the guest to finish `(exit 0)`: it then reads every page of the
    // resumed world (a full save), lazily, from w.amber, which must still be open.
    const r = await replScript([world, "--dir", dir], "(exit 0)\n:save off --full\n");
    expect(r.stderr).toMatch(/the guest powered off \(exit 0\)/);
    expect(r.stderr).toMatch(/saved off \(full\): .* at instruction [0-9,]+/);
    expect(r.stderr).not.toMatch(/out of range|Received|"fd"|closed/);
    expect(r.status).toBe(0);
    expect(existsSync(join(dir, "worlds", "off.amber"))).toBe(true);

    // The saved world is whole: it resumes powered off.
    const again = await replScript([dir], ":quit\n");
    expect(again.stderr).toMatch(/resuming off at instruction/);
    expect(again.stderr).toMatch(/the guest powered off \(exit 0\)/);
    expect(again.status).toBe(0);
  });

  it("an incremental save after the power-off names the resumed image as its parent", async () => {
    const dir = join(tmp, "m2");
    const r = await replScript([world, "--dir", dir], "(exit 4)\n:save inc\n");
    expect(r.stderr).toMatch(/saved inc \(incremental on w\)/);
    expect(r.status).toBe(4);
  });
});
