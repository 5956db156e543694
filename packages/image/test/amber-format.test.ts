import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { initCodecs, xxh64 } from "@amber/compress";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { AmberLayer, Image, ImageError, MemoryBlockFile, writeAmberLayer } from "../src/index.js";
import { pseudoRandom, sameBytes } from "./support/qemu-img.js";

beforeAll(async () => {
  await initCodecs();
});

function sampleLayer(): Uint8Array {
  const image = new Image([], { size: 96 * 1024, initByte: 0 });
  image.write(4096, pseudoRandom(8192, 3));
  image.write(40960, new TextEncoder().encode("amber layer ".repeat(300)));
  const out = new MemoryBlockFile();
  writeAmberLayer(image.dirtySource(), out, { backingName: "base.raw", backingFormat: "raw" });
  return out.contents().slice();
}

/** Sets byte `where` ("b[12]" or "last") to `value`, or flips bits with a negative value. */
function patch(b: Uint8Array, where: string, value: number): Uint8Array {
  const at = where === "last" ? b.length - 1 : Number(/\d+/.exec(where)?.[0]);
  b[at] = value < 0 ? b[at] ^ -value : value;
  return b;
}

const FIXTURES = join(import.meta.dirname, "fixtures");

/** Recomputes the header checksum after a mutation so the structural checks are reached. */
function resum(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length >= 96) v.setBigUint64(88, xxh64(bytes.subarray(0, 88)), true);
  return bytes;
}

describe("Amber layer format", () => {
  test("round trip: stored pages, ranges, backing name", () => {
    const bytes = sampleLayer();
    const layer = new AmberLayer(new MemoryBlockFile(bytes, "x.amber", false));
    expect(layer.backingName).toBe("base.raw");
    expect(layer.backingFormat).toBe("raw");
    expect([...layer.extents()]).toEqual([
      [4096, 8192],
      [40960, 4096],
    ]);
    expect(sameBytes(layer.read(4096, 8192 - 4096), pseudoRandom(8192, 3).subarray(0, 4096))).toBe(true);
    expect(layer.has(0)).toBe(false);
    layer.verify();
  });

  // Must-fail golden files: each must keep failing with its code. Regenerate on purpose with AMBER_UPDATE_FIXTURES=1.
  const mustFail: [string, string, (b: Uint8Array) => Uint8Array][] = [
    ["bad-magic.amber", "BAD_MAGIC", (b) => patch(b, "b[1]", 0x42)],
    ["truncated.amber", "TRUNCATED", (b) => b.subarray(0, 60)],
    ["header-checksum.amber", "CHECKSUM_MISMATCH", (b) => patch(b, "b[24]", -1)],
    ["unknown-incompat.amber", "UNSUPPORTED_FEATURE", (b) => resum(patch(b, "b[12]", 0x80))],
    ["future-version.amber", "UNSUPPORTED_VERSION", (b) => resum(patch(b, "b[8]", 2))],
    ["table-outside.amber", "CORRUPT", (b) => resum(patch(b, "b[47]", 0x7f))],
    ["absurd-size.amber", "LIMIT_EXCEEDED", (b) => resum(patch(b, "b[31]", 0x7f))],
    ["range-checksum.amber", "CHECKSUM_MISMATCH", (b) => patch(b, "last", -0xff)],
  ];
  test.each(mustFail)("must-fail golden file %s → %s", (name, code, mutate) => {
    const path = join(FIXTURES, name);
    if (process.env.AMBER_UPDATE_FIXTURES === "1" || !existsSync(path)) {
      mkdirSync(FIXTURES, { recursive: true });
      writeFileSync(path, mutate(sampleLayer()));
    }
    const bytes = new Uint8Array(readFileSync(path));
    expect(() => new AmberLayer(new MemoryBlockFile(bytes, name, false))).toThrow(
      expect.objectContaining({ code }),
    );
  });

  test("compatible feature bits are ignored", () => {
    const b = sampleLayer();
    b[19] = 0x40;
    expect(() => new AmberLayer(new MemoryBlockFile(resum(b), "c", false))).not.toThrow();
  });

  test("fuzz: mutated layers give an ImageError or read back, never anything else", () => {
    const good = sampleLayer();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.boolean(),
        fc.nat(good.length),
        (edits, fixSum, cut) => {
          let b: Uint8Array = good.slice();
          for (const [at, value] of edits) b[at] = value;
          if (fixSum) b = resum(b);
          if (cut < 40) b = b.subarray(0, good.length - cut);
          try {
            const layer = new AmberLayer(new MemoryBlockFile(b, "fuzz", false));
            for (const [start, length] of layer.extents()) {
              for (let at = start; at < start + length; at += layer.grain) layer.read(at, layer.grain);
            }
          } catch (e) {
            if (!(e instanceof ImageError)) throw e;
          }
        },
      ),
      { numRuns: 1500, seed: 42 },
    );
  });
});
