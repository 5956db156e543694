import { describe, expect, it } from "vitest";
import { Exception } from "../src/index.js";
import { asm } from "./support/assemble.js";
import { BOARD_RAM_BASE as BASE, DEVICE, LazyBoard } from "./support/lazy-board.js";

// The interpreter's loads, stores and fetches under Sv32 take a fast path when the TLB
// holds the page (straight to RAM) and the checked path otherwise. These S-mode programs
// run on the interpreter alone (no compiler) and their results are worked out by hand
// from the RISC-V spec: values, sign extension, faults with their causes and addresses,
// the D bit a first store sets, stores to a read-only page after loads from it hit, and
// self-modifying code written through a virtual address.

const VBASE = 0x4000_0000;
const ROOT = BASE + 0x1_0000;
const L2 = BASE + 0x1_1000;
const CODE = BASE + 0x2_0000;
const CODE2 = BASE + 0x2_1000;
const DATA = BASE + 0x3_0000; // VBASE + 0x1000, RWAD
const DATA2 = BASE + 0x3_1000; // VBASE + 0x2000, RW and A, D clear
const DATA3 = BASE + 0x3_2000; // VBASE + 0x3000, read-only
const HANDLER = BASE + 0x800;

const V = 1;
const R = 2;
const W = 4;
const X = 8;
const A = 64;
const D = 128;
const pte = (pa: number, flags: number): number => (((pa >>> 12) << 10) | flags) >>> 0;

const MSTATUS = 0x300;
const MEPC = 0x341;
const MCAUSE = 0x342;
const MTVAL = 0x343;
const MTVEC = 0x305;
const SATP = 0x180;
const PMPCFG0 = 0x3a0;
const PMPADDR0 = 0x3b0;

function li(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  const hi = (value - lo) | 0;
  return [asm("lui", { rd, imm: hi }), asm("addi", { rd, rs1: rd, imm: lo })];
}
const csrw = (csr: number, rs1: number) => asm("csrrw", { rd: 0, rs1, imm: csr });
const csrr = (rd: number, csr: number) => asm("csrrs", { rd, rs1: 0, imm: csr });

/**
 * A board in S-mode with paging on at VBASE, `program` at CODE (virtual VBASE); the M-mode
 * handler counts traps in x27, keeps the last cause in x30 and tval in x29, and returns
 * past the faulting instruction.
 */
function board(program: number[], options: { device?: boolean } = {}): LazyBoard {
  const b = new LazyBoard(1 << 20 /* 1 MiB */, { jit: false });
  b.store(ROOT + 4 * (VBASE >>> 22), 4, pte(L2, V));
  if (options.device) b.store(ROOT + 4 * (DEVICE >>> 22), 4, pte(DEVICE & ~0x3fffff, V | R | W | A | D));
  const map = (va: number, pa: number, flags: number) =>
    b.store(L2 + 4 * ((va >>> 12) & 0x3ff), 4, pte(pa, flags));
  map(VBASE, CODE, V | R | W | X | A | D);
  map(VBASE + 0x1000, DATA, V | R | W | A | D);
  map(VBASE + 0x2000, DATA2, V | R | W | A);
  map(VBASE + 0x3000, DATA3, V | R | A);
  map(VBASE + 0x4000, CODE2, V | R | X | A);
  b.program(
    [
      ...li(28, -1),
      csrw(PMPADDR0, 28),
      ...li(28, 0x1f),
      csrw(PMPCFG0, 28),
      ...li(28, HANDLER),
      csrw(MTVEC, 28),
      ...li(28, (1 << 31) | (ROOT >>> 12)),
      csrw(SATP, 28),
      ...li(28, 1 << 11), // MPP = S
      csrw(MSTATUS, 28),
      ...li(28, VBASE),
      csrw(MEPC, 28),
      asm("mret"),
    ],
    BASE,
  );
  b.program(
    [
      asm("addi", { rd: 27, rs1: 27, imm: 1 }),
      csrr(30, MCAUSE),
      csrr(29, MTVAL),
      csrr(28, MEPC),
      asm("addi", { rd: 28, rs1: 28, imm: 4 }),
      csrw(MEPC, 28),
      asm("mret"),
    ],
    HANDLER,
  );
  b.program(program, CODE);
  return b;
}

const SPIN = asm("jal", { rd: 0, imm: 0 });
const word = (b: LazyBoard, pa: number) => b.load(pa, 4) >>> 0;

describe("interpreter loads and stores under Sv32 (TLB hits straight to RAM, the rest checked)", () => {
  it("loads sign- or zero-extend and stores write the bytes, on first use and on TLB hits", () => {
    const body = [
      asm("lb", { rd: 5, rs1: 1, imm: 0 }),
      asm("lh", { rd: 6, rs1: 1, imm: 0 }),
      asm("lw", { rd: 7, rs1: 1, imm: 0 }),
      asm("lbu", { rd: 8, rs1: 1, imm: 3 }),
      asm("lhu", { rd: 9, rs1: 1, imm: 2 }),
      asm("sw", { rs1: 1, rs2: 7, imm: 8 }),
      asm("sh", { rs1: 1, rs2: 6, imm: 12 }),
      asm("sb", { rs1: 1, rs2: 5, imm: 15 }),
      asm("lh", { rd: 10, rs1: 1, imm: 13 }), // misaligned within the page
    ];
    // Twice: the first pass fills the TLBs (walks), the second hits them.
    const b = board([...li(1, VBASE + 0x1000), ...body, ...body, SPIN]);
    b.store(DATA, 4, 0x8081_8283);
    b.hart.run(200);
    const x = b.hart.x;
    expect(x[5]! >>> 0).toBe(0xffff_ff83);
    expect(x[6]! >>> 0).toBe(0xffff_8283);
    expect(x[7]! >>> 0).toBe(0x8081_8283);
    expect(x[8]).toBe(0x80);
    expect(x[9]).toBe(0x8081);
    expect(word(b, DATA + 8)).toBe(0x8081_8283);
    // sh 0x8283 at +12 (bytes 83 82), sb 0x83 at +15: bytes 83 82 00 83.
    expect(word(b, DATA + 12)).toBe(0x8300_8283);
    // lh at +13: bytes 82 00 -> 0x0082.
    expect(x[10]).toBe(0x0082);
    expect(x[27]).toBe(0); // no trap
  });

  it("a load crossing into the next page reads both pages; one reaching an unmapped page faults with its address", () => {
    const b = board([
      ...li(2, VBASE + 0x1ffe),
      asm("lw", { rd: 10, rs1: 2, imm: 0 }),
      asm("lw", { rd: 10, rs1: 2, imm: 0 }),
      ...li(3, VBASE + 0x4ffe), // code page 2, followed by an unmapped page
      asm("lw", { rd: 11, rs1: 3, imm: 0 }),
      SPIN,
    ]);
    b.program([0x2211], DATA + 0xffe);
    b.program([0x4433], DATA2);
    b.hart.run(100);
    expect(b.hart.x[10]! >>> 0).toBe(0x4433_2211);
    expect(b.hart.x[11]).toBe(0);
    expect(b.hart.x[27]).toBe(1);
    expect(b.hart.x[30]).toBe(Exception.LoadPageFault);
    // tval: an address in the portion that faulted (the unmapped page).
    expect(b.hart.x[29]! >>> 12).toBe((VBASE + 0x5000) >>> 12);
  });

  it("a first store to a clean page sets D in its PTE even after loads from the page hit the TLB", () => {
    const b = board([
      ...li(3, VBASE + 0x2000),
      asm("lw", { rd: 10, rs1: 3, imm: 4 }),
      asm("lw", { rd: 10, rs1: 3, imm: 4 }),
      ...li(4, 0x1234_5678),
      asm("sw", { rs1: 3, rs2: 4, imm: 4 }),
      asm("sw", { rs1: 3, rs2: 4, imm: 8 }),
      SPIN,
    ]);
    const ptePa = L2 + 4 * 2;
    expect(word(b, ptePa) & D).toBe(0);
    b.hart.run(100);
    expect(word(b, ptePa) & D).toBe(D);
    expect(word(b, DATA2 + 4)).toBe(0x1234_5678);
    expect(word(b, DATA2 + 8)).toBe(0x1234_5678);
    expect(b.hart.x[27]).toBe(0);
  });

  it("stores to a read-only page fault (store page fault, tval the address) while loads from it hit", () => {
    const b = board([
      ...li(3, VBASE + 0x3000),
      ...li(4, 0x0bad_f00d),
      asm("lw", { rd: 10, rs1: 3, imm: 16 }),
      asm("lw", { rd: 11, rs1: 3, imm: 16 }),
      asm("sw", { rs1: 3, rs2: 4, imm: 16 }),
      asm("sb", { rs1: 3, rs2: 4, imm: 17 }),
      asm("lw", { rd: 12, rs1: 3, imm: 16 }),
      SPIN,
    ]);
    b.store(DATA3 + 16, 4, 0x5566_7788);
    b.hart.run(100);
    expect(b.hart.x[27]).toBe(2);
    expect(b.hart.x[30]).toBe(Exception.StorePageFault);
    expect(b.hart.x[29]! >>> 0).toBe(VBASE + 0x3011);
    expect(word(b, DATA3 + 16)).toBe(0x5566_7788);
    expect(b.hart.x[12]! >>> 0).toBe(0x5566_7788);
  });

  it("loads and stores to a device under translation reach the device", () => {
    const b = board(
      [...li(7, DEVICE), asm("lw", { rd: 10, rs1: 7, imm: 0 }), asm("sw", { rs1: 7, rs2: 7, imm: 0 }), SPIN],
      {
        device: true,
      },
    );
    b.hart.run(50);
    expect(b.hart.x[10]).toBe(0x1234);
    expect(b.deviceWrites).toEqual([DEVICE]);
  });

  it("code rewritten through its virtual address runs as rewritten, each time (stores hit the TLB, the page is watched)", () => {
    // L: addi x12, x0, k is rewritten to k + 1 after each run of it, three times.
    const L = 6 * 4; // offset of L in the program
    const program = [
      ...li(15, asm("addi", { rd: 12, rs1: 0, imm: 2 })),
      asm("lui", { rd: 16, imm: 1 << 20 }),
      ...li(13, VBASE + L),
      asm("addi", { rd: 14, rs1: 0, imm: 3 }),
      // L:
      asm("addi", { rd: 12, rs1: 0, imm: 1 }),
      asm("add", { rd: 17, rs1: 17, rs2: 12 }),
      asm("sw", { rs1: 13, rs2: 15, imm: 0 }),
      asm("add", { rd: 15, rs1: 15, rs2: 16 }),
      asm("addi", { rd: 14, rs1: 14, imm: -1 }),
      asm("bne", { rs1: 14, rs2: 0, imm: -5 * 4 }),
      SPIN,
    ];
    expect(program[L / 4]).toBe(asm("addi", { rd: 12, rs1: 0, imm: 1 }));
    const b = board(program);
    b.hart.run(200);
    expect(b.hart.x[17]).toBe(1 + 2 + 3);
    expect(b.hart.x[12]).toBe(3);
    expect(b.hart.x[27]).toBe(0);
  });

  it("fetches follow the fetch TLB across pages and calls back and forth", () => {
    const b = board([
      ...li(18, VBASE + 0x4000),
      asm("jalr", { rd: 1, rs1: 18, imm: 0 }),
      asm("jalr", { rd: 1, rs1: 18, imm: 0 }),
      asm("jalr", { rd: 1, rs1: 18, imm: 0 }),
      SPIN,
    ]);
    b.program([asm("addi", { rd: 19, rs1: 19, imm: 7 }), asm("jalr", { rd: 0, rs1: 1, imm: 0 })], CODE2);
    b.hart.run(100);
    expect(b.hart.x[19]).toBe(21);
    expect(b.hart.x[27]).toBe(0);
  });
});
