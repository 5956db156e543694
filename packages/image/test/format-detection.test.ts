import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  detectFormat,
  Image,
  MemoryBlockFile,
  openImage,
  writeAmberLayer,
  writeQcow2,
} from "../src/index.js";
import { NodeBlockFile, nodeImageHost } from "../src/node/index.js";
import { hasQemuImg, qemuImgOk, tempDir } from "./support/qemu-img.js";

beforeAll(async () => {
  await initCodecs();
});
const tmp = tempDir();
afterAll(() => tmp.remove());

const mem = (bytes: Uint8Array, name = "disk") => new MemoryBlockFile(bytes, name, false);

function sample(format: "qcow2" | "amber"): Uint8Array {
  const image = new Image([], { size: 64 * 1024 });
  image.write(0, new TextEncoder().encode("hello"));
  const out = new MemoryBlockFile();
  if (format === "qcow2") writeQcow2(image.dirtySource(), out, { clusterSize: 4096 });
  else writeAmberLayer(image.dirtySource(), out, {});
  return out.contents().slice();
}

const failure = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error("expected a failure");
};

describe("format detection by content", () => {
  test("qcow2 and Amber layers by their magic, whatever the name", () => {
    expect(detectFormat(mem(sample("qcow2"), "disk.raw"))).toBe("qcow2");
    expect(detectFormat(mem(sample("amber"), "disk.img"))).toBe("amber");
  });

  test("raw only for whole sectors without a header or another format's extension", () => {
    expect(detectFormat(mem(new Uint8Array(4096), "disk.img"))).toBe("raw");
    expect(detectFormat(mem(new Uint8Array(0), "empty"))).toBe("raw");
    const odd = failure(() => detectFormat(mem(new Uint8Array(1000), "notes.txt")));
    expect(odd.code).toBe("UNKNOWN_FORMAT");
    expect(odd.message).toMatch(
      /notes\.txt: unknown image format: .*1000 bytes is not a whole number of 512-byte sectors.*-f raw/,
    );
    for (const name of ["x.qcow2", "x.vmdk", "x.amberdisk", "x.amber"]) {
      const e = failure(() => detectFormat(mem(new Uint8Array(4096), name)));
      expect(e.code).toBe("UNKNOWN_FORMAT");
      expect(e.message).toMatch(/named \.\w+ .* but has no such header/);
    }
  });

  test("a damaged magic is a damaged header, never raw", () => {
    for (const format of ["qcow2", "amber"] as const) {
      for (const [at, bit] of [
        [0, 0],
        [2, 7],
        [3, 1],
      ] as const) {
        const b = sample(format);
        b[at] = (b[at] as number) ^ (1 << bit);
        const e = failure(() => detectFormat(mem(b)));
        expect(e.code).toBe("BAD_MAGIC");
        expect(e.message).toMatch(
          /damaged (qcow2|Amber layer) magic \(found .*, expected .*\); not read as raw/,
        );
      }
    }
  });

  test("an Amber world is named as one, not read as a disk", () => {
    const world = new Uint8Array(4096);
    world.set([0x41, 0x4d, 0x43, 0x4b]);
    const e = failure(() => detectFormat(mem(world, "w.amber")));
    expect(e.code).toBe("UNKNOWN_FORMAT");
    expect(e.message).toMatch(/w\.amber: an Amber world \(machine checkpoint\), not a disk image/);
  });

  test.skipIf(!hasQemuImg)(
    "formats qemu-img writes and Amber does not read are named, not taken for raw",
    () => {
      const cases: [string, string, RegExp][] = [
        ["vmdk", "d.vmdk", /a VMDK image/],
        ["vdi", "d.vdi", /a VDI image/],
        ["vpc", "d.vhd", /a VHD \(dynamic\) image/],
        ["qed", "d.qed", /a QED image/],
      ];
      for (const [fmt, name, expected] of cases) {
        const p = tmp.path(name);
        qemuImgOk("create", "-q", "-f", fmt, p, "1M");
        // Renamed so the extension cannot help: detection reads the content.
        const renamed = tmp.path(`${name}.img`);
        writeFileSync(renamed, readFileSync(p));
        const e = failure(() => openImage(nodeImageHost, renamed));
        expect(e.code, fmt).toBe("UNKNOWN_FORMAT");
        expect(e.message, fmt).toMatch(expected);
        expect(e.message, fmt).toMatch(/qemu-img convert -O qcow2/);
      }
      // VHDX, which Amber reads, is detected by content whatever the name.
      const vhdx = tmp.path("d.vhdx");
      qemuImgOk("create", "-q", "-f", "vhdx", vhdx, "1M");
      writeFileSync(tmp.path("vhdx.img"), readFileSync(vhdx));
      const v = openImage(nodeImageHost, tmp.path("vhdx.img"));
      expect(v.layers[0]?.format).toBe("vhdx");
      v.close();
      const fixed = tmp.path("fixed.vhd");
      qemuImgOk("create", "-q", "-f", "vpc", "-o", "subformat=fixed", fixed, "1M");
      expect(failure(() => openImage(nodeImageHost, fixed)).message).toMatch(/a VHD \(fixed\) image/);
    },
  );

  test("explicit raw still reads anything", () => {
    const p = tmp.path("odd.bin");
    writeFileSync(p, new Uint8Array(1000).fill(7));
    const image = openImage(nodeImageHost, p, { format: "raw" });
    expect(image.size).toBe(1000);
    expect(image.read(999, 1)[0]).toBe(7);
    image.close();
  });

  test("a directory where a file is expected is one clear error", () => {
    const dir = tmp.path("a-directory");
    mkdirSync(dir);
    const e = failure(() => new NodeBlockFile(dir, false));
    expect(e.code).toBe("NOT_A_FILE");
    expect(e.message).toBe(`${dir}: is a directory, expected an image file`);
    expect(failure(() => openImage(nodeImageHost, dir, { writable: true })).code).toBe("NOT_A_FILE");
  });

  test("reads at impossible positions are refused before reaching the file system", () => {
    const p = tmp.path("small.img");
    writeFileSync(p, new Uint8Array(512));
    const f = new NodeBlockFile(p, false);
    expect(failure(() => f.read(-4096, 16)).code).toBe("OUT_OF_RANGE");
    expect(failure(() => f.read(2 ** 60, 16)).code).toBe("OUT_OF_RANGE");
    expect(f.read(4096, 16).length).toBe(0);
    f.close();
  });
});
