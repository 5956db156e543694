import { initCodecs } from "@amber/compress";
import { beforeAll, describe, expect, test } from "vitest";
import {
  AmberLayer,
  flatten,
  Image,
  ImageError,
  MemoryBlockFile,
  MemoryImageHost,
  openImage,
  openLayers,
  RawLayer,
  saveDiff,
} from "../src/index.js";
import { pseudoRandom, sameBytes } from "./support/qemu-img.js";

beforeAll(async () => {
  await initCodecs();
});

const KiB = 1024;

describe("layers", () => {
  test("later layers override earlier ones; unmapped pages fall through to the init pattern", () => {
    const base = new MemoryBlockFile(new Uint8Array(64 * KiB).fill(1), "base", false);
    const mid = new MemoryBlockFile(new Uint8Array(8 * KiB).fill(2), "mid", false);
    const top = new MemoryBlockFile(new Uint8Array(4 * KiB).fill(3), "top", false);
    const image = new Image(
      [
        new RawLayer(base, { size: 128 * KiB, ranges: [{ start: 0, size: 64 * KiB, fileOffset: 0 }] }),
        new RawLayer(mid, { size: 128 * KiB, ranges: [{ start: 16 * KiB, size: 8 * KiB, fileOffset: 0 }] }),
        new RawLayer(top, { size: 128 * KiB, ranges: [{ start: 20 * KiB, size: 4 * KiB, fileOffset: 0 }] }),
      ],
      { initByte: 0xee },
    );
    expect(image.read(0, 1)[0]).toBe(1);
    expect(image.read(16 * KiB, 1)[0]).toBe(2);
    expect(image.read(20 * KiB, 1)[0]).toBe(3);
    expect(image.read(24 * KiB, 1)[0]).toBe(1);
    expect(image.read(64 * KiB, 1)[0]).toBe(0xee);
    // A read across layer boundaries stitches pages from different layers.
    const span = image.read(20 * KiB - 2, 4 * KiB + 4);
    expect([span[0], span[2], span[span.length - 1]]).toEqual([2, 3, 1]);
  });

  test("writes are shadowed: the base never changes, and a diff layer over it reproduces the writes", () => {
    const host = new MemoryImageHost();
    const original = pseudoRandom(256 * KiB, 7);
    host.add("disk.raw", original.slice());
    const image = openImage(host, "disk.raw");
    expect(image.writeThrough).toBe(false);
    image.write(5000, Uint8Array.of(9, 9, 9));
    image.write(200 * KiB, new Uint8Array(10 * KiB).fill(0x55));
    expect(image.read(5000, 3)).toEqual(Uint8Array.of(9, 9, 9));
    expect(sameBytes(host.files.get("disk.raw")?.contents(), original)).toBe(true);
    expect(image.dirtyPageCount).toBe(1 + 3);

    for (const format of ["amber", "qcow2"] as const) {
      const diff = host.add(`diff.${format}`);
      saveDiff(image, diff, { format, backingName: "disk.raw", backingFormat: "raw" });
      const reopened = openImage(host, `diff.${format}`);
      expect(reopened.layers.map((l) => l.format)).toEqual(["raw", format]);
      expect(sameBytes(reopened.read(0, reopened.size), image.read(0, image.size))).toBe(true);
      reopened.close();
    }
    expect(sameBytes(host.files.get("disk.raw")?.contents(), original)).toBe(true);
  });

  test("flatten merges a stack into one standalone layer; commit writes the top into the base", () => {
    const host = new MemoryImageHost();
    host.add("base.raw", pseudoRandom(64 * KiB, 3));
    const image = openImage(host, "base.raw");
    image.write(4096, new Uint8Array(4096).fill(0xab));
    const diff = host.add("d.amber");
    saveDiff(image, diff, { format: "amber", backingName: "base.raw" });
    const stack = openImage(host, "d.amber");
    stack.write(0, Uint8Array.of(1, 2, 3));
    const flat = host.add("flat.amber");
    flatten(stack, flat, { format: "amber" });
    const alone = openImage(host, "flat.amber");
    expect(alone.layers.length).toBe(1);
    expect(sameBytes(alone.read(0, alone.size), stack.read(0, stack.size))).toBe(true);

    // commit: the diff's pages go into the (writable) base.
    const expected = openImage(host, "d.amber").read(0, 64 * KiB);
    const forCommit = openLayers(host, [{ path: "base.raw" }, { path: "d.amber" }]);
    expect(() => forCommit.commitTopInto()).toThrow(/not writable/);
    const base = new RawLayer(host.open("base.raw", true));
    const committing = new Image([base, new AmberLayer(host.open("d.amber", false))]);
    expect(committing.commitTopInto()).toBe(1);
    expect(sameBytes(host.files.get("base.raw")?.contents(), expected)).toBe(true);
  });

  test("init pattern, cacheReads and discard", () => {
    const image = new Image([], { size: 64 * KiB, initByte: 0x5a, cacheReads: true });
    expect(image.read(100, 2)).toEqual(Uint8Array.of(0x5a, 0x5a));
    expect(image.budget.usedBytes).toBe(4096);
    image.write(100, Uint8Array.of(1));
    expect(image.read(99, 3)).toEqual(Uint8Array.of(0x5a, 1, 0x5a));
    image.discardChanges();
    expect(image.read(100, 1)[0]).toBe(0x5a);
    expect(() => image.read(64 * KiB - 1, 2)).toThrow(ImageError);
  });

  test("names resolve along a search path; loops in backing chains are refused", () => {
    const host = new MemoryImageHost();
    host.add("/images/base.raw", new Uint8Array(8192).fill(4));
    const image = openImage(host, "/images/base.raw");
    image.write(0, Uint8Array.of(8));
    saveDiff(image, host.add("/work/top.amber"), {
      format: "amber",
      backingName: "base.raw",
      backingFormat: "raw",
    });
    expect(() => openImage(host, "/work/top.amber")).toThrow(/not found/);
    const moved = openImage(host, "/work/top.amber", { searchPath: ["/images"] });
    expect(moved.read(0, 2)).toEqual(Uint8Array.of(8, 4));

    const a = openImage(host, "/images/base.raw");
    a.write(0, Uint8Array.of(1));
    saveDiff(a, host.add("/loop/a.amber"), { format: "amber", backingName: "b.amber" });
    saveDiff(a, host.add("/loop/b.amber"), { format: "amber", backingName: "a.amber" });
    expect(() => openImage(host, "/loop/a.amber")).toThrow(expect.objectContaining({ code: "BACKING_LOOP" }));
  });

  test("a writable top takes the writes; layers below stay untouched", () => {
    const host = new MemoryImageHost();
    const base = pseudoRandom(128 * KiB, 11);
    host.add("base.raw", base.slice());
    const image = openImage(host, "base.raw");
    saveDiff(image, host.add("top.qcow2"), {
      format: "qcow2",
      backingName: "base.raw",
      backingFormat: "raw",
    });
    const rw = openImage(host, "top.qcow2", { writable: true });
    expect(rw.writeThrough).toBe(true);
    rw.write(70000, Uint8Array.of(1, 2, 3, 4));
    rw.close();
    expect(sameBytes(host.files.get("base.raw")?.contents(), base)).toBe(true);
    const again = openImage(host, "top.qcow2");
    const expected = base.slice();
    expected.set([1, 2, 3, 4], 70000);
    expect(sameBytes(again.read(0, again.size), expected)).toBe(true);
  });
});
