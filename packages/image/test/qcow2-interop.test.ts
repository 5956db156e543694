import { readFileSync, writeFileSync } from "node:fs";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checkLayer, flatten, openImage, saveDiff } from "../src/index.js";
import { nodeImageHost, writeFileAtomic } from "../src/node/index.js";
import { diskPattern, hasQemuImg, qemuImg, qemuImgOk, sameBytes, tempDir } from "./support/qemu-img.js";

const tmp = tempDir();
const SIZE = 3 * 1024 * 1024 + 512 * 3; // not a multiple of the cluster size, on purpose
const original = diskPattern(SIZE, 5);

beforeAll(async () => {
  await initCodecs();
  writeFileSync(tmp.path("orig.raw"), original);
});
afterAll(() => tmp.remove());

function checkClean(file: string): void {
  const r = qemuImg("check", file);
  expect(r.stdout + r.stderr, `qemu-img check ${file}`).toMatch(/No errors were found/);
  expect(r.status).toBe(0);
}

describe.skipIf(!hasQemuImg)("qcow2 interop with qemu-img", () => {
  test.each([
    ["plain", undefined, 65536],
    ["zlib", "zlib", 65536],
    ["zstd", "zstd", 65536],
    ["small clusters", undefined, 4096],
  ] as const)(
    "Amber writes %s qcow2 that passes qemu-img check and compare",
    (_, compression, clusterSize) => {
      const out = tmp.path(`amber-${_.replace(" ", "-")}.qcow2`);
      const image = openImage(nodeImageHost, tmp.path("orig.raw"));
      writeFileAtomic(out, (f) => flatten(image, f, { format: "qcow2", compression, clusterSize }));
      image.close();
      checkClean(out);
      expect(qemuImg("compare", "-f", "raw", "-F", "qcow2", tmp.path("orig.raw"), out).status).toBe(0);
      const info = JSON.parse(qemuImgOk("info", "--output=json", out));
      expect(info["virtual-size"]).toBe(SIZE);
      if (compression === "zstd") expect(info["format-specific"].data["compression-type"]).toBe("zstd");
    },
  );

  test.each([
    ["plain", []],
    ["zlib-compressed", ["-c"]],
    ["zstd-compressed", ["-c", "-o", "compression_type=zstd"]],
    ["v2 (compat=0.10), 512 B clusters", ["-o", "compat=0.10,cluster_size=512"]],
  ])("files qemu-img convert makes (%s) read back correctly", (name, args) => {
    const out = tmp.path(`qemu-${name.replace(/\W+/g, "-")}.qcow2`);
    qemuImgOk("convert", "-f", "raw", "-O", "qcow2", ...args, tmp.path("orig.raw"), out);
    const image = openImage(nodeImageHost, out);
    expect(sameBytes(image.read(0, image.size), original)).toBe(true);
    // Our own check agrees with qemu-img's on files qemu-img made.
    expect(checkLayer(image.layers[0])).toEqual({ corruptions: 0, leaks: 0, messages: [] });
    image.close();
  });

  test("backing chains made by qemu-img read back; an Amber diff over them passes check", () => {
    const base = tmp.path("chain-base.qcow2");
    const mid = tmp.path("chain-mid.qcow2");
    qemuImgOk("convert", "-f", "raw", "-O", "qcow2", tmp.path("orig.raw"), base);
    qemuImgOk("create", "-f", "qcow2", "-b", "chain-base.qcow2", "-F", "qcow2", mid);
    // qemu-io is not assumed: write into mid through qemu-img's own dd-free path (commit of a raw patch).
    const expected = original.slice();
    const chain = openImage(nodeImageHost, mid, { writable: true });
    expect(chain.layers.length).toBe(2);
    chain.write(100_000, new Uint8Array(70_000).fill(0x77));
    expected.fill(0x77, 100_000, 170_000);
    chain.close();
    checkClean(mid);
    expect(qemuImg("compare", "-f", "raw", "-F", "qcow2", tmp.path("orig.raw"), mid).status).toBe(1);
    writeFileSync(tmp.path("expected.raw"), expected);
    expect(qemuImg("compare", "-f", "raw", "-F", "qcow2", tmp.path("expected.raw"), mid).status).toBe(0);

    // Shadowed writes over the chain, saved as a qcow2 diff naming mid as its backing.
    const shadow = openImage(nodeImageHost, mid);
    shadow.write(5, Uint8Array.of(1, 2, 3));
    shadow.write(2 * 1024 * 1024, new Uint8Array(4096));
    expected.set([1, 2, 3], 5);
    expected.fill(0, 2 * 1024 * 1024, 2 * 1024 * 1024 + 4096);
    const top = tmp.path("chain-top.qcow2");
    writeFileAtomic(top, (f) =>
      saveDiff(shadow, f, { format: "qcow2", backingName: "chain-mid.qcow2", backingFormat: "qcow2" }),
    );
    shadow.close();
    checkClean(top);
    writeFileSync(tmp.path("expected2.raw"), expected);
    expect(qemuImg("compare", "-f", "raw", "-F", "qcow2", tmp.path("expected2.raw"), top).status).toBe(0);
    const back = openImage(nodeImageHost, top);
    expect(back.layers.length).toBe(3);
    expect(sameBytes(back.read(0, back.size), expected)).toBe(true);
    back.close();
  });

  test("writing into a compressed qcow2 made by qemu-img keeps it valid", () => {
    const f = tmp.path("rw-compressed.qcow2");
    qemuImgOk("convert", "-f", "raw", "-O", "qcow2", "-c", tmp.path("orig.raw"), f);
    const image = openImage(nodeImageHost, f, { writable: true });
    image.write(65536 + 10, Uint8Array.of(0xde, 0xad));
    image.write(SIZE - 2, Uint8Array.of(0xbe, 0xef));
    image.close();
    checkClean(f);
    const reopened = openImage(nodeImageHost, f);
    expect(checkLayer(reopened.layers[0]).corruptions).toBe(0);
    reopened.close();
    const expected = original.slice();
    expected.set([0xde, 0xad], 65546);
    expected.set([0xbe, 0xef], SIZE - 2);
    writeFileSync(tmp.path("expected3.raw"), expected);
    expect(qemuImg("compare", "-f", "raw", "-F", "qcow2", tmp.path("expected3.raw"), f).status).toBe(0);
  });

  test("an image qemu-img create makes is empty and sized", () => {
    const f = tmp.path("empty.qcow2");
    qemuImgOk("create", "-f", "qcow2", f, "10M");
    const image = openImage(nodeImageHost, f);
    expect(image.size).toBe(10 * 1024 * 1024);
    expect(image.read(5_000_000, 4).every((b) => b === 0)).toBe(true);
    image.close();
    expect(readFileSync(f).length).toBeGreaterThan(0);
  });
});
