import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  CheckpointReader,
  initCheckpoint,
  MemoryDirectory,
  openDirectory,
  writeCheckpoint,
  writeDirectoryLayout,
  writeSingleFile,
} from "../src/index.js";
import {
  convertCheckpoint,
  openCheckpoint,
  squashCheckpoint,
  writeCheckpointFile,
} from "../src/node/index.js";
import { baseInput, memFile, newFile, pageOf, SparseRam, sameBytes } from "./support/helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-ckpt-layout-"));
beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sample(over = {}) {
  const ram = new SparseRam(64 * 4096);
  for (const p of [0, 1, 7, 40, 63]) ram.write(p, pageOf(p));
  const f = newFile("img.ambc");
  writeCheckpoint(f, baseInput(ram, { features: { compatible: 1 << 9, autoclear: 1 << 3 }, ...over }));
  return { bytes: f.contents().slice(), ram };
}

describe("single file and composed directory", () => {
  test("file → directory → file is lossless: same digest, same bytes (autoclear bits cleared)", () => {
    const { bytes } = sample({ features: { compatible: 1 << 9 } });
    const r = CheckpointReader.open(memFile(bytes));
    const dir = new MemoryDirectory("img.d");
    expect(writeDirectoryLayout(r, dir)).toBe(r.digest);
    expect([...dir.files.keys()].sort()).toEqual([
      "manifest.json",
      "sections/cpu0.json",
      "sections/uart.json",
      "segments/ram.ambp",
    ]);
    const d = openDirectory(dir);
    expect(d.digest).toBe(r.digest);
    d.verify();
    const back = newFile("back.ambc");
    expect(writeSingleFile(d, back)).toBe(r.digest);
    expect(sameBytes(back.contents(), bytes)).toBe(true);
  });

  test("the manifest and sections are readable JSON; segment files are the framed page data", () => {
    const { bytes } = sample();
    const r = CheckpointReader.open(memFile(bytes));
    const dir = new MemoryDirectory("img.d");
    writeDirectoryLayout(r, dir);
    const m = JSON.parse(new TextDecoder().decode(dir.readFile("manifest.json")));
    expect(m).toMatchObject({
      format: "amber-checkpoint-directory",
      digest: r.digest,
      machine: "riscv32-virt",
      instructionCount: "12345",
      features: { compatible: 1 << 9, autoclear: 0 },
      parent: null,
      segments: [
        {
          name: "ram",
          base: "0x80000000",
          pageSize: 4096,
          pages: [
            [0, 2],
            [7, 1],
            [40, 1],
            [63, 1],
          ],
        },
      ],
    });
    const cpu = JSON.parse(new TextDecoder().decode(dir.readFile("sections/cpu0.json")));
    expect(cpu.fields.pc).toEqual({ u32: 0x80000000 });
    expect(cpu.fields.mtime).toEqual({ u64: "21474836480" });
    // The directory image's autoclear bits were cleared, and the digest did not move.
    expect(openDirectory(dir).header.autoclearFeatures).toBe(0);
  });

  test("an edited section JSON no longer matches its hash (CHECKSUM_MISMATCH naming the file)", () => {
    const { bytes } = sample();
    const dir = new MemoryDirectory("img.d");
    writeDirectoryLayout(CheckpointReader.open(memFile(bytes)), dir);
    const f = dir.files.get("sections/uart.json")!;
    const text = new TextDecoder().decode(f.contents()).replace('"u32": 96', '"u32": 97');
    f.truncate(0);
    f.write(0, new TextEncoder().encode(text));
    const d = openDirectory(dir);
    expect(() => d.section("uart")).toThrow(
      expect.objectContaining({ code: "CHECKSUM_MISMATCH", file: "img.d/sections/uart.json" }),
    );
  });

  test("on disk: convert both ways and squash a chain of directories and files", () => {
    const ram = new SparseRam(64 * 4096);
    for (const p of [0, 1, 7]) ram.write(p, pageOf(p));
    const base = join(tmp, "base.ambc");
    const d1 = writeCheckpointFile(base, baseInput(ram));
    ram.write(7, pageOf(70));
    const child = join(tmp, "child.ambc");
    const parent = openCheckpoint(base);
    const d2 = writeCheckpointFile(child, {
      ...baseInput(ram),
      segments: [{ name: "ram", base: 0x80000000, size: 64 * 4096, pages: ram.entries([7]) }],
      parent,
      parentHint: "base.d",
    });
    // The parent is found as a directory, through the hint.
    expect(convertCheckpoint(base, join(tmp, "base.d"), "directory")).toBe(d1.digest);
    expect(readdirSync(join(tmp, "base.d")).sort()).toEqual(["manifest.json", "sections", "segments"]);
    expect(convertCheckpoint(child, join(tmp, "child.d"), "directory")).toBe(d2.digest);
    const tip = openCheckpoint(join(tmp, "child.d"));
    expect(tip.parent?.name).toBe(join(tmp, "base.d"));
    expect(sameBytes(tip.segment("ram").readPage(7), pageOf(70))).toBe(true);
    expect(sameBytes(tip.segment("ram").readPage(1), pageOf(1))).toBe(true);
    expect(convertCheckpoint(join(tmp, "child.d"), join(tmp, "child2.ambc"), "file")).toBe(d2.digest);
    expect(sameBytes(readFileSync(join(tmp, "child2.ambc")), readFileSync(child))).toBe(true);
    const flat = squashCheckpoint(join(tmp, "child.d"), join(tmp, "flat.ambc"));
    const f = openCheckpoint(join(tmp, "flat.ambc"));
    expect(f.digest).toBe(flat.digest);
    expect(f.isIncremental).toBe(false);
    expect(sameBytes(f.segment("ram").readPage(7), pageOf(70))).toBe(true);
    // No temporary files left behind.
    expect(readdirSync(tmp).filter((n) => n.startsWith("."))).toEqual([]);
  });
});
