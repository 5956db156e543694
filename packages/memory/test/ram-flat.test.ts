import { describe, expect, it } from "vitest";
import { PAGE_SIZE, Ram } from "../src/index.js";

// RAM laid out flat in one WebAssembly.Memory (what the WebAssembly block compiler needs)
// keeps every behaviour of RAM made of separate pages: lazy allocation, the init pattern,
// page sources, fastWrite and dirty epochs. These tests look at the flat layout itself.

const BASE = 0x8000_0000;
const FLAG_BYTES = 1 << 20;

function flatRam(options: { size?: number; initByte?: number } = {}) {
  const ram = new Ram({ base: BASE, size: options.size ?? 1 << 20, initByte: options.initByte, flat: true });
  const flat = ram.flat;
  if (flat === undefined) throw new Error("this host has WebAssembly: RAM should be flat");
  return { ram, flat, bytes: new Uint8Array(flat.memory.buffer) };
}

describe("flat RAM", () => {
  it("is made on request where WebAssembly exists", () => {
    expect(new Ram({ base: BASE, size: PAGE_SIZE, flat: true }).flat).toBeDefined();
    expect(new Ram({ base: BASE, size: PAGE_SIZE }).flat).toBeUndefined();
  });

  it("puts page i at byte i * 4096 of the memory, and fastWrite in the memory", () => {
    const { ram, flat, bytes } = flatRam();
    ram.write(5 * PAGE_SIZE + 3, 1, 0xab);
    expect(bytes[flat.ramOffset + 5 * PAGE_SIZE + 3]).toBe(0xab);
    expect(ram.page(5)!.buffer).toBe(flat.memory.buffer);
    expect(ram.fastWrite.buffer).toBe(flat.memory.buffer);
    expect(ram.fastWrite.byteOffset).toBe(flat.fastWriteOffset);
    expect(bytes[flat.fastWriteOffset + 5]).toBe(1);
    ram.openEpoch();
    expect(bytes[flat.fastWriteOffset + 5]).toBe(0);
  });

  it("leaves the flag bytes of pages beyond RAM at zero, with room for every 32-bit offset", () => {
    const { ram, flat, bytes } = flatRam();
    for (let i = 0; i < ram.pageCount; i++) ram.write(i * PAGE_SIZE, 1, 1);
    expect(flat.fastReadOffset - flat.fastWriteOffset).toBeGreaterThanOrEqual(FLAG_BYTES);
    expect(flat.hostOffset - flat.fastReadOffset).toBeGreaterThanOrEqual(FLAG_BYTES);
    expect(
      bytes.subarray(flat.fastWriteOffset + ram.pageCount, flat.fastReadOffset).every((b) => b === 0),
    ).toBe(true);
    expect(bytes.subarray(flat.fastReadOffset + ram.pageCount, flat.hostOffset).every((b) => b === 0)).toBe(
      true,
    );
    expect(flat.hostOffset + flat.hostSize).toBeLessThanOrEqual(flat.memory.buffer.byteLength);
  });

  it("lets loads read every page directly when never-written bytes read as zero", () => {
    const { ram, flat, bytes } = flatRam();
    const fastRead = bytes.subarray(flat.fastReadOffset, flat.fastReadOffset + ram.pageCount);
    expect(fastRead.every((b) => b === 1)).toBe(true);
    expect(ram.allocatedPages).toBe(0);
    expect(ram.loadsDirect).toBe(true); // compiled loads then check only RAM's bounds
  });

  it("sends loads of pages without data through the bus under an init pattern or a page source", () => {
    const patterned = flatRam({ initByte: 0xa5 });
    const fr = (r: ReturnType<typeof flatRam>, i: number) => r.bytes[r.flat.fastReadOffset + i];
    expect(fr(patterned, 3)).toBe(0);
    patterned.ram.write(3 * PAGE_SIZE, 1, 7);
    expect(fr(patterned, 3)).toBe(1);
    expect(patterned.ram.read(3 * PAGE_SIZE + 1, 1)).toBe(0xa5);
    expect(patterned.ram.loadsDirect).toBe(false);

    const restored = flatRam();
    restored.ram.write(0, 4, 1);
    const page = new Uint8Array(PAGE_SIZE).fill(9);
    restored.ram.setPageSource((i) => (i === 2 ? page : undefined));
    expect(restored.ram.loadsDirect).toBe(false);
    expect([fr(restored, 0), fr(restored, 1), fr(restored, 2)]).toEqual([1, 0, 0]);
    expect(restored.ram.read(2 * PAGE_SIZE, 1)).toBe(9); // brought in by the read
    expect(fr(restored, 2)).toBe(1);
    expect(restored.bytes[2 * PAGE_SIZE]).toBe(9);
    restored.ram.setPageSource(undefined);
    expect(fr(restored, 1)).toBe(1);
    expect(restored.ram.loadsDirect).toBe(true);
  });

  it("commits host memory only for the pages a guest touches", () => {
    const before = process.memoryUsage().rss;
    const { ram } = flatRam({ size: 1 << 30 });
    for (let i = 0; i < 64; i++) ram.write(i * 997 * PAGE_SIZE, 4, i);
    expect(ram.allocatedPages).toBe(64);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("made lazily, holds separate pages until makeFlat moves them into the memory, keeping every flag", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20, flat: "lazy" });
    expect(ram.flat).toBeUndefined();
    ram.write(3 * PAGE_SIZE + 1, 2, 0xbeef); // written in this epoch: fastWrite 1
    ram.write(7 * PAGE_SIZE, 1, 0x11);
    ram.watch(7); // a code page: stores must go through the RAM
    const page = new Uint8Array(PAGE_SIZE).fill(5);
    ram.setPageSource((i) => (i === 9 ? page : undefined));
    const fastWrite = ram.fastWrite;
    const flat = ram.makeFlat();
    if (flat === undefined) throw new Error("this host has WebAssembly: RAM should become flat");
    expect(ram.makeFlat()).toBe(flat); // once
    expect(ram.flat).toBe(flat);
    const bytes = new Uint8Array(flat.memory.buffer);
    // The pages moved, and the page arrays now hold views into the memory.
    expect(ram.read(3 * PAGE_SIZE + 1, 2)).toBe(0xbeef);
    expect(bytes[flat.ramOffset + 3 * PAGE_SIZE + 2]).toBe(0xbe);
    expect(ram.page(3)!.buffer).toBe(flat.memory.buffer);
    // fastWrite stays the array harts hold; its flags are mirrored in the memory from now on.
    expect(ram.fastWrite).toBe(fastWrite);
    const flags = () => [3, 7, 9].map((i) => bytes[flat.fastWriteOffset + i]);
    expect(flags()).toEqual([1, 0, 0]);
    ram.openEpoch();
    expect(flags()).toEqual([0, 0, 0]);
    ram.write(9 * PAGE_SIZE, 1, 6); // from the page source, then written
    expect(flags()).toEqual([0, 0, 1]);
    // The hart's own flag needs the page's wider views, which its next write through `write` makes.
    expect([3, 7, 9].map((i) => fastWrite[i])).toEqual([0, 0, 0]);
    ram.write(9 * PAGE_SIZE + 2, 1, 7);
    expect([3, 7, 9].map((i) => fastWrite[i])).toEqual([0, 0, 1]);
    expect(bytes[flat.ramOffset + 9 * PAGE_SIZE + 1]).toBe(5);
    // Loads may read directly only the pages that hold data (a page source is set).
    expect([3, 7, 9, 4].map((i) => bytes[flat.fastReadOffset + i])).toEqual([1, 1, 1, 0]);
  });

  it("made lazily, lets compiled code write a page at once without its 16- and 32-bit views, dirty tracking unchanged", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20, flat: "lazy" });
    const flat = ram.makeFlat();
    if (flat === undefined) throw new Error("this host has WebAssembly: RAM should become flat");
    const bytes = new Uint8Array(flat.memory.buffer);
    const memoryFlag = (i: number) => bytes[flat.fastWriteOffset + i];
    const epoch = ram.openEpoch();
    // A store compiled code could not make directly (its flag was 0) comes through `write`:
    // from then on the memory's flag lets compiled stores go direct; the page has one view.
    ram.write(4 * PAGE_SIZE + 8, 4, 0x12345678);
    expect(memoryFlag(4)).toBe(1);
    expect(ram.pages8[4]).toBeDefined();
    expect([ram.pages16[4], ram.pages32[4], ram.fastWrite[4]]).toEqual([undefined, undefined, 0]);
    expect(ram.changedSince(epoch)).toEqual([4]);
    // A compiled store writes the memory itself; the page reads it.
    bytes[flat.ramOffset + 4 * PAGE_SIZE + 100] = 0x5a;
    expect(ram.read(4 * PAGE_SIZE + 100, 1)).toBe(0x5a);
    // Pages loaders and devices fill (`writeBytes`) are direct for compiled code at once too.
    ram.writeBytes(6 * PAGE_SIZE, new Uint8Array([1, 2, 3]));
    expect([memoryFlag(6), ram.fastWrite[6], ram.pages32[6]]).toEqual([1, 0, undefined]);
    // A write through `write` to a page whose memory flag is set is the hart's own path: the views come.
    ram.write(6 * PAGE_SIZE + 4, 2, 0xbeef);
    expect(ram.pages32[6]![1]).toBe(0xbeef);
    expect(ram.fastWrite[6]).toBe(1);
    // A new epoch sends every store back through `write`, where the page is marked dirty again.
    const next = ram.openEpoch();
    expect([memoryFlag(4), memoryFlag(6), ram.fastWrite[6]]).toEqual([0, 0, 0]);
    ram.write(4 * PAGE_SIZE, 1, 9);
    expect(ram.changedSince(next)).toEqual([4]);
    expect(memoryFlag(4)).toBe(1);
    // A watched (code) page is never direct, in either flag.
    ram.watch(4);
    ram.write(4 * PAGE_SIZE, 1, 10);
    expect([memoryFlag(4), ram.fastWrite[4]]).toEqual([0, 0]);
  });

  it("made with flat: false never becomes flat", () => {
    expect(new Ram({ base: BASE, size: PAGE_SIZE }).makeFlat()).toBeUndefined();
  });
});
