import { describe, expect, it } from "vitest";
import { planRegion } from "../src/region-loops.js";
import { RegionScanner } from "../src/region-scan.js";
import { asm } from "./support/assemble.js";
import { cycle, runBoth, twin } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE, LazyBoard } from "./support/lazy-board.js";

// The WebAssembly back end's loads with only a bounds check (RAM `loadsDirect`) and its
// loop layout (region-loops.ts), each against the reference interpreter.

const RAM = 1024 * 1024;
const HOT = 200;

const addi = (rd: number, rs1: number, imm: number) => asm("addi", { rd, rs1, imm });
const li = (rd: number, value: number): number[] => {
  const lo = (value << 20) >> 20;
  return [asm("lui", { rd, imm: (value - lo) | 0 }), addi(rd, rd, lo)];
};
const spin = () => asm("jal", { rd: 0, imm: 0 });

/** The trap handler at `at`: skips the faulting instruction (mepc += 4; mret). */
const skipper = [
  asm("csrrs", { rd: 28, rs1: 0, imm: 0x341 }),
  addi(28, 28, 4),
  asm("csrrw", { rd: 0, rs1: 28, imm: 0x341 }),
  asm("mret"),
];

describe("wasm back end: loads checked against RAM's bounds only", () => {
  it("loads at RAM's ends, across them and misaligned ones match the interpreter", () => {
    const handler = BASE + 0x800;
    const last = BASE + RAM - 4;
    const program = [
      ...li(1, HOT),
      ...li(2, last),
      ...li(29, BASE + 0x2000),
      ...li(30, BASE + 0x3000),
      ...li(27, BASE - 4),
      ...li(31, handler),
      asm("csrrw", { rd: 0, rs1: 31, imm: 0x305 }), // mtvec
      // loop:
      asm("lw", { rd: 3, rs1: 2, imm: 0 }), // RAM's last word
      asm("lw", { rd: 4, rs1: 2, imm: 2 }), // runs past RAM's end: access fault, skipped
      asm("lbu", { rd: 5, rs1: 2, imm: 3 }), // RAM's last byte
      asm("lhu", { rd: 6, rs1: 2, imm: 1 }), // misaligned
      asm("lw", { rd: 7, rs1: 29, imm: 1 }), // misaligned
      asm("lw", { rd: 8, rs1: 30, imm: -2 }), // misaligned, across two pages
      asm("lh", { rd: 9, rs1: 30, imm: -1 }), // misaligned, across two pages
      asm("lw", { rd: 10, rs1: 27, imm: 0 }), // below RAM: access fault, skipped
      asm("lw", { rd: 11, rs1: 27, imm: 2 }), // straddles RAM's start: access fault, skipped
      asm("add", { rd: 12, rs1: 12, rs2: 3 }),
      asm("xor", { rd: 12, rs1: 12, rs2: 6 }),
      asm("add", { rd: 12, rs1: 12, rs2: 7 }),
      asm("xor", { rd: 12, rs1: 12, rs2: 8 }),
      asm("sw", { rs1: 29, rs2: 12, imm: 0 }), // the next round reads what this one wrote
      asm("sb", { rs1: 30, rs2: 1, imm: -1 }),
      asm("sw", { rs1: 2, rs2: 12, imm: -4 }),
      addi(1, 1, -1),
      asm("bne", { rs1: 1, rs2: 0, imm: -68 }),
      spin(),
    ];
    const t = twin(
      RAM,
      (b) => {
        b.program(program);
        b.program(skipper, handler);
        b.write(last - 8, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 0x81, 0x92, 0xa3, 0xb4));
        b.write(BASE + 0x2ffc, Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88));
      },
      "wasm",
    );
    runBoth(t, cycle([1, 5, 17, 64, 300, 3], 12_000), "edges");
    expect(t.ref.hart.pc >>> 0).toBe(BASE + 4 * (program.length - 1)); // it reached the spin
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe("wasm"); // no module failed to compile
    expect(t.jit.hart.traps).toBe(3 * HOT);
  });

  it("code compiled while every page could be loaded from stops reading the memory once one cannot", () => {
    const program = [
      ...li(1, 100_000),
      ...li(2, BASE + 0x40000), // never written
      // loop:
      asm("lw", { rd: 3, rs1: 2, imm: 0 }),
      asm("add", { rd: 4, rs1: 4, rs2: 3 }),
      addi(1, 1, -1),
      asm("bne", { rs1: 1, rs2: 0, imm: -12 }),
      spin(),
    ];
    const t = twin(RAM, (b) => b.program(program), "wasm");
    runBoth(t, [3000, 2000], "before");
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe("wasm"); // no module failed to compile
    expect(t.jit.hart.x[4]).toBe(0);
    // As a page source set under a running guest: unwritten pages now read 0x5a.
    t.jit.fillUnwritten(0x5a);
    t.ref.fillUnwritten(0x5a);
    runBoth(t, [1, 999, 4000], "after");
    expect(t.jit.hart.x[4]).not.toBe(0);
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe("wasm"); // no module failed to compile
  });
});

/**
 * Two loops with an if/else and an inner loop each; the second also calls a function,
 * so its return site lies inside it (no loop unit: it must stay a region entry).
 */
const loops = [
  addi(1, 0, HOT), // 0
  addi(8, 0, HOT), // 4
  addi(3, 0, 4), // 8: first loop's head, a block cut where the inner loop starts
  addi(2, 2, 1), // 12: inner loop
  addi(3, 3, -1), // 16
  asm("bne", { rs1: 3, rs2: 0, imm: -8 }), // 20 -> 12
  asm("andi", { rd: 4, rs1: 2, imm: 2 }), // 24
  asm("bne", { rs1: 4, rs2: 0, imm: 12 }), // 28 -> 40
  addi(5, 5, 7), // 32
  asm("jal", { rd: 0, imm: 8 }), // 36 -> 44
  addi(6, 6, -3), // 40
  addi(8, 8, -1), // 44
  asm("bne", { rs1: 8, rs2: 0, imm: -40 }), // 48 -> 8
  addi(3, 0, 5), // 52: second loop's head
  addi(2, 2, 3), // 56: inner loop
  addi(3, 3, -1), // 60
  asm("bne", { rs1: 3, rs2: 0, imm: -8 }), // 64 -> 56
  asm("andi", { rd: 4, rs1: 2, imm: 1 }), // 68
  asm("beq", { rs1: 4, rs2: 0, imm: 12 }), // 72 -> 84
  addi(5, 5, 1), // 76
  asm("jal", { rd: 0, imm: 8 }), // 80 -> 88
  addi(6, 6, 1), // 84
  asm("jal", { rd: 10, imm: 16 }), // 88 -> f at 104
  addi(1, 1, -1), // 92: return site
  asm("bne", { rs1: 1, rs2: 0, imm: -44 }), // 96 -> 52
  spin(), // 100
  asm("add", { rd: 7, rs1: 7, rs2: 2 }), // 104: f
  asm("jalr", { rd: 0, rs1: 10, imm: 0 }), // 108
];

describe("wasm back end: loops", () => {
  it("a loop entered only at its head is one unit; one with a return site inside is not", () => {
    const b = new LazyBoard(RAM);
    b.program(loops);
    const region = new RegionScanner(b.window, { maxBlocks: 24, maxInsns: 400, maxBlockInsns: 100 }).scan(
      (BASE + 8) | 0,
    )!;
    const plan = planRegion(region);
    const at = (off: number) => plan.index.get((BASE + off) | 0)!;
    const starts = plan.region.blocks.map((x) => (x.start - BASE) >>> 0);
    expect(starts).toEqual([...starts].sort((x, y) => x - y)); // address order
    // The block at 8 ends where the inner loop (12) starts; 40 where 44 starts.
    expect(plan.region.blocks[at(8)]!.insns.length).toBe(1);
    expect(plan.region.blocks[at(40)]!.insns.length).toBe(1);
    expect(plan.units).toContainEqual([at(8), at(44)]);
    for (const off of [12, 24, 32, 40, 44]) {
      expect(plan.loopOf[at(off)], `block ${off}`).toBe(at(8));
      expect(plan.unitOf[at(off)], `block ${off}`).toBe(-1);
    }
    // The second loop calls f: its return site (92) is entered from the dispatch.
    expect(plan.unitOf[at(52)]).not.toBe(-1);
    expect(plan.unitOf[at(92)]).not.toBe(-1);
    expect(plan.loopOf[at(92)]).toBe(-1);
  });

  it("match the interpreter at budgets that end anywhere", () => {
    const t = twin(RAM, (b) => b.program(loops), "wasm");
    runBoth(t, cycle([1, 2, 3, 7, 13, 50, 97, 1000, 5], 30_000), "loops");
    expect(t.ref.hart.pc >>> 0).toBe(BASE + 100);
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe("wasm"); // no module failed to compile
  });
});

/**
 * A loop laid out with a block after its end that branches back into its middle (as gcc
 * lays out a heap sort's sift-down): the run from the head extends over that block, and
 * the back edge goes through the loop's top. Stores and loads leave the region while
 * their page is not yet dirty, with only some registers written.
 */
const midLoop = [
  addi(1, 0, HOT), // 0
  addi(9, 0, 3), // 4
  ...li(20, BASE + 0x2000), // 8, 12
  addi(2, 2, 1), // 16: head
  asm("andi", { rd: 3, rs1: 2, imm: 3 }), // 20
  asm("beq", { rs1: 3, rs2: 0, imm: 36 }), // 24 -> 60
  asm("add", { rd: 4, rs1: 4, rs2: 9 }), // 28: entered backwards from 68
  asm("sw", { rs1: 20, rs2: 4, imm: 0 }), // 32
  asm("lw", { rd: 5, rs1: 20, imm: 4 }), // 36
  asm("add", { rd: 6, rs1: 6, rs2: 5 }), // 40
  addi(1, 1, -1), // 44
  asm("beq", { rs1: 1, rs2: 0, imm: 24 }), // 48 -> 72
  asm("sw", { rs1: 20, rs2: 2, imm: 4 }), // 52
  asm("jal", { rd: 0, imm: -40 }), // 56 -> 16
  addi(8, 8, 5), // 60: after the loop's last jump to its head
  asm("xor", { rd: 6, rs1: 6, rs2: 8 }), // 64
  asm("bne", { rs1: 8, rs2: 0, imm: -40 }), // 68 -> 28
  spin(), // 72
];

describe("wasm back end: a loop entered backwards in its middle", () => {
  it("is one unit whose top leads to the head or to the middle block", () => {
    const b = new LazyBoard(RAM);
    b.program(midLoop);
    const region = new RegionScanner(b.window, { maxBlocks: 24, maxInsns: 400, maxBlockInsns: 100 }).scan(
      (BASE + 16) | 0,
    )!;
    const plan = planRegion(region);
    const at = (off: number) => plan.index.get((BASE + off) | 0)!;
    expect(plan.units).toContainEqual([at(16), at(60)]);
    expect(plan.inner.get(at(16))).toEqual([at(28)]);
    for (const off of [28, 52, 60]) expect(plan.unitOf[at(off)], `block ${off}`).toBe(-1);
  });

  it("matches the interpreter at budgets that end anywhere", () => {
    const t = twin(RAM, (b) => b.program(midLoop), "wasm");
    runBoth(t, cycle([1, 2, 3, 7, 13, 50, 97, 1000, 5], 20_000), "mid-loop");
    expect(t.ref.hart.pc >>> 0).toBe(BASE + 72);
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe("wasm"); // no module failed to compile
  });
});
