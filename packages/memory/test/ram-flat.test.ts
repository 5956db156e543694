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
  });

  it("sends loads of pages without data through the bus under an init pattern or a page source", () => {
    const patterned = flatRam({ initByte: 0xa5 });
    const fr = (r: ReturnType<typeof flatRam>, i: number) => r.bytes[r.flat.fastReadOffset + i];
    expect(fr(patterned, 3)).toBe(0);
    patterned.ram.write(3 * PAGE_SIZE, 1, 7);
    expect(fr(patterned, 3)).toBe(1);
    expect(patterned.ram.read(3 * PAGE_SIZE + 1, 1)).toBe(0xa5);

    const restored = flatRam();
    restored.ram.write(0, 4, 1);
    const page = new Uint8Array(PAGE_SIZE).fill(9);
    restored.ram.setPageSource((i) => (i === 2 ? page : undefined));
    expect([fr(restored, 0), fr(restored, 1), fr(restored, 2)]).toEqual([1, 0, 0]);
    expect(restored.ram.read(2 * PAGE_SIZE, 1)).toBe(9); // brought in by the read
    expect(fr(restored, 2)).toBe(1);
    expect(restored.bytes[2 * PAGE_SIZE]).toBe(9);
    restored.ram.setPageSource(undefined);
    expect(fr(restored, 1)).toBe(1);
  });

  it("commits host memory only for the pages a guest touches", () => {
    const before = process.memoryUsage().rss;
    const { ram } = flatRam({ size: 1 << 30 });
    for (let i = 0; i < 64; i++) ram.write(i * 997 * PAGE_SIZE, 4, i);
    expect(ram.allocatedPages).toBe(64);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});
