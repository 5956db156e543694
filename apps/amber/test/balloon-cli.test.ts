import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const BOOT = ["--bios", `${LINUX}firmware.elf`, "--kernel", `${LINUX}Image-mmu`, "--balloon"];
let dir: string;

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-balloon-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("amber run --balloon", () => {
  it("boots Linux with the balloon; a world saved mid-boot keeps it and resumes as the straight run", () => {
    const budget = ["--max-insns", "45000000"];
    const straight = runCli(["run", ...BOOT, ...budget]);
    expect(straight.stdout).toContain("amber# ");
    const file = join(dir, "linux.amber");
    const first = runCli(["run", ...BOOT, "--save-at", "30000000", "--save-to", file, "--halt-after-save"]);
    expect(first.status).toBe(0);
    const inspected = JSON.parse(runCli(["inspect", "--json", file]).out);
    expect(JSON.stringify(inspected.sections)).toContain('"balloon"');
    const resumed = runCli(["resume", file, ...budget]);
    expect(resumed.status).toBe(straight.status);
    expect(first.stdout + resumed.stdout).toBe(straight.stdout);
  });
});
