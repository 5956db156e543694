import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUESTS_DIR } from "./guests.js";
import { runCli } from "./run-cli.js";

// The disk guest (tools/guests/src/disk.c) reads sector 0, writes sector 5 once, reads it back.
const DISK = `${GUESTS_DIR}disk.img`;
const GUEST = `${GUESTS_DIR}rv32imac/disk.elf`;
const dir = mkdtempSync(join(tmpdir(), "amber-disk-trace-"));

beforeAll(async () => {
  await initCodecs();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("amber run --disk-trace", () => {
  it("writes one line per guest write: instruction, disk, offset, length, layer", () => {
    const trace = join(dir, "trace.txt");
    const r = runCli(["run", "--disk", `${DISK},format=raw`, "--disk-trace", trace, GUEST]);
    expect(r.status).toBe(0);
    const text = readFileSync(trace, "utf8");
    expect(text).toMatch(/^insn=\d+ disk=0 offset=2560 length=512 layer=shadow\n$/);
    // Deterministic: the same run writes the same trace.
    runCli(["run", "--disk", `${DISK},format=raw`, "--disk-trace", trace, GUEST]);
    expect(readFileSync(trace, "utf8")).toBe(text);
    // Opened rw, the write goes into the file's own layer (layer 0).
    copyFileSync(DISK, join(dir, "disk.img"));
    runCli(["run", "--disk", `${join(dir, "disk.img")},format=raw,rw`, "--disk-trace", trace, GUEST]);
    expect(readFileSync(trace, "utf8")).toBe(text.replace("layer=shadow", "layer=0"));
  });

  it("says in one line when the trace file cannot be written", () => {
    const r = runCli([
      "run",
      "--disk",
      `${DISK},format=raw`,
      "--disk-trace",
      join(dir, "no/such/dir/t"),
      GUEST,
    ]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^amber: --disk-trace \S+: cannot write: .*\n$/);
  });
});
