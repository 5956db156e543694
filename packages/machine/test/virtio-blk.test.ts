import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { CapturedIo, type DiskBackend, Machine, VIRT } from "../src/index.js";

const OUT = fileURLToPath(new URL("../../../tools/guests/out/", import.meta.url));

/** A disk held in a Uint8Array (the board does not depend on @amber/image). */
function memoryDisk(bytes: Uint8Array): DiskBackend & { bytes: Uint8Array; syncs: number } {
  return {
    bytes,
    syncs: 0,
    size: bytes.length,
    read: (o, l) => bytes.slice(o, o + l),
    write: (o, d) => bytes.set(d, o),
    sync() {
      this.syncs++;
    },
  };
}

describe("virtio-mmio slots", () => {
  it("empty slots read as QEMU's: magic 'virt', version 2, device id 0, vendor QEMU", () => {
    const m = new Machine({ ramSize: 1 << 20 });
    for (let i = 0; i < VIRT.virtio.count; i++) {
      const base = VIRT.virtio.base + i * VIRT.virtio.size;
      expect(m.bus.load(base, 4) >>> 0).toBe(0x74726976);
      expect(m.bus.load(base + 4, 4)).toBe(2);
      expect(m.bus.load(base + 8, 4)).toBe(0);
      expect(m.bus.load(base + 12, 4) >>> 0).toBe(0x554d4551);
    }
  });

  it("a disk in slot 0 is a block device with its capacity in the config space", () => {
    const m = new Machine({ ramSize: 1 << 20, disks: [memoryDisk(new Uint8Array(1 << 20))] });
    expect(m.bus.load(VIRT.virtio.base + 8, 4)).toBe(2);
    expect(m.bus.load(VIRT.virtio.base + 0x100, 4)).toBe(2048);
    expect(m.bus.load(VIRT.virtio.base + 0x1000 + 8, 4)).toBe(0);
    expect(
      () => new Machine({ disks: Array.from({ length: 9 }, () => memoryDisk(new Uint8Array(512))) }),
    ).toThrow(/8 virtio slots/);
  });

  for (const march of ["rv32imac", "rv32im"]) {
    it(`the disk guest (${march}) prints what it prints on QEMU, and its DMA marks RAM pages dirty`, () => {
      const disk = memoryDisk(new Uint8Array(readFileSync(`${OUT}disk.img`)));
      const io = new CapturedIo();
      const m = new Machine({ io, disks: [disk] });
      m.loadElf(readFileSync(`${OUT}${march}/disk.elf`), "disk.elf");
      const epoch = m.ram.openEpoch();
      const outcome = m.run(50_000_000);
      expect(io.stdoutText).toBe(readFileSync(`${OUT}${march}/disk.stdout`, "utf8"));
      expect(outcome).toEqual({
        kind: "exited",
        code: Number(readFileSync(`${OUT}${march}/disk.exit`, "utf8")),
      });
      expect(new TextDecoder().decode(disk.bytes.subarray(5 * 512, 5 * 512 + 25))).toBe(
        "written by the disk guest",
      );
      // The buffers the device wrote into are among the pages written since the epoch.
      expect(m.ram.changedSince(epoch).length).toBeGreaterThan(0);
    });
  }
});

describe("virtio-mmio interrupts", () => {
  // virtio-irq watches the PLIC's latched pending bit for source 1 as it reads sectors:
  // the line is reported on every used buffer the driver wants an interrupt for (none under
  // VRING_AVAIL_F_NO_INTERRUPT) and on every InterruptACK (high while status bits remain).
  for (const march of ["rv32imac", "rv32im"]) {
    it(`are reported when QEMU reports them: the virtio-irq guest (${march}) prints what it prints on QEMU`, () => {
      const io = new CapturedIo();
      const m = new Machine({ io, disks: [memoryDisk(new Uint8Array(readFileSync(`${OUT}disk.img`)))] });
      m.loadElf(readFileSync(`${OUT}${march}/virtio-irq.elf`), "virtio-irq.elf");
      const outcome = m.run(50_000_000);
      expect(io.stdoutText).toBe(readFileSync(`${OUT}${march}/virtio-irq.stdout`, "utf8"));
      expect(outcome).toEqual({ kind: "exited", code: 0 });
    });
  }
});

describe("device tree", () => {
  it("describes the eight virtio-mmio slots as QEMU does (reg, interrupts 1..8 on the PLIC)", async () => {
    const { execFileSync } = await import("node:child_process");
    if (!hostTool("dtc")) return;
    const m = new Machine({ ramSize: 1 << 24 });
    m.loadElf(readFileSync(`${OUT}rv32imac/hello.elf`), "hello.elf");
    const size = new DataView(m.ram.readBytes(m.deviceTreeAddress - m.ram.base, 8).buffer).getUint32(4);
    const dtb = m.ram.readBytes(m.deviceTreeAddress - m.ram.base, size);
    const dts = execFileSync("dtc", ["-I", "dtb", "-O", "dts", "-q"], { input: dtb, encoding: "utf8" });
    for (let i = 0; i < 8; i++) {
      const base = (0x10001000 + i * 0x1000).toString(16);
      expect(dts).toMatch(
        new RegExp(
          `virtio_mmio@${base} \\{[^}]*interrupts = <0x0${i + 1}>;[^}]*reg = <0x00 0x${base} 0x00 0x1000>;[^}]*compatible = "virtio,mmio";`,
        ),
      );
    }
  });
});
