import { describe, expect, it } from "vitest";
import { PAGE_SIZE, Ram } from "../src/index.js";

const BASE = 0x8000_0000;

describe("dropping a page's content (free page reporting)", () => {
  it("makes a written page read as the init pattern and counts as a write since the epoch", () => {
    const ram = new Ram({ base: BASE, size: 4 * PAGE_SIZE, initByte: 0x5a });
    ram.write(PAGE_SIZE + 100, 4, 0xdeadbeef);
    const epoch = ram.openEpoch();
    expect(ram.discardPage(1)).toBe(true);
    expect(ram.readBytes(PAGE_SIZE, PAGE_SIZE)).toEqual(new Uint8Array(PAGE_SIZE).fill(0x5a));
    expect(ram.changedSince(epoch)).toEqual([1]);
  });

  it("leaves never-written and already blank pages alone: nothing allocated, nothing dirtied", () => {
    const ram = new Ram({ base: BASE, size: 4 * PAGE_SIZE });
    ram.write(2 * PAGE_SIZE, 4, 0);
    const epoch = ram.openEpoch();
    expect(ram.discardPage(0)).toBe(false);
    expect(ram.discardPage(2)).toBe(false);
    expect(ram.allocatedPages).toBe(1);
    expect(ram.changedSince(epoch)).toEqual([]);
  });

  it("keeps the page's bytes of the instant for a snapshot and a baseline taken before", () => {
    const ram = new Ram({ base: BASE, size: 4 * PAGE_SIZE });
    ram.write(0, 4, 0x11223344);
    const baseline = ram.keepBaseline();
    const snapshot = ram.beginSnapshot();
    ram.discardPage(0);
    expect(ram.read(0, 4)).toBe(0);
    expect(snapshot.readPage(0)?.subarray(0, 4)).toEqual(Uint8Array.of(0x44, 0x33, 0x22, 0x11));
    expect(baseline.pageAt(0)?.subarray(0, 4)).toEqual(Uint8Array.of(0x44, 0x33, 0x22, 0x11));
    snapshot.end();
    baseline.end();
  });

  it("drops a page still only in a lazy-restore page source", () => {
    const ram = new Ram({ base: BASE, size: 2 * PAGE_SIZE });
    ram.setPageSource((i) => (i === 1 ? new Uint8Array(PAGE_SIZE).fill(7) : undefined));
    expect(ram.discardPage(1)).toBe(true);
    expect(ram.read(PAGE_SIZE + 8, 1)).toBe(0);
    expect(ram.discardPage(0)).toBe(false);
  });

  it("tells the watcher of a watched page (decoded code must be dropped)", () => {
    const ram = new Ram({ base: BASE, size: 2 * PAGE_SIZE });
    ram.write(PAGE_SIZE, 4, 0x13);
    const seen: [number, number][] = [];
    ram.onWatchedWrite = (offset, length) => seen.push([offset, length]);
    ram.watch(1);
    ram.discardPage(1);
    expect(seen).toEqual([[PAGE_SIZE, PAGE_SIZE]]);
  });

  it("refuses a page outside RAM", () => {
    const ram = new Ram({ base: BASE, size: 2 * PAGE_SIZE });
    expect(() => ram.discardPage(2)).toThrow(/outside RAM/);
  });
});
