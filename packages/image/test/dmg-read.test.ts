import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import {
  checkLayer,
  DmgLayer,
  detectFormat,
  isImageError,
  MemoryBlockFile,
  MemoryImageHost,
  openImage,
} from "../src/index.js";
import { nodeImageHost } from "../src/node/index.js";
import { buildDmg, type DmgBuildOptions } from "./support/dmg-builder.js";
import { diskPattern, hasQemuImg, qemuImgOk, sameBytes, tempDir } from "./support/qemu-img.js";

/** dmg2img (Debian package dmg2img) prints its usage and exits 0 when given no arguments. */
const hasDmg2img = hostTool("dmg2img", []);
const tmp = tempDir();
afterAll(() => tmp.remove());

// A disk with a protective-MBR-like first sector, zero runs, text and random data; several
// blkx tables as hdiutil writes them (MBR, GPT header, partition, free space).
const SECTORS = 9000;
const disk = diskPattern(SECTORS * 512, 3);
disk.fill(0, 2 * 1024 * 1024, 3 * 1024 * 1024); // a whole zero chunk
const PARTS = [
  { name: "Protective Master Boot Record (MBR : 0)", sectors: 1 },
  { name: "GPT Header (Primary GPT Header : 1)", sectors: 1 },
  { name: "GPT Partition Data (Primary GPT Table : 2)", sectors: 32 },
  { name: "disk image (Apple_HFS : 3)", sectors: SECTORS - 34 - 40 },
  { name: "(Apple_Free : 4)", sectors: 40 },
];

const cases: [string, DmgBuildOptions][] = [
  ["UDZO (zlib), 5 tables", { kind: "zlib", partitions: PARTS }],
  ["UDZO (zlib), one table, 64-sector chunks", { kind: "zlib", chunkSectors: 64 }],
  ["UDRO (raw), 5 tables, ignore-type zero chunks", { kind: "raw", partitions: PARTS, zeroType: 2 }],
];

function amberRead(file: string): Uint8Array {
  const image = openImage(nodeImageHost, file);
  try {
    expect(image.layers[0]?.format).toBe("dmg");
    expect(checkLayer(image.layers[0] as DmgLayer)).toEqual({ corruptions: 0, leaks: 0, messages: [] });
    return image.read(0, image.size);
  } finally {
    image.close();
  }
}

describe("DMG (UDIF) reading", () => {
  test.each(cases)("%s: Amber reads what qemu-img and dmg2img read", (name, options) => {
    const f = tmp.path(`${name.replace(/\W+/g, "-")}.dmg`);
    writeFileSync(f, buildDmg(disk, options));
    const got = amberRead(f);
    expect(got.length).toBe(disk.length);
    expect(sameBytes(got, disk)).toBe(true);
    if (hasQemuImg) {
      qemuImgOk("convert", "-f", "dmg", "-O", "raw", f, `${f}.qemu.raw`);
      expect(sameBytes(readFileSync(`${f}.qemu.raw`), got)).toBe(true);
    }
    if (hasDmg2img) {
      const r = spawnSync("dmg2img", ["-s", f, `${f}.dmg2img.raw`], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(sameBytes(readFileSync(`${f}.dmg2img.raw`), got)).toBe(true);
    }
  });

  test("detected by its koly trailer, whatever the name", () => {
    const bytes = buildDmg(disk, { kind: "zlib" });
    expect(detectFormat(new MemoryBlockFile(bytes, "disk.img"))).toBe("dmg");
  });

  test("sectors no chunk covers (past the last chunk, up to the trailer's count) read as zeros", () => {
    const bytes = buildDmg(disk, { kind: "raw", partitions: PARTS });
    const kv = new DataView(bytes.buffer, bytes.length - 512);
    kv.setUint32(492 + 4, SECTORS + 100);
    const layer = new DmgLayer(new MemoryBlockFile(bytes, "long.dmg"));
    expect(layer.size).toBe((SECTORS + 100) * 512);
    const tail = layer.read(disk.length - 512, 1024);
    expect(sameBytes(tail.subarray(0, 512), disk.subarray(disk.length - 512))).toBe(true);
    expect(tail.subarray(512).every((b) => b === 0)).toBe(true);
    expect(layer.read(disk.length + 4096, 4096).every((b) => b === 0)).toBe(true);
  });

  test("a DMG is read-only", () => {
    const host = new MemoryImageHost();
    host.add("a.dmg", buildDmg(disk, { kind: "raw" }));
    expect(() => openImage(host, "a.dmg", { writable: true })).toThrow(/read-only/);
  });

  test.each([
    ["ADC", 0x80000004, /ADC \(0x80000004\)-compressed/],
    ["bzip2", 0x80000006, /bzip2 \(0x80000006, UDBZ\)-compressed/],
    ["LZFSE", 0x80000007, /LZFSE \(0x80000007, ULFO\)-compressed/],
  ])("%s chunks are refused with one line", (_, type, message) => {
    const host = new MemoryImageHost();
    host.add("c.dmg", buildDmg(disk, { kind: "zlib", overrideCompressedType: type }));
    try {
      openImage(host, "c.dmg");
      expect.unreachable();
    } catch (e) {
      expect(isImageError(e) && e.code).toBe("UNSUPPORTED_FEATURE");
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).toMatch(/^c\.dmg: blkx table 0 .* \(at offset \d+\)$/);
      expect((e as Error).message).not.toContain("\n");
    }
  });

  test("damaged data: check finds a wrong CRC-32; a broken zlib chunk is one line", () => {
    const bytes = buildDmg(disk, { kind: "zlib" });
    // Flip one byte inside the first stored chunk's deflate stream.
    const bad = bytes.slice();
    bad[40] = (bad[40] as number) ^ 0xff;
    const layer = new DmgLayer(new MemoryBlockFile(bad, "bad.dmg"));
    const report = checkLayer(layer);
    expect(report.corruptions).toBeGreaterThan(0);
    expect(report.messages[0]).toMatch(/^bad\.dmg: /);
    // A raw image with a changed data byte: every chunk decodes, the checksums catch it.
    const raw = buildDmg(disk, { kind: "raw" });
    raw[100] = (raw[100] as number) ^ 1;
    const r = checkLayer(new DmgLayer(new MemoryBlockFile(raw, "raw.dmg")));
    expect(r.messages.some((m) => /blkx table .*CRC-32/.test(m))).toBe(true);
    expect(r.messages.some((m) => /data fork CRC-32/.test(m))).toBe(true);
  });

  test("truncated and chunk-outside-file errors name the file and the offset", () => {
    const bytes = buildDmg(disk, { kind: "raw" });
    const koly = bytes.length - 512;
    // Data fork length beyond the trailer.
    const cut = bytes.slice();
    new DataView(cut.buffer).setUint32(koly + 36, bytes.length * 2);
    expect(() => new DmgLayer(new MemoryBlockFile(cut, "cut.dmg"))).toThrow(
      new RegExp(
        `^cut\\.dmg: data fork 0\\+\\d+ runs past the trailer at ${koly} \\(at offset ${koly + 24}\\)$`,
      ),
    );
    // The file cut in the middle: the chunks now point past the data.
    const tail = bytes.subarray(koly - 2000);
    const short = new Uint8Array(1024 * 1024 + tail.length);
    short.set(tail, 1024 * 1024);
    expect(() => new DmgLayer(new MemoryBlockFile(short, "short.dmg"))).toThrow(/^short\.dmg: /);
  });
});
