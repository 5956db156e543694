import { MemoryError } from "./memory-error.js";
import type { MmioDevice } from "./mmio-device.js";
import type { Ram } from "./ram.js";

/** One entry of the memory map: a half-open range [base, base+size). */
export type Region =
  | {
      readonly kind: "ram";
      readonly name: string;
      readonly base: number;
      readonly size: number;
      readonly ram: Ram;
    }
  | {
      readonly kind: "rom";
      readonly name: string;
      readonly base: number;
      readonly size: number;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: "mmio";
      readonly name: string;
      readonly base: number;
      readonly size: number;
      readonly device: MmioDevice;
    };

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

/**
 * The physical address space: non-overlapping regions of RAM, ROM and devices.
 * Implements the hart's `Bus` (structurally): accesses nothing answers are faults.
 */
export class AddressSpace {
  private regions: Region[] = [];
  /** Last region hit, because accesses cluster (the UART, the same ROM). */
  private last: Region | undefined;

  get map(): readonly Region[] {
    return this.regions;
  }

  private add(region: Region): void {
    const { base, size, name } = region;
    if (
      !Number.isInteger(base) ||
      !Number.isInteger(size) ||
      base < 0 ||
      size <= 0 ||
      base + size > 2 ** 32
    ) {
      throw new MemoryError(
        "REGION_INVALID",
        `region ${name} at ${hex(base)} of ${size} bytes does not fit in 32 bits`,
      );
    }
    for (const other of this.regions) {
      if (base < other.base + other.size && other.base < base + size) {
        throw new MemoryError(
          "REGION_OVERLAP",
          `region ${name} [${hex(base)}, ${hex(base + size)}) overlaps ${other.name} [${hex(other.base)}, ${hex(other.base + other.size)})`,
        );
      }
    }
    this.regions = [...this.regions, region].sort((a, b) => a.base - b.base);
  }

  addRam(name: string, ram: Ram): void {
    this.add({ kind: "ram", name, base: ram.base, size: ram.size, ram });
  }

  addRom(name: string, base: number, bytes: Uint8Array): void {
    this.add({ kind: "rom", name, base, size: bytes.length, bytes });
  }

  addDevice(base: number, device: MmioDevice): void {
    this.add({ kind: "mmio", name: device.name, base, size: device.size, device });
  }

  /** The region holding all of [addr, addr+size), or undefined. */
  find(addr: number, size = 1): Region | undefined {
    const hit = this.last;
    if (hit !== undefined && addr >= hit.base && addr + size <= hit.base + hit.size) return hit;
    for (const r of this.regions) {
      if (addr >= r.base && addr + size <= r.base + r.size) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  load(addr: number, size: 1 | 2 | 4): number {
    const r = this.find(addr, size);
    if (r === undefined) return Number.NaN;
    const offset = addr - r.base;
    switch (r.kind) {
      case "ram":
        return r.ram.read(offset, size);
      case "rom": {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | r.bytes[offset + i]!;
        return v >>> 0;
      }
      case "mmio":
        return r.device.read(offset, size);
    }
  }

  store(addr: number, size: 1 | 2 | 4, value: number): boolean {
    const r = this.find(addr, size);
    if (r === undefined) return false;
    const offset = addr - r.base;
    switch (r.kind) {
      case "ram":
        r.ram.write(offset, size, value);
        return true;
      case "rom": // like QEMU's ROM regions, writes are silently dropped
        return true;
      case "mmio":
        return r.device.write(offset, size, value);
    }
  }

  fetch(addr: number): number {
    const r = this.find(addr, 2);
    if (r === undefined || r.kind === "mmio") return Number.NaN;
    return this.load(addr, 2);
  }
}
