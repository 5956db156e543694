import { type Bus, Hart, type HartOptions, type RamWindow } from "../../src/index.js";

export const RAM_BASE = 0x8000_0000;
const PAGE = 4096;

/**
 * A minimal board for hart tests: flat RAM (every page present) at 0x8000_0000 and
 * one "device" word at 0x1000_0000 that records writes. Anything else faults.
 */
export class TestMachine implements Bus {
  readonly bytes: Uint8Array;
  readonly hart: Hart;
  readonly window: RamWindow;
  deviceWrites: number[] = [];

  constructor(size = 64 * 1024, options: HartOptions = {}) {
    this.bytes = new Uint8Array(size);
    const pages = size / PAGE;
    const pages8: Uint8Array[] = [];
    const pages16: Uint16Array[] = [];
    const pages32: Int32Array[] = [];
    for (let i = 0; i < pages; i++) {
      const offset = i * PAGE;
      pages8.push(this.bytes.subarray(offset, offset + PAGE));
      pages16.push(new Uint16Array(this.bytes.buffer, offset, PAGE / 2));
      pages32.push(new Int32Array(this.bytes.buffer, offset, PAGE / 4));
    }
    const fastWrite = new Uint8Array(pages).fill(1);
    this.window = {
      base: RAM_BASE,
      size,
      pages8,
      pages16,
      pages32,
      fastWrite,
      watch: (page: number) => {
        fastWrite[page] = 0;
      },
    };
    this.hart = new Hart(this, options);
    this.hart.attachRam(this.window);
    this.hart.pc = RAM_BASE;
  }

  private inRam(addr: number, size: number): boolean {
    return addr >= RAM_BASE && addr + size <= RAM_BASE + this.bytes.length;
  }

  load(addr: number, size: 1 | 2 | 4): number {
    if (addr === 0x1000_0000 && size === 4) return 0x1234;
    if (!this.inRam(addr, size)) return Number.NaN;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.bytes[addr - RAM_BASE + i]!;
    return v >>> 0;
  }

  store(addr: number, size: 1 | 2 | 4, value: number): boolean {
    if (addr === 0x1000_0000 && size === 4) {
      this.deviceWrites.push(value | 0);
      return true;
    }
    if (!this.inRam(addr, size)) return false;
    for (let i = 0; i < size; i++) this.bytes[addr - RAM_BASE + i] = value >>> (8 * i);
    return true;
  }

  fetch(addr: number): number {
    return this.inRam(addr, 2) ? this.load(addr, 2) : Number.NaN;
  }

  /** Writes instruction words (32-bit) or parcels (16-bit when < 0x10000 and not ending in 11) from `at`. */
  program(words: number[], at = RAM_BASE): void {
    let addr = at;
    for (const w of words) {
      const isWide = (w & 3) === 3;
      this.store(addr, isWide ? 4 : 2, w);
      addr += isWide ? 4 : 2;
    }
  }

  word(addr: number): number {
    return this.load(addr, 4) | 0;
  }
}
