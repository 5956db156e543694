import { type Bus, type FlatRam, Hart, type HartOptions, type RamWindow } from "../../src/index.js";

export const BOARD_RAM_BASE = 0x8000_0000;
/** A word that reads 0x1234 and records writes, like an MMIO register. */
export const DEVICE = 0x1000_0000;
const PAGE = 4096;
/** Bytes after the flags for the hart in a flat board (as @amber/memory's FLAT_HOST_BYTES). */
const HOST_BYTES = 2 << 20;

/** Flags for every page a 32-bit offset names (zero beyond RAM). */
const FLAG_BYTES = 1 << 20;

/**
 * RAM laid out as @amber/memory's Ram lays it out when it is flat: RAM at 0, the
 * fastWrite flags, the fastRead flags (1 for RAM's pages: never-written bytes read as
 * zero), then the hart's area.
 */
function flatRam(size: number): FlatRam {
  const count = size / PAGE;
  const hostOffset = size + 2 * FLAG_BYTES;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((hostOffset + HOST_BYTES) / 65536) });
  const flat = {
    memory,
    ramOffset: 0,
    fastWriteOffset: size,
    fastReadOffset: size + FLAG_BYTES,
    hostOffset,
    hostSize: HOST_BYTES,
  };
  new Uint8Array(memory.buffer, flat.fastReadOffset, count).fill(1);
  return flat;
}

/**
 * A board for differential tests of the block compiler: RAM allocated page by page on
 * first write (like @amber/memory's Ram, which isa may not depend on), with the same
 * fastWrite/watch contract, plus one device word. Big enough for the project's guests.
 */
export class LazyBoard implements Bus {
  readonly hart: Hart;
  readonly window: RamWindow;
  readonly pages8: (Uint8Array | undefined)[];
  private readonly pages16: (Uint16Array | undefined)[];
  private readonly pages32: (Int32Array | undefined)[];
  private readonly fastWrite: Uint8Array;
  private readonly watched: Uint8Array;
  deviceWrites: number[] = [];
  /**
   * What a page never written reads as, in every byte (0 until `fillUnwritten`): like
   * @amber/memory's init byte or page source, a non-zero fill makes such pages read through
   * the bus (their `fastRead` flag 0) and RAM no longer `loadsDirect`.
   */
  private fill = 0;

  private readonly flat: FlatRam | undefined;

  /** `flat`: RAM in one WebAssembly.Memory (pages are views into it), as the wasm back end needs. */
  constructor(
    readonly size = 128 * 1024 * 1024,
    options: HartOptions = {},
    flat = false,
  ) {
    const count = size / PAGE;
    const board = this;
    this.flat = flat ? flatRam(size) : undefined;
    this.pages8 = new Array(count).fill(undefined);
    this.pages16 = new Array(count).fill(undefined);
    this.pages32 = new Array(count).fill(undefined);
    this.fastWrite =
      this.flat === undefined
        ? new Uint8Array(count)
        : new Uint8Array(this.flat.memory.buffer, this.flat.fastWriteOffset, count);
    this.watched = new Uint8Array(count);
    this.window = {
      base: BOARD_RAM_BASE,
      size,
      pages8: this.pages8,
      pages16: this.pages16,
      pages32: this.pages32,
      fastWrite: this.fastWrite,
      flat: this.flat,
      get loadsDirect() {
        return board.fill === 0;
      },
      watch: (page: number) => {
        this.watched[page] = 1;
        this.fastWrite[page] = 0;
      },
    };
    this.hart = new Hart(this, options);
    this.hart.attachRam(this.window);
    this.hart.pc = BOARD_RAM_BASE;
  }

  private offset(addr: number, size: number): number {
    const off = addr - BOARD_RAM_BASE;
    return off >= 0 && off + size <= this.size ? off : -1;
  }

  private page(index: number): Uint8Array {
    let p = this.pages8[index];
    if (p === undefined) {
      const buffer = this.flat?.memory.buffer ?? new ArrayBuffer(PAGE);
      const at = this.flat === undefined ? 0 : index * PAGE;
      p = new Uint8Array(buffer, at, PAGE);
      this.pages8[index] = p;
      this.pages16[index] = new Uint16Array(buffer, at, PAGE / 2);
      this.pages32[index] = new Int32Array(buffer, at, PAGE / 4);
      p.fill(this.fill);
      if (this.flat !== undefined)
        new Uint8Array(this.flat.memory.buffer, this.flat.fastReadOffset)[index] = 1;
    }
    this.fastWrite[index] = this.watched[index] === 1 ? 0 : 1;
    return p;
  }

  load(addr: number, size: 1 | 2 | 4): number {
    if (addr === DEVICE && size === 4) return 0x1234;
    const off = this.offset(addr, size);
    if (off < 0) return Number.NaN;
    let v = 0;
    for (let i = size - 1; i >= 0; i--)
      v = (v << 8) | (this.pages8[(off + i) >>> 12]?.[(off + i) & 4095] ?? this.fill);
    return v >>> 0;
  }

  store(addr: number, size: 1 | 2 | 4, value: number): boolean {
    if (addr === DEVICE && size === 4) {
      this.deviceWrites.push(value | 0);
      return true;
    }
    const off = this.offset(addr, size);
    if (off < 0) return false;
    for (let i = 0; i < size; i++) this.page((off + i) >>> 12)[(off + i) & 4095] = value >>> (8 * i);
    return true;
  }

  fetch(addr: number): number {
    return this.offset(addr, 2) < 0 ? Number.NaN : this.load(addr, 2);
  }

  /**
   * From now on pages never written read as `byte` (a page source set while the guest
   * runs): their loads go through the bus, and RAM no longer `loadsDirect`.
   */
  fillUnwritten(byte: number): void {
    this.fill = byte & 0xff;
    if (this.flat === undefined) return;
    const fastRead = new Uint8Array(this.flat.memory.buffer, this.flat.fastReadOffset, this.size / PAGE);
    this.pages8.forEach((p, i) => {
      fastRead[i] = p === undefined && this.fill !== 0 ? 0 : 1;
    });
  }

  /** Copies bytes into RAM without going through the hart (a loader). */
  write(addr: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.store(addr + i, 1, bytes[i]!);
  }

  /** Writes 32-bit words, or 16-bit parcels for values that are compressed instructions. */
  program(words: number[], at = BOARD_RAM_BASE): void {
    let addr = at;
    for (const w of words) {
      const wide = (w & 3) === 3;
      this.store(addr, wide ? 4 : 2, w);
      addr += wide ? 4 : 2;
    }
  }

  /** Every allocated page, as [index, bytes], for comparing two boards. */
  memory(): [number, Uint8Array][] {
    const out: [number, Uint8Array][] = [];
    this.pages8.forEach((p, i) => {
      if (p !== undefined) out.push([i, p]);
    });
    return out;
  }
}

/** Loads the PT_LOAD segments of a 32-bit little-endian ELF; returns the entry point. */
export function loadElf(board: LazyBoard, bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  for (let i = 0; i < v.getUint16(44, true); i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 1) continue;
    const offset = v.getUint32(at + 4, true);
    const paddr = v.getUint32(at + 12, true);
    const fileSize = v.getUint32(at + 16, true);
    const memSize = v.getUint32(at + 20, true);
    board.write(paddr, bytes.subarray(offset, offset + fileSize));
    board.write(paddr + fileSize, new Uint8Array(memSize - fileSize));
  }
  board.hart.flushDecodeCache();
  return v.getUint32(24, true);
}
