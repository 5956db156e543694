import { describe, expect, it } from "vitest";
import { AddressSpace, type MemoryError, type MmioDevice, Ram } from "../src/index.js";

class Recorder implements MmioDevice {
  readonly name = "recorder";
  readonly size = 0x100;
  writes: [number, number, number][] = [];
  read(offset: number, size: 1 | 2 | 4): number {
    return offset === 0xfc ? Number.NaN : offset + size;
  }
  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    this.writes.push([offset, size, value]);
    return offset !== 0xfc;
  }
}

function space() {
  const bus = new AddressSpace();
  const ram = new Ram({ base: 0x8000_0000, size: 0x10000 });
  const device = new Recorder();
  bus.addRam("ram", ram);
  bus.addDevice(0x1000_0000, device);
  bus.addRom("rom", 0x1000, Uint8Array.of(0x13, 0, 0, 0, 0x67, 0x80));
  return { bus, ram, device };
}

describe("the address space", () => {
  it("refuses overlapping regions, naming both", () => {
    const { bus } = space();
    expect(() => bus.addRom("boot", 0x8000_ff00, new Uint8Array(0x200))).toThrow(
      /boot \[0x8000ff00, 0x80010100\) overlaps ram \[0x80000000, 0x80010000\)/,
    );
    try {
      bus.addRom("boot", 0x1004, new Uint8Array(4));
    } catch (e) {
      expect((e as MemoryError).code).toBe("REGION_OVERLAP");
    }
  });

  it("routes accesses to RAM, ROM and devices by address", () => {
    const { bus, device } = space();
    expect(bus.store(0x8000_0010, 4, 0xdeadbeef)).toBe(true);
    expect(bus.load(0x8000_0010, 4)).toBe(0xdeadbeef);
    expect(bus.load(0x1000, 4)).toBe(0x13);
    expect(bus.load(0x1000_0004, 2)).toBe(6);
    expect(bus.store(0x1000_0008, 1, 0x41)).toBe(true);
    expect(device.writes).toEqual([[8, 1, 0x41]]);
  });

  it("faults where nothing answers, including accesses straddling a region's end", () => {
    const { bus } = space();
    expect(bus.load(0x4000_0000, 4)).toBeNaN();
    expect(bus.store(0x4000_0000, 4, 1)).toBe(false);
    expect(bus.load(0x8000_fffe, 4)).toBeNaN();
    expect(bus.load(0x1000_00fc, 4)).toBeNaN(); // the device refused
  });

  it("drops writes to ROM and fetches code only from memory, never from devices", () => {
    const { bus } = space();
    expect(bus.store(0x1000, 4, 0xffffffff)).toBe(true);
    expect(bus.load(0x1000, 4)).toBe(0x13);
    expect(bus.fetch(0x1004)).toBe(0x8067);
    expect(bus.fetch(0x1000_0000)).toBeNaN();
  });
});
