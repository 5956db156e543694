import { describe, expect, it } from "vitest";
import { DC_EMPTY, DecodeCache } from "../src/decode-cache.js";
import { asm } from "./support/assemble.js";
import { RAM_BASE, TestMachine } from "./support/test-machine.js";

describe("decode cache", () => {
  it("starts small and empty (zero tags match only pc 0, whose slot 0 is marked empty)", () => {
    const c = new DecodeCache();
    expect(c.tags.length).toBe(4096);
    expect(c.data.length).toBe(2 * 4096);
    expect(c.mask).toBe(4095);
    expect(c.tags[0]).toBe(DC_EMPTY);
    expect(c.tags.subarray(1).every((t) => t === 0)).toBe(true);
    expect(c.crowded).toBe(false);
  });

  it("is crowded after 1,024 fills, and grows once to 2^18 slots", () => {
    const c = new DecodeCache();
    c.fills = 1024;
    expect(c.crowded).toBe(false);
    c.fills++;
    expect(c.crowded).toBe(true);
    const big = c.grown();
    expect(big.tags.length).toBe(1 << 18);
    expect(big.tags[0]).toBe(DC_EMPTY);
    big.fills = 1e9;
    expect(big.crowded).toBe(false);
  });

  it("a flush marks every slot empty, and costs nothing when nothing was filled", () => {
    const c = new DecodeCache();
    c.flush();
    expect(c.tags[1]).toBe(0);
    c.tags[7] = RAM_BASE | 0;
    c.used = true;
    c.flush();
    expect(c.tags.every((t) => t === DC_EMPTY)).toBe(true);
    expect(c.used).toBe(false);
  });
});

describe("a hart whose code outgrows the first decode cache", () => {
  it("runs 20,000 straight-line instructions twice, the second time with one of them rewritten", () => {
    // x5 += k for k = 1..N, then a store rewrites instruction 10's immediate and the code
    // runs again: the sum the second time tells whether the rewritten one ran in its new form.
    const N = 20_000;
    const body: number[] = [];
    for (let k = 1; k <= N; k++) body.push(asm("addi", { rd: 5, rs1: 5, imm: k % 2048 }));
    const m = new TestMachine(256 * 1024);
    const words = [
      ...body,
      asm("addi", { rd: 6, rs1: 6, imm: 1 }),
      asm("sw", { rs1: 7, rs2: 8, imm: 0 }), // rewrite instruction 10 (x7 = its address)
      asm("jalr", { rd: 0, rs1: 9, imm: 0 }), // back to the start (x9)
    ];
    words.forEach((w, k) => {
      m.store(RAM_BASE + 4 * k, 4, w);
    });
    const h = m.hart;
    h.x[7] = RAM_BASE + 4 * 9;
    h.x[8] = asm("addi", { rd: 5, rs1: 5, imm: 1000 });
    h.x[9] = RAM_BASE;
    let sum = 0;
    for (let k = 1; k <= N; k++) sum += k % 2048;
    // First pass (in slices, so that the cache may grow between them), then the second.
    for (let s = 0; s < N + 3; s += 1000) h.run(Math.min(1000, N + 3 - s));
    expect(h.x[5]).toBe(sum);
    expect(h.x[6]).toBe(1);
    // The test is about a cache that grew on the way.
    expect((h as unknown as { decode: DecodeCache }).decode.tags.length).toBe(1 << 18);
    for (let s = 0; s < N; s += 1000) h.run(1000);
    expect(h.x[5]).toBe(2 * sum - 10 + 1000);
  });
});
