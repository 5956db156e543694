import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checkLayer, flatten, openImage, VhdxLayer } from "../src/index.js";
import { nodeImageHost, writeFileAtomic } from "../src/node/index.js";
import { diskPattern, hasQemuImg, qemuImg, qemuImgOk, sameBytes, tempDir } from "./support/qemu-img.js";

const tmp = tempDir();
const SIZE = 24 * 1024 * 1024 + 512 * 5; // not a multiple of any block size, on purpose
const original = diskPattern(SIZE, 7);
const MiB = 1024 * 1024;

beforeAll(() => {
  writeFileSync(tmp.path("orig.raw"), original);
});
afterAll(() => tmp.remove());

function checkClean(file: string): void {
  const r = qemuImg("check", "-f", "vhdx", file);
  expect(r.stdout + r.stderr, `qemu-img check ${file}`).toMatch(/No errors were found/);
  expect(r.status).toBe(0);
}

function qemuIo(file: string, ...commands: string[]): void {
  execFileSync("qemu-io", ["-f", "vhdx", ...commands.flatMap((c) => ["-c", c]), file], { encoding: "utf8" });
}

describe.skipIf(!hasQemuImg)("VHDX interop with qemu-img", () => {
  test.each([
    ["dynamic", "1M"],
    ["dynamic", "8M"],
    ["fixed", "2M"],
    ["fixed", "32M"],
  ])("files qemu-img convert makes (%s, block_size=%s) read back byte-identically", (sub, bs) => {
    const f = tmp.path(`qemu-${sub}-${bs}.vhdx`);
    qemuImgOk(
      "convert",
      "-f",
      "raw",
      "-O",
      "vhdx",
      "-o",
      `subformat=${sub},block_size=${bs}`,
      tmp.path("orig.raw"),
      f,
    );
    const image = openImage(nodeImageHost, f);
    const layer = image.layers[0] as VhdxLayer;
    expect(layer.format).toBe("vhdx");
    expect(layer.grain).toBe(Number.parseInt(bs, 10) * MiB);
    // Every block of the pattern holds data, so both subformats store every block.
    expect(layer.blockOffset(0)).toBeGreaterThanOrEqual(MiB);
    expect(image.size).toBe(SIZE);
    expect(sameBytes(image.read(0, SIZE), original)).toBe(true);
    image.close();
  });

  test("an empty dynamic file qemu-img create makes reads as zeros; qemu-io's writes read back", () => {
    const f = tmp.path("qemu-io.vhdx");
    qemuImgOk("create", "-f", "vhdx", "-o", "subformat=dynamic,block_size=1M", f, "20M");
    const empty = openImage(nodeImageHost, f);
    expect(empty.size).toBe(20 * MiB);
    // qemu-img marks a new dynamic file's blocks ZERO (or leaves them NOT_PRESENT): none is in the file.
    const layer = empty.layers[0] as VhdxLayer;
    for (let b = 0; b < 20; b++) expect(layer.blockOffset(b)).toBeUndefined();
    expect(empty.read(5 * MiB, 4096).every((b) => b === 0)).toBe(true);
    empty.close();
    qemuIo(f, "write -P 0xab 0 1M", "write -P 0xcd 5000k 12k", "write -P 0x11 20476k 4k");
    const image = openImage(nodeImageHost, f);
    const expected = new Uint8Array(20 * MiB);
    expected.fill(0xab, 0, MiB);
    expected.fill(0xcd, 5000 * 1024, 5012 * 1024);
    expected.fill(0x11, 20476 * 1024, 20480 * 1024);
    expect(sameBytes(image.read(0, image.size), expected)).toBe(true);
    image.close();
  });

  test.each([
    ["dynamic", undefined],
    ["dynamic", 1 * MiB],
    ["fixed", 4 * MiB],
  ] as const)(
    "Amber writes %s VHDX (block size %s) that passes qemu-img check and compare",
    (sub, blockSize) => {
      const out = tmp.path(`amber-${sub}-${blockSize ?? "default"}.vhdx`);
      const image = openImage(nodeImageHost, tmp.path("orig.raw"));
      writeFileAtomic(out, (f) => flatten(image, f, { format: "vhdx", subformat: sub, blockSize }));
      image.close();
      checkClean(out);
      expect(qemuImg("compare", "-f", "raw", "-F", "vhdx", tmp.path("orig.raw"), out).status).toBe(0);
      const info = JSON.parse(qemuImgOk("info", "-f", "vhdx", "--output=json", out));
      expect(info["virtual-size"]).toBe(SIZE);
      expect(info["cluster-size"]).toBe(blockSize ?? 8 * MiB);
      // Byte-identical through qemu-img's own reader.
      const back = tmp.path(`amber-${sub}-${blockSize}.back.raw`);
      qemuImgOk("convert", "-f", "vhdx", "-O", "raw", out, back);
      expect(sameBytes(readFileSync(back), original)).toBe(true);
      const reopened = openImage(nodeImageHost, out);
      expect(sameBytes(reopened.read(0, SIZE), original)).toBe(true);
      expect(checkLayer(reopened.layers[0]).corruptions).toBe(0);
      reopened.close();
    },
  );

  test("writing into qemu-made dynamic and fixed files: blocks allocated, headers updated, qemu-img agrees", () => {
    for (const sub of ["dynamic", "fixed"]) {
      const f = tmp.path(`rw-${sub}.vhdx`);
      qemuImgOk("create", "-f", "vhdx", "-o", `subformat=${sub},block_size=1M`, f, "12M");
      qemuIo(f, "write -P 0x42 2M 64k");
      const before = new VhdxLayer(nodeImageHost.open(f, false));
      const seq = before.header.sequenceNumber;
      const dataGuid = before.header.dataWriteGuid;
      before.close();
      const image = openImage(nodeImageHost, f, { writable: true });
      expect(image.writeThrough).toBe(true);
      image.write(100, Uint8Array.of(1, 2, 3)); // block 0
      image.write(2 * MiB + 10, Uint8Array.of(0xee)); // block 2, already present
      image.write(12 * MiB - 2, Uint8Array.of(0xbe, 0xef)); // last block
      image.write(7 * MiB - 1, Uint8Array.of(9, 9)); // straddles blocks 6 and 7
      image.close();
      const expected = new Uint8Array(12 * MiB);
      expected.fill(0x42, 2 * MiB, 2 * MiB + 65536);
      expected.set([1, 2, 3], 100);
      expected[2 * MiB + 10] = 0xee;
      expected.set([0xbe, 0xef], 12 * MiB - 2);
      expected.set([9, 9], 7 * MiB - 1);
      writeFileSync(tmp.path(`rw-${sub}.expected.raw`), expected);
      checkClean(f);
      expect(
        qemuImg("compare", "-f", "raw", "-F", "vhdx", tmp.path(`rw-${sub}.expected.raw`), f).status,
      ).toBe(0);
      const after = new VhdxLayer(nodeImageHost.open(f, false));
      expect(after.header.sequenceNumber).toBe(seq + 2n);
      expect(after.header.dataWriteGuid).not.toBe(dataGuid);
      after.close();
      // qemu-io still writes into it afterwards, and Amber reads what it wrote.
      qemuIo(f, "write -P 0x77 9M 4k");
      expected.fill(0x77, 9 * MiB, 9 * MiB + 4096);
      const again = openImage(nodeImageHost, f);
      expect(sameBytes(again.read(0, again.size), expected)).toBe(true);
      again.close();
    }
  });
});
