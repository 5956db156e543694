import { beforeAll, describe, expect, test } from "vitest";
import {
  CheckpointReader,
  COMPAT_SQUASHED,
  INCOMPAT_DELTA,
  INCOMPAT_INCREMENTAL,
  initCheckpoint,
  type ParentLocation,
  squash,
  writeCheckpoint,
} from "../src/index.js";
import {
  baseInput,
  cpuSection,
  expectBytes,
  memFile,
  newFile,
  PAGE,
  pageOf,
  SparseRam,
} from "./support/helpers.js";

beforeAll(() => initCheckpoint());

const RAM = 256 * PAGE;

/** base (full) → child1 → child2, each dirtying a few pages (some partly, some back to zero). */
function buildChain() {
  const ram = new SparseRam(RAM);
  for (let i = 0; i < 64; i++) ram.write(i * 3, pageOf(i * 3));
  const baseFile = newFile("base.ambc");
  writeCheckpoint(baseFile, baseInput(ram, { instructionCount: 100n }));
  const files = new Map<string, Uint8Array>([["base.ambc", baseFile.contents().slice()]]);
  const resolve = (ref: { hint: string }): ParentLocation | undefined => {
    const b = files.get(ref.hint);
    return b ? { file: memFile(b, ref.hint) } : undefined;
  };
  const open = (name: string) =>
    CheckpointReader.open(memFile(files.get(name)!, name), { resolveParent: resolve });
  const steps: { name: string; parent: string; dirty: number[] }[] = [
    { name: "c1.ambc", parent: "base.ambc", dirty: [0, 3, 5, 200] },
    { name: "c2.ambc", parent: "c1.ambc", dirty: [3, 6, 9, 255] },
  ];
  const snapshots = new Map<string, Map<number, Uint8Array>>([["base.ambc", new Map(ram.pages)]]);
  const stats: Record<string, { deltaPages: number; basePages: number; size: number }> = {};
  steps.forEach(({ name, parent, dirty }, step) => {
    for (const p of dirty) {
      const page = ram.read(p).slice();
      if (p === 6)
        page.fill(0); // rewritten to zero: must be stored, not fall through
      else if (p === 9)
        page.set(pageOf(999)); // rewritten completely
      else page[(p * 7 + step) % PAGE] ^= 0x5a; // a small change: delta-compressed
      ram.write(p, page);
    }
    const f = newFile(name);
    const res = writeCheckpoint(f, {
      ...baseInput(ram, { instructionCount: BigInt(200 + step) }),
      sections: [cpuSection(0x80001000 + step)],
      segments: [{ name: "ram", base: 0x80000000, size: RAM, pages: ram.entries(dirty) }],
      parent: open(parent),
      parentHint: parent,
    });
    files.set(name, f.contents().slice());
    snapshots.set(name, new Map(ram.pages));
    stats[name] = { deltaPages: res.stats.deltaPages, basePages: res.stats.basePages, size: res.size };
  });
  return { files, open, resolve, snapshots, stats };
}

function expectState(r: CheckpointReader, pages: Map<number, Uint8Array>): void {
  const seg = r.segment("ram");
  for (let p = 0; p < seg.pageCount; p++)
    expectBytes(seg.readPage(p), pages.get(p) ?? new Uint8Array(PAGE), `page ${p}`);
}

describe("incremental chains", () => {
  test("a 3-deep chain restores every level exactly, with delta pages against the parent", () => {
    const { open, snapshots, stats, files } = buildChain();
    for (const [name, pages] of snapshots) {
      const r = open(name);
      expectState(r, pages);
      r.verify();
    }
    const tip = open("c2.ambc");
    expect(tip.chain.map((r) => r.name)).toEqual(["c2.ambc", "c1.ambc", "base.ambc"]);
    expect(tip.header.incompatibleFeatures & (INCOMPAT_INCREMENTAL | INCOMPAT_DELTA)).toBe(
      INCOMPAT_INCREMENTAL | INCOMPAT_DELTA,
    );
    expect(tip.segment("ram").storedPageCount).toBe(4);
    expect(tip.segment("ram").hasPage(0)).toBe(false);
    expect(tip.segment("ram").isPresent(0)).toBe(true);
    expect(tip.section("cpu0").fields.pc).toBe(0x80001001);
    expect(stats["c1.ambc"]!.deltaPages).toBeGreaterThanOrEqual(3);
    // Incremental images hold only the dirtied pages: far smaller than the base.
    expect(files.get("c2.ambc")!.length).toBeLessThan(files.get("base.ambc")!.length / 4);
  });

  test("squash writes one full image with the tip's state and no parent", () => {
    const { open, snapshots } = buildChain();
    const f = newFile("flat.ambc");
    squash(open("c2.ambc"), f);
    const flat = CheckpointReader.open(memFile(f.contents(), "flat.ambc"));
    expect(flat.isIncremental).toBe(false);
    expect(flat.header.compatibleFeatures & COMPAT_SQUASHED).toBe(COMPAT_SQUASHED);
    expectState(flat, snapshots.get("c2.ambc")!);
    expect(flat.section("cpu0").fields).toEqual(open("c2.ambc").section("cpu0").fields);
    expect(flat.header.instructionCount).toBe(201n);
    // The zeroed page 6 is not stored in the squashed image.
    expect(flat.segment("ram").hasPage(6)).toBe(false);
    flat.verify();
  });

  test("a missing parent is PARENT_MISSING naming the file and the digest", () => {
    const { files } = buildChain();
    const bytes = files.get("c1.ambc")!;
    expect(() => CheckpointReader.open(memFile(bytes, "c1.ambc"))).toThrow(
      expect.objectContaining({
        code: "PARENT_MISSING",
        file: "c1.ambc",
        message: expect.stringMatching(/parent [0-9a-f]{64} not found \(hint: "base.ambc"\)/),
      }),
    );
    expect(() =>
      CheckpointReader.open(memFile(bytes, "c1.ambc"), { resolveParent: () => undefined }),
    ).toThrow(/PARENT_MISSING|not found/);
  });

  test("a parent with another digest is PARENT_MISMATCH", () => {
    const { files } = buildChain();
    const other = newFile("other.ambc");
    const ram = new SparseRam(RAM);
    ram.write(1, pageOf(12345));
    writeCheckpoint(other, baseInput(ram));
    const err = (() => {
      try {
        CheckpointReader.open(memFile(files.get("c1.ambc")!, "c1.ambc"), {
          resolveParent: () => ({ file: memFile(other.contents(), "base.ambc") }),
        });
      } catch (e) {
        return e as { code: string; message: string };
      }
    })();
    expect(err?.code).toBe("PARENT_MISMATCH");
    expect(err?.message).toMatch(
      /c1.ambc: parent "base.ambc" has digest [0-9a-f]{64} \(at offset 128; expected digest [0-9a-f]{64}\)/,
    );
  });

  test("a chain that comes back to an image already in it is PARENT_CYCLE", () => {
    const { files } = buildChain();
    // c2's parent hint resolves to c2 itself (e.g. files renamed over each other).
    expect(() =>
      CheckpointReader.open(memFile(files.get("c2.ambc")!, "c2.ambc"), {
        resolveParent: () => ({ file: memFile(files.get("c2.ambc")!, "c2.ambc") }),
      }),
    ).toThrow(expect.objectContaining({ code: "PARENT_CYCLE" }));
    // c2 → c1 → (c1's hint resolves to c2) → cycle.
    expect(() =>
      CheckpointReader.open(memFile(files.get("c2.ambc")!, "c2.ambc"), {
        resolveParent: (ref) =>
          ref.child === "c2.ambc"
            ? { file: memFile(files.get("c1.ambc")!, "c1.ambc") }
            : { file: memFile(files.get("c2.ambc")!, "c2.ambc") },
      }),
    ).toThrow(expect.objectContaining({ code: "PARENT_CYCLE" }));
    expect(() =>
      CheckpointReader.open(memFile(files.get("c2.ambc")!, "c2.ambc"), {
        limits: { maxChainDepth: 1 },
        resolveParent: (ref) => ({ file: memFile(files.get(ref.hint)!, ref.hint) }),
      }),
    ).toThrow(expect.objectContaining({ code: "PARENT_CYCLE" }));
  });

  test("an image without its parent can still be inspected (withoutParent)", () => {
    const { files } = buildChain();
    const r = CheckpointReader.open(memFile(files.get("c2.ambc")!, "c2.ambc"), { withoutParent: true });
    expect(r.parentDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(r.section("cpu0").version).toBe(2);
  });
});
