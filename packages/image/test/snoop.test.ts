import { initCodecs } from "@amber/compress";
import { beforeAll, describe, expect, test } from "vitest";
import { type ImageWrite, MemoryBlockFile, MemoryImageHost, openImage, writePages } from "../src/index.js";

beforeAll(async () => {
  await initCodecs();
});

const KiB = 1024;

describe("snoop hooks", () => {
  test("see every write (offset, length, the layer that took it), shadowed or written through, until removed", () => {
    const host = new MemoryImageHost();
    host.add("base.raw", new Uint8Array(64 * KiB));
    // A qcow2 diff over the raw base: writable in place, or shadowed when opened read-only.
    const diff = new MemoryBlockFile(new Uint8Array(0), "top.qcow2");
    const base = openImage(host, "base.raw");
    writePages(base.dirtySource(), diff, { format: "qcow2", backingName: "base.raw", backingFormat: "raw" });
    base.close();
    host.files.set("top.qcow2", diff);

    const shadowed = openImage(host, "top.qcow2");
    const seen: ImageWrite[] = [];
    const stop = shadowed.snoop((w) => seen.push(w));
    shadowed.write(4096, new Uint8Array(512).fill(7));
    shadowed.write(100, new Uint8Array(8000)); // across pages: one event for the whole write
    stop();
    shadowed.write(0, new Uint8Array(1));
    expect(seen).toEqual([
      { offset: 4096, length: 512, layer: 2 },
      { offset: 100, length: 8000, layer: 2 },
    ]);
    shadowed.close();

    const through = openImage(host, "top.qcow2", { writable: true });
    const layers: number[] = [];
    through.snoop((w) => layers.push(w.layer));
    through.write(0, new Uint8Array([1, 2, 3]));
    expect(layers).toEqual([1]);
    expect(through.read(0, 3)).toEqual(new Uint8Array([1, 2, 3]));
    through.close();
  });
});
