import { Privilege } from "@amber/isa";
import type { Machine } from "../machine.js";

/**
 * Guest memory as a debugger sees it: virtual addresses go through the page tables the
 * hart uses now (Sv32 when satp enables it and the hart is below M-mode), walked here
 * without touching the hart's TLBs or the PTEs' A/D bits; only RAM and ROM are read or
 * written (device registers have side effects on read, so they answer as unreadable).
 */
export class DebugMemory {
  constructor(private readonly machine: Machine) {}

  /** The physical address of virtual `va`, or -1 when no valid mapping holds it. */
  physical(va: number): number {
    const hart = this.machine.hart;
    const csr = hart.csr;
    const v = va >>> 0;
    if (csr.satp >>> 31 === 0 || csr.priv === Privilege.Machine) return v;
    let table = (csr.satp & 0x3fffff) * 4096;
    for (let level = 1; level >= 0; level--) {
      const index = level === 1 ? v >>> 22 : (v >>> 12) & 0x3ff;
      const pte = this.readPhysical(table + index * 4, 4);
      if (Number.isNaN(pte) || (pte & 1) === 0) return -1;
      if ((pte & 0xa) !== 0) {
        // A leaf: a superpage (level 1) maps 4 MiB, a page 4 KiB.
        const ppn = pte >>> 10;
        if (level === 1) return ((ppn >>> 10) * 0x400000 + (v & 0x3fffff)) >>> 0;
        return (ppn * 4096 + (v & 0xfff)) >>> 0;
      }
      table = (pte >>> 10) * 4096;
    }
    return -1;
  }

  /** `size` bytes little-endian at physical `pa` from RAM or ROM; NaN elsewhere. */
  readPhysical(pa: number, size: 1 | 2 | 4): number {
    const r = this.machine.bus.find(pa, size);
    if (r === undefined || r.kind === "mmio") return Number.NaN;
    return this.machine.bus.load(pa, size);
  }

  /** Bytes at virtual `va`; stops short at the first byte that cannot be read. */
  read(va: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let n = 0;
    while (n < length) {
      const pa = this.physical(va + n);
      if (pa < 0) break;
      const b = this.readPhysical(pa, 1);
      if (Number.isNaN(b)) break;
      out[n++] = b;
    }
    return out.subarray(0, n);
  }

  /**
   * Writes `data` at virtual `va` (RAM only; code the hart compiled from it is dropped);
   * false if some byte is not writable RAM (nothing is written then).
   */
  write(va: number, data: Uint8Array): boolean {
    const ram = this.machine.ram;
    const at: number[] = [];
    for (let i = 0; i < data.length; i++) {
      const pa = this.physical(va + i);
      const offset = pa - ram.base;
      if (pa < 0 || !ram.contains(offset, 1)) return false;
      at.push(offset);
    }
    for (let i = 0; i < data.length; i++) ram.writeBytes(at[i]!, data.subarray(i, i + 1));
    this.machine.hart.flushDecodeCache();
    return true;
  }

  /** The instruction at virtual `pc` (16 or 32 bits), NaN when unreadable. */
  instructionAt(pc: number): number {
    const lo = this.readVirtual(pc, 2);
    if (Number.isNaN(lo) || (lo & 3) !== 3) return lo;
    const hi = this.readVirtual(pc + 2, 2);
    return Number.isNaN(hi) ? Number.NaN : (lo | (hi << 16)) >>> 0;
  }

  private readVirtual(va: number, size: 1 | 2 | 4): number {
    const pa = this.physical(va);
    if (pa < 0 || (pa & 0xfff) + size > 4096) {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) {
        const p = this.physical(va + i);
        const b = p < 0 ? Number.NaN : this.readPhysical(p, 1);
        if (Number.isNaN(b)) return Number.NaN;
        v = (v << 8) | b;
      }
      return v >>> 0;
    }
    return this.readPhysical(pa, size);
  }
}
