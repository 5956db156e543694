import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  CheckpointReader,
  compactCheckpoint,
  initCheckpoint,
  useBlake3Backend,
  writeCheckpoint,
} from "../src/index.js";
import { compactCheckpointFile, nativeBlake3, writeCheckpointFile } from "../src/node/index.js";
import { baseInput, memFile, newFile, PAGE, pageOf, SparseRam, sameBytes } from "./support/helpers.js";

let dir: string;
beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-compact-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A RAM with distinct, repeated and zero pages (zero pages are never stored). */
function ram(): SparseRam {
  const r = new SparseRam(256 * PAGE);
  for (let i = 0; i < 60; i++) r.write(i * 3, pageOf(i));
  r.write(200, pageOf(7)); // the same as page 21
  r.write(201, new Uint8Array(PAGE)); // zeros
  return r;
}

function image(r: SparseRam, codec: string, over = {}): Uint8Array {
  const f = newFile();
  writeCheckpoint(f, baseInput(r, { codec, ...over }));
  return f.contents().slice();
}

/** Every page of the image's RAM, back to back. */
function pagesOf(bytes: Uint8Array): Uint8Array {
  const seg = CheckpointReader.open(memFile(bytes)).segment("ram");
  return seg.read(0, seg.size);
}

describe("fast codecs and compact", { timeout: 120_000 }, () => {
  test("an image has one digest whatever codec stores its pages; each reads back and verifies", () => {
    const r = ram();
    const digests = new Set<string>();
    const want = pagesOf(image(r, "zstd"));
    for (const codec of ["none", "lz4", "zstd"]) {
      const bytes = image(r, codec, { dedup: true });
      const rd = CheckpointReader.open(memFile(bytes));
      rd.verify();
      digests.add(rd.digest);
      expect(sameBytes(pagesOf(bytes), want), codec).toBe(true);
      for (let p = 0; p < 256; p++) expect(sameBytes(rd.segment("ram").readPage(p), r.read(p))).toBe(true);
    }
    expect(digests.size).toBe(1);
  });

  test("compact recompresses block for block: same digest, smaller, same pages, verifies", () => {
    const r = ram();
    const fast = image(r, "none");
    const src = CheckpointReader.open(memFile(fast));
    const out = newFile("compact.ambc");
    const res = compactCheckpoint(src, out);
    expect(res.digest).toBe(src.digest);
    const packed = out.contents().slice();
    expect(packed.length).toBeLessThan(fast.length);
    const rd = CheckpointReader.open(memFile(packed));
    rd.verify();
    expect(rd.digest).toBe(src.digest);
    expect(sameBytes(pagesOf(packed), pagesOf(fast))).toBe(true);
    // And back to a fast codec: still the same image.
    const back = newFile("back.ambc");
    expect(compactCheckpoint(rd, back, { codec: "lz4" }).digest).toBe(src.digest);
  });

  test("a child saved on a fast parent resumes from the compacted parent (found by the same digest)", () => {
    const r = ram();
    const parentBytes = image(r, "none");
    const parent = CheckpointReader.open(memFile(parentBytes, "base.ambc"));
    const changed = pageOf(3).slice();
    changed[100] ^= 0xff;
    const child = new SparseRam(r.size);
    child.write(9, changed);
    const cf = newFile("child.ambc");
    writeCheckpoint(cf, baseInput(child, { codec: "none", parent, parentHint: "base.ambc" }));
    const compacted = newFile("base.ambc");
    compactCheckpoint(parent, compacted);
    const packedParent = CheckpointReader.open(memFile(compacted.contents().slice(), "base.ambc"));
    const rd = CheckpointReader.open(memFile(cf.contents().slice(), "child.ambc"), { parent: packedParent });
    rd.verify();
    expect(rd.segment("ram").readPage(9)).toEqual(changed);
    expect(rd.segment("ram").readPage(6)).toEqual(r.read(6));
  });

  test("compact refuses a damaged image and an image whose hash covers its stored bytes", () => {
    const r = ram();
    const fast = image(r, "none");
    const rd = CheckpointReader.open(memFile(fast, "bad.ambc"));
    const { offset } = rd.store.segmentData(rd.segment("ram").entry);
    const bad = fast.slice();
    bad[(offset ?? 0) + 32 + 500] ^= 1; // inside the first block: its XXH64 no longer matches
    expect(() => compactCheckpoint(CheckpointReader.open(memFile(bad, "bad.ambc")), newFile())).toThrow(
      expect.objectContaining({ code: "CHECKSUM_MISMATCH" }),
    );
    const legacy = CheckpointReader.open(memFile(image(r, "zstd", { hashStoredBytes: true }), "old.ambc"));
    expect(() => compactCheckpoint(legacy, newFile())).toThrow(
      expect.objectContaining({ code: "UNSUPPORTED_FEATURE" }),
    );
  });

  test("compactCheckpointFile replaces the file atomically and never touches a damaged one", () => {
    const r = ram();
    const path = join(dir, "img.ambc");
    const w = writeCheckpointFile(path, baseInput(r, { codec: "none" }));
    const before = readFileSync(path);
    expect(compactCheckpointFile(path).digest).toBe(w.digest);
    expect(readFileSync(path).length).toBeLessThan(before.length);
    const bad = join(dir, "bad.ambc");
    const bytes = new Uint8Array(before);
    bytes[bytes.length - 300] ^= 0x40; // in the tables: refused on open
    writeFileSync(bad, bytes);
    expect(() => compactCheckpointFile(bad)).toThrow();
    expect(new Uint8Array(readFileSync(bad))).toEqual(bytes);
  });

  test("a segment with no stored pages saves, verifies and compacts (an empty content hash)", () => {
    const empty = new SparseRam(16 * PAGE);
    const f = newFile("empty.ambc");
    const w = writeCheckpoint(f, baseInput(empty, { codec: "none" }));
    const rd = CheckpointReader.open(memFile(f.contents().slice(), "empty.ambc"));
    rd.verify();
    expect(rd.segment("ram").storedRanges().length).toBe(0);
    expect(compactCheckpoint(rd, newFile()).digest).toBe(w.digest);
  });

  test("the native BLAKE3 (where it loads) gives the same digests as the WASM one", async () => {
    const native = nativeBlake3();
    if (native === undefined) return; // this platform has no addon: WASM only, nothing to compare
    const r = ram();
    useBlake3Backend(undefined);
    await initCheckpoint(); // loads the WASM BLAKE3, which the native one made unnecessary
    const wasm = CheckpointReader.open(memFile(image(r, "none"))).digest;
    useBlake3Backend(native);
    try {
      expect(CheckpointReader.open(memFile(image(r, "none"))).digest).toBe(wasm);
    } finally {
      useBlake3Backend(native);
    }
  });
});
