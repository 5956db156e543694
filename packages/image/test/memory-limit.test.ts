import { describe, expect, test } from "vitest";
import { Image, MemoryBudget } from "../src/index.js";
import { pseudoRandom, sameBytes } from "./support/qemu-img.js";

describe("memory limit", () => {
  test("holds under a workload larger than the limit: clean pages dropped, dirty pages spilled", () => {
    const limit = 256 * 1024;
    const budget = new MemoryBudget({ limitBytes: limit });
    const a = new Image([], { size: 4 * 1024 * 1024, budget, cacheReads: true });
    const b = new Image([], { size: 4 * 1024 * 1024, budget, cacheReads: true });
    const data = pseudoRandom(2 * 1024 * 1024, 9);
    // 4 MiB of writes (two images) plus reads, through a 256 KiB limit.
    for (let at = 0; at < data.length; at += 8192) {
      a.write(at, data.subarray(at, at + 8192));
      b.write(data.length + at, data.subarray(at, at + 8192));
      a.read(data.length + at, 100);
      expect(budget.usedBytes).toBeLessThanOrEqual(limit);
    }
    expect(budget.peakBytes).toBeLessThanOrEqual(limit);
    expect(a.spilledPageCount + b.spilledPageCount).toBeGreaterThan(0);
    expect(sameBytes(a.read(0, data.length), data)).toBe(true);
    expect(sameBytes(b.read(data.length, data.length), data)).toBe(true);
    // Updating a spilled page goes to the spill file and reads back.
    a.write(1, Uint8Array.of(0xaa));
    expect(a.read(0, 2)).toEqual(Uint8Array.of(data[0], 0xaa));
    expect(a.dirtyPageCount).toBe(data.length / 4096);
    expect(budget.peakBytes).toBeLessThanOrEqual(limit);
    a.close();
    b.close();
    expect(budget.usedBytes).toBe(0);
  });
});
