import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  checkLayer,
  flatten,
  Image,
  isImageError,
  MemoryBlockFile,
  openImage,
  VhdxLayer,
  writeVhdx,
} from "../src/index.js";
import { nodeImageHost, writeFileAtomic } from "../src/node/index.js";
import {
  diskPattern,
  hasQemuImg,
  pseudoRandom,
  qemuImg,
  qemuImgOk,
  sameBytes,
  tempDir,
} from "./support/qemu-img.js";

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

  test("past 4 GiB the BAT interleaves sector bitmap entries: Amber and qemu-io agree on where blocks are", () => {
    // 512-byte sectors: one sector bitmap entry after every 4096 payload entries of 1 MiB blocks.
    const f = tmp.path("big.vhdx");
    const GiB = 1024 * MiB;
    qemuImgOk("create", "-f", "vhdx", "-o", "block_size=1M", f, "6G");
    qemuIo(f, `write -P 0x33 ${4 * GiB + 3 * MiB} 64k`, `write -P 0x44 ${10 * MiB} 4k`);
    const image = openImage(nodeImageHost, f, { writable: true });
    expect(image.size).toBe(6 * GiB);
    expect(image.read(4 * GiB + 3 * MiB, 65536).every((b) => b === 0x33)).toBe(true);
    expect(image.read(4 * GiB + 3 * MiB - 4, 4)).toEqual(new Uint8Array(4));
    expect(image.read(10 * MiB, 4096).every((b) => b === 0x44)).toBe(true);
    image.write(5 * GiB + MiB, new Uint8Array(8192).fill(0x55));
    image.write(4 * GiB - 4096, new Uint8Array(4096).fill(0x66)); // the last block before the bitmap entry
    image.close();
    const r = qemuImg("check", "-f", "vhdx", f);
    expect(r.stdout, r.stderr).toMatch(/No errors were found/);
    // qemu-io's read -P fails unless every byte has the pattern.
    const verify = (pattern: number, at: number, n: number) => {
      const out = execFileSync("qemu-io", ["-f", "vhdx", "-c", `read -P ${pattern} ${at} ${n}`, f], {
        encoding: "utf8",
      });
      expect(out, `${at}+${n}`).not.toMatch(/Pattern verification failed/);
    };
    verify(0x55, 5 * GiB + MiB, 8192);
    verify(0x66, 4 * GiB - 4096, 4096);
    verify(0x33, 4 * GiB + 3 * MiB, 65536);
    verify(0, 5 * GiB, MiB);
  });

  test("Amber writes a 6 GiB dynamic file with data past 4 GiB that qemu-img checks and qemu-io reads", () => {
    const GiB = 1024 * MiB;
    const f = tmp.path("amber-big.vhdx");
    const image = new Image([], { size: 6 * GiB });
    image.write(5 * GiB + 3 * MiB, new Uint8Array(4096).fill(0x71));
    image.write(4 * GiB - 512, new Uint8Array(512).fill(0x72));
    writeFileAtomic(f, (out) => writeVhdx(image.dirtySource(), out, { blockSize: MiB }));
    checkClean(f);
    for (const [pattern, at, n] of [
      [0x71, 5 * GiB + 3 * MiB, 4096],
      [0x72, 4 * GiB - 512, 512],
      [0, 5 * GiB, 3 * MiB],
    ] as const)
      execFileSync("qemu-io", ["-f", "vhdx", "-c", `read -P ${pattern} ${at} ${n}`, f]);
  });

  test("block_state_zero=off (NOT_PRESENT blocks) and a 2 MiB log: reads and writes agree with qemu-img", () => {
    const f = tmp.path("notpresent.vhdx");
    qemuImgOk("create", "-f", "vhdx", "-o", "block_size=2M,block_state_zero=off,log_size=2M", f, "64M");
    qemuIo(f, "write -P 0x21 0 12k", "write -P 0x22 40M 1M");
    const image = openImage(nodeImageHost, f, { writable: true });
    const layer = image.layers[0] as VhdxLayer;
    expect(layer.blockState(5)).toBe(0); // not present
    expect(layer.header.logLength).toBe(2 * MiB);
    const expected = new Uint8Array(64 * MiB);
    expected.fill(0x21, 0, 12288);
    expected.fill(0x22, 40 * MiB, 41 * MiB);
    expect(sameBytes(image.read(0, image.size), expected)).toBe(true);
    image.write(11 * MiB, new Uint8Array(100).fill(0x23));
    expected.fill(0x23, 11 * MiB, 11 * MiB + 100);
    image.close();
    checkClean(f);
    writeFileSync(tmp.path("notpresent.raw"), expected);
    expect(qemuImg("compare", "-f", "raw", "-F", "vhdx", tmp.path("notpresent.raw"), f).status).toBe(0);
  });

  test("a log qemu left to replay (a failed BAT write, via blkdebug) is replayed: in memory read-only, into the file rw", () => {
    const f = tmp.path("dirty-log.vhdx");
    qemuImgOk("create", "-f", "vhdx", "-o", "block_size=1M", f, "8M");
    qemuIo(f, "write -P 0x11 3M 4k");
    // The write of the BAT sector (2 MiB = sector 4096) fails once, after the log entry
    // holding it was written and flushed: qemu leaves the log for the next open to replay.
    writeFileSync(
      tmp.path("blkdebug.cfg"),
      '[inject-error]\nevent = "pwritev"\nerrno = "5"\nsector = "4096"\nonce = "on"\n',
    );
    const r = spawnSync("qemu-io", [
      "--image-opts",
      `driver=vhdx,file.driver=blkdebug,file.config=${tmp.path("blkdebug.cfg")},file.image.filename=${f}`,
      "-c",
      "write -P 0xab 0 64k",
    ]);
    expect(r.status).not.toBe(0);
    expect(qemuImg("info", f).stderr).toMatch(/contains a log that needs to be replayed/);
    // qemu's own replay, on a copy, is the expected content.
    copyFileSync(f, tmp.path("dirty-log.qemu.vhdx"));
    qemuImg("check", "-r", "all", tmp.path("dirty-log.qemu.vhdx"));
    qemuImgOk(
      "convert",
      "-f",
      "vhdx",
      "-O",
      "raw",
      tmp.path("dirty-log.qemu.vhdx"),
      tmp.path("dirty-log.raw"),
    );
    const expected = readFileSync(tmp.path("dirty-log.raw"));
    expect(expected.subarray(0, 65536).every((b) => b === 0xab)).toBe(true);

    const before = readFileSync(f);
    // Damaged logs (bytes of the entry changed): replayed or refused, never anything else.
    const rnd = pseudoRandom(512, 4);
    for (let i = 0; i < 200; i++) {
      const bad = new Uint8Array(before);
      const at = MiB + (((rnd[i] as number) * 97 + i * 4099) % 16384);
      bad[at] ^= 1 << (i % 8);
      try {
        const image = new VhdxLayer(new MemoryBlockFile(bad, "bad-log.vhdx", false));
        image.read(0, 4096);
      } catch (e) {
        if (!isImageError(e)) throw e;
      }
    }
    const ro = openImage(nodeImageHost, f);
    expect((ro.layers[0] as VhdxLayer).replayedLogEntries).toBeGreaterThan(0);
    expect(sameBytes(ro.read(0, ro.size), expected)).toBe(true);
    ro.close();
    expect(readFileSync(f).equals(before)).toBe(true);

    const rw = openImage(nodeImageHost, f, { writable: true });
    rw.close();
    expect(qemuImg("info", f).status).toBe(0);
    checkClean(f);
    expect(qemuImg("compare", "-f", "raw", "-F", "vhdx", tmp.path("dirty-log.raw"), f).status).toBe(0);
  });

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
