import { writeFileSync } from "node:fs";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checkLayer, Image, ImageError, MemoryBlockFile, Qcow2Layer, writeQcow2 } from "../src/index.js";
import { NodeBlockFile } from "../src/node/index.js";
import { pseudoRandom, tempDir } from "./support/qemu-img.js";

beforeAll(async () => {
  await initCodecs();
});
const tmp = tempDir();
afterAll(() => tmp.remove());

const CS = 4096;

function sample(): Uint8Array {
  // 8 MiB: four L1 entries (one L2 table of 4 KiB clusters maps 2 MiB), two of them used.
  const image = new Image([], { size: 8 << 20 });
  image.write(0, pseudoRandom(20000, 3));
  image.write(5 << 20, pseudoRandom(9000, 4));
  const out = new MemoryBlockFile();
  writeQcow2(image.dirtySource(), out, { clusterSize: CS });
  return out.contents().slice();
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.length);
const u64 = (b: Uint8Array, at: number) => Number(view(b).getBigUint64(at) & 0x00ffffffffffffffn);
const set64 = (b: Uint8Array, at: number, v: bigint) => view(b).setBigUint64(at, v);

/** Where things are in the sample: the L1 table, the first L2 table, the refcount table. */
function layout(b: Uint8Array) {
  const l1 = u64(b, 40);
  const l2 = u64(b, l1) & ~511;
  return { l1, l2, refTable: u64(b, 48) };
}

/** `check` on bytes: a report, or an ImageError; never anything else. */
function check(b: Uint8Array): { corruptions: number; leaks: number; messages: string[] } | ImageError {
  try {
    return checkLayer(new Qcow2Layer(new MemoryBlockFile(b, "t.qcow2", false)));
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw e;
  }
}

describe("qcow2 check on damaged files (findings of the mutation fuzzer)", () => {
  test("the sample is clean", () => {
    expect(check(sample())).toMatchObject({ corruptions: 0, leaks: 0 });
  });

  test("an L2 entry with the zero flag and an unaligned cluster offset is corruption, not a RangeError", () => {
    const b = sample();
    const { l2 } = layout(b);
    // Entry 1: "zero" with a host offset 512 bytes into a cluster.
    set64(b, l2 + 8, 0x8000000000000000n | BigInt(3 * CS + 512) | 1n);
    const r = check(b);
    expect(r instanceof ImageError ? r.code : r.corruptions).toBe(r instanceof ImageError ? "CORRUPT" : 1);
    expect(r instanceof ImageError ? r.message : r.messages.join()).toMatch(/unaligned or outside/);
  });

  test("an L1 table whose entries repeat one L2 table is refused (walks stay bounded by the file)", () => {
    const b = sample();
    const { l1 } = layout(b);
    const first = view(b).getBigUint64(l1);
    for (let i = 1; i < 4; i++) set64(b, l1 + i * 8, first);
    expect(() => new Qcow2Layer(new MemoryBlockFile(b, "t.qcow2", false))).toThrow(
      expect.objectContaining({ code: "CORRUPT", message: expect.stringMatching(/already uses/) }),
    );
  });

  test("a refcount table full of repeated blocks is reported at once, not walked for ever", () => {
    const b = sample();
    const { refTable } = layout(b);
    const block = view(b).getBigUint64(refTable);
    // A shifted file: the refcount table is filled with copies of its first entry.
    for (let i = 1; i < CS / 8; i++) set64(b, refTable + i * 8, block);
    const r = check(b);
    expect(r).not.toBeInstanceOf(ImageError);
    const report = r as Exclude<typeof r, ImageError>;
    expect(report.corruptions).toBe(CS / 8 - 1);
    expect(report.messages[0]).toMatch(
      /refcount block 1 at \d+ is already refcount block of an earlier entry/,
    );
  });

  test("offsets beyond 2^53 are corruption before any read (no negative file position)", () => {
    const b = sample();
    set64(b, 48, 0x7ff0000000000000n); // refcount_table_offset
    const p = tmp.path("huge.qcow2");
    writeFileSync(p, b);
    expect(() => new Qcow2Layer(new NodeBlockFile(p, false))).toThrow(
      expect.objectContaining({
        code: "CORRUPT",
        offset: 48,
        message: expect.stringMatching(/beyond 2\^53/),
      }),
    );
    const c = sample();
    set64(c, 48, BigInt(c.length + CS)); // aligned, but past the end
    const r = check(c);
    expect(r).toMatchObject({
      corruptions: 1,
      messages: [expect.stringMatching(/refcount table at \d+ .* outside/)],
    });
  });
});
