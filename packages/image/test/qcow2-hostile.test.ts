import { initCodecs } from "@amber/compress";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import {
  Image,
  ImageError,
  MemoryBlockFile,
  MemoryImageHost,
  openImage,
  Qcow2Layer,
  writeQcow2,
} from "../src/index.js";
import "../src/node/index.js";
import { pseudoRandom } from "./support/qemu-img.js";

beforeAll(async () => {
  await initCodecs();
});

function sampleQcow2(compression?: "zlib" | "zstd"): Uint8Array {
  const image = new Image([], { size: 256 * 1024 });
  image.write(0, pseudoRandom(70000, 1));
  image.write(200000, new TextEncoder().encode("qcow2 ".repeat(2000)));
  const out = new MemoryBlockFile();
  writeQcow2(image.dirtySource(), out, { clusterSize: 4096, compression });
  return out.contents().slice();
}

const open = (b: Uint8Array) => new Qcow2Layer(new MemoryBlockFile(b, "t.qcow2", false));
const set64 = (b: Uint8Array, at: number, n: bigint) =>
  new DataView(b.buffer, b.byteOffset).setBigUint64(at, n);

describe("hostile qcow2", () => {
  test("unknown incompatible bits are refused; unknown compatible and autoclear bits ignored", () => {
    const b = sampleQcow2();
    set64(b, 72, 1n << 40n);
    expect(() => open(b)).toThrow(
      expect.objectContaining({
        code: "UNSUPPORTED_FEATURE",
        message: expect.stringMatching(/unknown incompatible.*bit 40/),
      }),
    );
    set64(b, 72, 0n);
    set64(b, 80, 1n << 33n);
    set64(b, 88, 1n << 20n);
    expect(() => open(b)).not.toThrow();
    set64(b, 72, 1n << 4n);
    expect(() => open(b)).toThrow(/extended L2/);
  });

  test("tables pointing outside the file, absurd sizes and loops are clear errors", () => {
    const b = sampleQcow2();
    set64(b, 40, 1n << 40n);
    expect(() => open(b)).toThrow(
      expect.objectContaining({ code: "CORRUPT", message: expect.stringMatching(/L1 table/) }),
    );
    const c = sampleQcow2();
    set64(c, 24, 1n << 60n);
    expect(() => open(c)).toThrow(expect.objectContaining({ code: "LIMIT_EXCEEDED" }));
    const d = sampleQcow2();
    // The first L1 entry now points far past the end.
    const l1 = Number(new DataView(d.buffer).getBigUint64(40));
    set64(d, l1, (1n << 63n) | (1n << 36n));
    expect(() => open(d)).toThrow(/outside/);

    const host = new MemoryImageHost();
    const withBacking = (name: string) => {
      const img = new Image([], { size: 65536 });
      const out = new MemoryBlockFile();
      writeQcow2(img.dirtySource(), out, { backingName: name, backingFormat: "qcow2" });
      return out.contents().slice();
    };
    host.add("a.qcow2", withBacking("b.qcow2"));
    host.add("b.qcow2", withBacking("a.qcow2"));
    expect(() => openImage(host, "a.qcow2")).toThrow(expect.objectContaining({ code: "BACKING_LOOP" }));
    host.add("self.qcow2", withBacking("self.qcow2"));
    expect(() => openImage(host, "self.qcow2")).toThrow(/loops/);
  });

  test.each([undefined, "zlib", "zstd"] as const)(
    "fuzz (%s): mutated files give an ImageError, never a crash",
    (compression) => {
      const good = sampleQcow2(compression);
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(fc.nat(Math.min(good.length - 1, 3 * 4096 + 600)), fc.integer({ min: 0, max: 255 })),
            { minLength: 1, maxLength: 6 },
          ),
          fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
          (headerEdits, anyEdits) => {
            const b = good.slice();
            for (const [at, value] of [...headerEdits, ...anyEdits]) b[at] = value;
            try {
              const layer = open(b);
              for (const [start] of layer.extents()) layer.read(start, 4096);
            } catch (e) {
              if (!(e instanceof ImageError)) throw e;
            }
          },
        ),
        { numRuns: 700, seed: 7 },
      );
    },
  );
});
