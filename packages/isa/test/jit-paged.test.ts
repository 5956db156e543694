import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JIT_MASK } from "../src/block-cache.js";
import { asm } from "./support/assemble.js";
import { BACKENDS, cycle, runBoth, twin } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE, DEVICE, type LazyBoard } from "./support/lazy-board.js";

// The block compiler under Sv32 translation must be as invisible as without it: every
// test runs an S-mode (or U-mode) program with paging on, on a hart with the compiler and
// on one without, and compares everything architectural (registers, pc, steps, traps,
// CSRs, memory including the page tables' A and D bits) after every slice of steps.

const RAM = 4 * 1024 * 1024; // one identity-mapped 4 MiB superpage
const HOT_LOOPS = 150;

// Physical layout.
const M_BOOT = BASE;
const M_HANDLER = BASE + 0x800;
const ROOT_A = BASE + 0x10000;
const L2_A = BASE + 0x11000;
const ROOT_B = BASE + 0x12000;
const L2_B = BASE + 0x13000;
const CODE = BASE + 0x20000; // frames of the S-mode program, one per virtual page
const DATA = BASE + 0x40000; // data frames
/** The program's virtual pages start here (one L2 table covers 0x4000_0000..0x403f_ffff). */
const VBASE = 0x4000_0000;

const PTE_V = 1;
const PTE_R = 2;
const PTE_W = 4;
const PTE_X = 8;
const PTE_U = 16;
const PTE_A = 64;
const PTE_D = 128;
const RWXAD = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
const SFENCE_VMA = 0x12000073;

const MSTATUS = 0x300;
const MEPC = 0x341;
const MCAUSE = 0x342;
const MTVEC = 0x305;
const SATP = 0x180;
const PMPCFG0 = 0x3a0;
const PMPADDR0 = 0x3b0;

/** A tiny assembler with labels for branches and jumps (resolved at the end). */
class Program {
  private readonly items: ((pc: number) => number)[] = [];
  private readonly labels = new Map<string, number>();
  constructor(readonly origin: number) {}

  get here(): number {
    return this.origin + 4 * this.items.length;
  }
  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }
  at(name: string): number {
    const a = this.labels.get(name);
    if (a === undefined) throw new Error(`no label ${name}`);
    return a;
  }
  raw(...words: number[]): this {
    for (const w of words) this.items.push(() => w);
    return this;
  }
  op(name: string, ops: { rd?: number; rs1?: number; rs2?: number; imm?: number } = {}): this {
    return this.raw(asm(name, ops));
  }
  li(rd: number, value: number): this {
    const lo = (value << 20) >> 20;
    const hi = (value - lo) | 0;
    return this.op("lui", { rd, imm: hi }).op("addi", { rd, rs1: rd, imm: lo });
  }
  branch(name: string, rs1: number, rs2: number, label: string): this {
    const at = this.here;
    this.items.push(() => asm(name, { rs1, rs2, imm: this.at(label) - at }));
    return this;
  }
  jal(rd: number, label: string): this {
    const at = this.here;
    this.items.push(() => asm("jal", { rd, imm: this.at(label) - at }));
    return this;
  }
  csrw(csr: number, rs1: number): this {
    return this.op("csrrw", { rd: 0, rs1, imm: csr });
  }
  words(): number[] {
    return this.items.map((f, k) => f(this.origin + 4 * k));
  }
}

/**
 * Page tables for two address spaces (A and B) that identity-map RAM with a superpage
 * and the device page, and map VBASE.. through an L2 table each.
 */
class Space {
  constructor(
    readonly root: number,
    readonly l2: number,
  ) {}
  get satp(): number {
    return (1 << 31) | (this.root >>> 12) | 0;
  }
  /** Physical address of the L2 PTE for virtual address `va` (in VBASE's 4 MiB). */
  pteOf(va: number): number {
    return this.l2 + 4 * ((va >>> 12) & 0x3ff);
  }
}
const A = new Space(ROOT_A, L2_A);
const B = new Space(ROOT_B, L2_B);
const pte = (pa: number, flags: number): number => (((pa >>> 12) << 10) | flags) >>> 0;

function tables(b: LazyBoard, user: boolean): void {
  for (const s of [A, B]) {
    b.store(s.root + 4 * (BASE >>> 22), 4, pte(BASE, RWXAD));
    b.store(
      s.root + 4 * (DEVICE >>> 22),
      4,
      pte(DEVICE & ~0x3fffff, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | (user ? PTE_U : 0)),
    );
    b.store(s.root + 4 * (VBASE >>> 22), 4, pte(s.l2, PTE_V));
  }
}

function map(b: LazyBoard, s: Space, va: number, pa: number, flags: number): void {
  b.store(s.pteOf(va), 4, pte(pa, flags));
}

/**
 * M-mode: installs the handler, turns on space A and drops to S-mode (or U-mode) at
 * VBASE. The handler returns past a faulting instruction (4 bytes), or to ra after an
 * instruction page fault (a call into an unmapped page returns at once).
 */
function machineCode(b: LazyBoard, user: boolean): void {
  const boot = new Program(M_BOOT)
    .li(28, -1)
    .csrw(PMPADDR0, 28) // PMP entry 0: NAPOT over everything, RWX
    .li(28, 0x1f)
    .csrw(PMPCFG0, 28)
    .li(28, M_HANDLER)
    .csrw(MTVEC, 28)
    .li(28, A.satp)
    .csrw(SATP, 28)
    .li(28, user ? 0 : 1 << 11)
    .csrw(MSTATUS, 28)
    .li(28, VBASE)
    .csrw(MEPC, 28)
    .op("mret");
  b.program(boot.words(), M_BOOT);
  const handler = new Program(M_HANDLER)
    .op("csrrs", { rd: 28, rs1: 0, imm: MCAUSE })
    .op("addi", { rd: 28, rs1: 28, imm: -12 })
    .branch("beq", 28, 0, "fetch")
    .op("csrrs", { rd: 28, rs1: 0, imm: MEPC })
    .op("addi", { rd: 28, rs1: 28, imm: 4 })
    .csrw(MEPC, 28)
    .op("mret")
    .label("fetch")
    .csrw(MEPC, 1)
    .op("mret");
  b.program(handler.words(), M_HANDLER);
}

function supervisorCode(b: LazyBoard, p: Program, user: boolean): void {
  const words = p.words();
  const pages = Math.ceil((words.length * 4) / 4096);
  for (let k = 0; k < pages; k++) {
    for (const s of [A, B]) map(b, s, VBASE + k * 4096, CODE + k * 4096, RWXAD | (user ? PTE_U : 0));
  }
  b.program(words, CODE);
}

describe.each(BACKENDS)("block compiler (%s back end) under Sv32: hand-written programs", (backend) => {
  // Data pages (virtual): D0 read-only, D1 read-write without A/D (the walker sets
  // them), D2 unmapped, D3 read-write; F is a function on its own code page.
  const D0 = VBASE + 0x10_000;
  const D1 = D0 + 0x1000;
  const D2 = D0 + 0x2000;
  const D3 = D0 + 0x3000;
  const F = VBASE + 0x8000;

  for (const user of [false, true]) {
    it(`a hot ${user ? "U" : "S"}-mode loop over pages, faults and a call to another page matches the interpreter`, () => {
      const u = user ? PTE_U : 0;
      const p = new Program(VBASE)
        .li(22, HOT_LOOPS)
        .li(2, D1)
        .li(5, D1 + 0x800)
        .li(3, D3)
        .li(6, D3 + 0x800)
        .li(4, D2)
        .li(8, D0)
        .li(9, F)
        .li(7, DEVICE)
        .label("loop")
        .op("lw", { rd: 10, rs1: 2, imm: 0 })
        .op("addi", { rd: 10, rs1: 10, imm: 3 })
        .op("sw", { rs1: 2, rs2: 10, imm: 0 })
        .op("lw", { rd: 11, rs1: 8, imm: 4 }) // read-only page: loads fine
        .op("sw", { rs1: 8, rs2: 10, imm: 4 }) // ... stores fault
        .op("lw", { rd: 12, rs1: 4, imm: 8 }) // unmapped: faults
        .op("sh", { rs1: 3, rs2: 10, imm: -1 }) // crosses from D2 (unmapped) into D3: faults
        .op("lw", { rd: 13, rs1: 3, imm: -2 }) // crossing load: faults
        .op("lh", { rd: 14, rs1: 6, imm: 2047 }) // crosses from D3 into D4 (unmapped): faults
        .op("lbu", { rd: 15, rs1: 3, imm: 5 })
        .op("sb", { rs1: 3, rs2: 20, imm: 5 })
        .op("lhu", { rd: 16, rs1: 2, imm: 2 })
        .op("sh", { rs1: 3, rs2: 16, imm: 6 })
        .op("lb", { rd: 17, rs1: 3, imm: 6 })
        .op("lw", { rd: 18, rs1: 5, imm: 2045 }) // crosses from D1 into D2: faults
        .op("lw", { rd: 19, rs1: 5, imm: 2044 }) // last word of D1
        .op("sw", { rs1: 6, rs2: 19, imm: 2044 }) // last word of D3
        .op("sh", { rs1: 3, rs2: 19, imm: 9 }) // misaligned within a page
        .op("lw", { rd: 25, rs1: 7, imm: 0 }) // the device
        .op("sw", { rs1: 7, rs2: 20, imm: 0 })
        .op("jalr", { rd: 1, rs1: 9, imm: 0 }) // call F, on another page
        .op("addi", { rd: 20, rs1: 20, imm: 1 })
        .branch("bne", 20, 22, "loop")
        .label("spin")
        .jal(0, "spin");
      const t = twin(
        RAM,
        (b) => {
          tables(b, user);
          machineCode(b, user);
          supervisorCode(b, p, user);
          for (let k = 0; k < 4 * 1024; k++) b.store(DATA + 4 * k, 4, Math.imul(k, 0x9e3779b1));
          map(b, A, D0, DATA, PTE_V | PTE_R | PTE_A | u);
          map(b, A, D1, DATA + 0x1000, PTE_V | PTE_R | PTE_W | u);
          map(b, A, D3, DATA + 0x3000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | u);
          const f = new Program(F)
            .op("mul", { rd: 23, rs1: 10, rs2: 10 })
            .op("add", { rd: 24, rs1: 24, rs2: 23 })
            .op("jalr", { rd: 0, rs1: 1, imm: 0 });
          map(b, A, F, CODE + 0x8000, RWXAD | u);
          b.program(f.words(), CODE + 0x8000);
        },
        backend,
      );
      runBoth(t, cycle([1, 3, 7, 50, 97, 1000, 13, 2], 12_000), user ? "U loop" : "S loop");
      expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
      expect(t.jit.hart.translatedBackend).toBe(backend);
      expect(t.jit.hart.x[20]).toBe(HOT_LOOPS);
      expect(t.jit.hart.traps).toBeGreaterThan(HOT_LOOPS * 5);
    });
  }
});

describe.each(BACKENDS)(
  "block compiler (%s back end) under Sv32: mappings that change under running code",
  (backend) => {
    const F = VBASE + 0x8000;
    const F1 = CODE + 0x8000;
    const F2 = CODE + 0x9000;
    const DA = VBASE + 0x20_000;
    const DB = DA + 0x100_000; // the same TLB slot as DA (256 pages apart)
    const G = VBASE + 0xa000; // reached by a direct jal: a block of the caller's region
    const GA = CODE + 0xa000;
    const GB = CODE + 0xb000;
    const G1 = DATA + 0x8000;
    const G2 = DATA + 0x9000;
    const G3 = DATA + 0xa000;
    const RWAD = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;

    /** f at F1 adds 1 to x5, f at F2 adds 100; G1 and G2 hold different words. */
    function frames(b: LazyBoard): void {
      b.program(new Program(F1).op("addi", { rd: 5, rs1: 5, imm: 1 }).op("jalr", { rs1: 1 }).words(), F1);
      b.program(new Program(F2).op("addi", { rd: 5, rs1: 5, imm: 100 }).op("jalr", { rs1: 1 }).words(), F2);
      b.program(new Program(GA).op("addi", { rd: 7, rs1: 7, imm: 1 }).op("jalr", { rs1: 1 }).words(), GA);
      b.program(new Program(GB).op("addi", { rd: 7, rs1: 7, imm: 1000 }).op("jalr", { rs1: 1 }).words(), GB);
      for (let k = 0; k < 16; k++) {
        b.store(G1 + 4 * k, 4, 0x1111 * (k + 1));
        b.store(G2 + 4 * k, 4, 0x2222 * (k + 1));
      }
    }

    it("remapping code and data pages, with and without sfence.vma, and clearing A bits (as Linux does) match the interpreter", () => {
      const p = new Program(VBASE)
        .li(22, HOT_LOOPS * 2)
        .li(9, F)
        .li(2, DA)
        .li(3, DB)
        .li(11, A.pteOf(F))
        .li(12, pte(F2, RWXAD))
        .li(13, pte(F1, RWXAD))
        .li(14, A.pteOf(DA))
        .li(15, pte(G2, RWAD))
        .li(16, pte(G1, RWAD))
        .li(17, pte(G1, PTE_V | PTE_R | PTE_W)) // no A, no D
        .li(23, A.pteOf(G))
        .li(25, pte(GB, RWXAD))
        .li(26, pte(GA, RWXAD))
        .label("loop")
        .op("jalr", { rd: 1, rs1: 9, imm: 0 }) // call f
        .jal(1, "callG")
        .op("lw", { rd: 10, rs1: 2, imm: 0 })
        .op("add", { rd: 24, rs1: 24, rs2: 10 })
        .op("sw", { rs1: 2, rs2: 20, imm: 4 })
        .op("andi", { rd: 18, rs1: 20, imm: 7 })
        .branch("bne", 18, 0, "keepF")
        .op("sw", { rs1: 11, rs2: 12, imm: 0 }) // F maps to the other frame (no sfence.vma)
        .op("xor", { rd: 12, rs1: 12, rs2: 13 })
        .op("xor", { rd: 13, rs1: 12, rs2: 13 })
        .op("xor", { rd: 12, rs1: 12, rs2: 13 })
        .op("sw", { rs1: 23, rs2: 25, imm: 0 }) // and G (no sfence.vma either)
        .op("xor", { rd: 25, rs1: 25, rs2: 26 })
        .op("xor", { rd: 26, rs1: 25, rs2: 26 })
        .op("xor", { rd: 25, rs1: 25, rs2: 26 })
        .label("keepF")
        .op("andi", { rd: 18, rs1: 20, imm: 5 })
        .branch("bne", 18, 0, "keepDA")
        .op("sw", { rs1: 14, rs2: 15, imm: 0 }) // DA maps to the other frame (no sfence.vma)
        .op("xor", { rd: 15, rs1: 15, rs2: 16 })
        .op("xor", { rd: 16, rs1: 15, rs2: 16 })
        .op("xor", { rd: 15, rs1: 15, rs2: 16 })
        .label("keepDA")
        .op("sw", { rs1: 3, rs2: 20, imm: 0 }) // a store walk for DB replaces DA in the load TLB
        .op("lw", { rd: 19, rs1: 2, imm: 8 })
        .op("add", { rd: 24, rs1: 24, rs2: 19 })
        .op("andi", { rd: 18, rs1: 20, imm: 3 })
        .branch("bne", 18, 0, "keepA")
        .op("lw", { rd: 18, rs1: 14, imm: 0 })
        .op("andi", { rd: 18, rs1: 18, imm: ~(PTE_A | PTE_D) })
        .op("sw", { rs1: 14, rs2: 18, imm: 0 }) // clear A and D of DA's PTE, no sfence.vma
        .label("keepA")
        .op("andi", { rd: 18, rs1: 20, imm: 15 })
        .branch("bne", 18, 0, "noFence")
        .raw(SFENCE_VMA)
        .label("noFence")
        .op("addi", { rd: 20, rs1: 20, imm: 1 })
        .branch("bne", 20, 22, "loop")
        .label("spin")
        .jal(0, "spin");
      p.label("callG").op("jal", { rd: 0, imm: G - p.here }); // to G's page, directly
      const t = twin(
        RAM,
        (b) => {
          tables(b, false);
          machineCode(b, false);
          supervisorCode(b, p, false);
          frames(b);
          map(b, A, F, F1, RWXAD);
          map(b, A, G, GA, RWXAD);
          map(b, A, DA, G1, PTE_V | PTE_R | PTE_W);
          map(b, A, DB, G3, RWAD);
        },
        backend,
      );
      runBoth(t, cycle([1, 5, 64, 333, 2, 1000, 17], 16_000), "remap");
      expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
      expect(t.jit.hart.x[20]).toBe(HOT_LOOPS * 2);
      // Both versions of f ran.
      expect(t.jit.hart.x[5]! % 100).toBeGreaterThan(0);
      expect(t.jit.hart.x[5]!).toBeGreaterThan(100);
      expect(t.jit.hart.x[7]! % 1000).toBeGreaterThan(0);
      expect(t.jit.hart.x[7]!).toBeGreaterThan(1000);
    });

    it("the same virtual code in two address spaces (satp switches) runs each space's code", () => {
      const p = new Program(VBASE)
        .li(22, HOT_LOOPS * 2)
        .li(9, F)
        .li(2, DA)
        .li(11, A.satp)
        .li(12, B.satp)
        .label("loop")
        .csrw(SATP, 11)
        .raw(SFENCE_VMA)
        .op("jalr", { rd: 1, rs1: 9, imm: 0 })
        .op("jalr", { rd: 1, rs1: 9, imm: 0 })
        .op("jalr", { rd: 1, rs1: 9, imm: 0 })
        .op("lw", { rd: 10, rs1: 2, imm: 4 })
        .op("add", { rd: 24, rs1: 24, rs2: 10 })
        .csrw(SATP, 12)
        .raw(SFENCE_VMA)
        .op("jalr", { rd: 1, rs1: 9, imm: 0 })
        .op("jalr", { rd: 1, rs1: 9, imm: 0 })
        .op("jalr", { rd: 1, rs1: 9, imm: 0 })
        .op("lw", { rd: 10, rs1: 2, imm: 4 })
        .op("add", { rd: 24, rs1: 24, rs2: 10 })
        .op("sw", { rs1: 2, rs2: 24, imm: 8 })
        .op("addi", { rd: 20, rs1: 20, imm: 1 })
        .branch("bne", 20, 22, "loop")
        .label("spin")
        .jal(0, "spin");
      const t = twin(
        RAM,
        (b) => {
          tables(b, false);
          machineCode(b, false);
          supervisorCode(b, p, false);
          frames(b);
          map(b, A, F, F1, RWXAD);
          map(b, B, F, F2, RWXAD);
          map(b, A, DA, G1, RWAD);
          map(b, B, DA, G2, RWAD);
        },
        backend,
      );
      runBoth(t, cycle([7, 1, 500, 3, 2000], 12_000), "two spaces");
      expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
      expect(t.jit.hart.x[20]).toBe(HOT_LOOPS * 2);
      expect(t.jit.hart.x[5]).toBe(HOT_LOOPS * 2 * 3 * 101);
    });
  },
);

// Random straight-line code in a hot S-mode loop under paging: loads and stores near
// page boundaries (read-only, unmapped, without A/D, the device, the code of a function
// the loop calls), whose faults the M-mode handler skips.
const R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "mul", "divu", "rem"];
const I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi"];
const LOADS = ["lb", "lh", "lw", "lbu", "lhu"];
const STORES = ["sb", "sh", "sw"];
/** x26 function-code base, x27 D3 base, x28 handler scratch, x29 device, x30 counter, x31 D1 base. */
const rdArb = fc.integer({ min: 2, max: 25 });
const rsArb = fc.integer({ min: 0, max: 31 });
const baseArb = fc.constantFrom(31, 31, 27, 27, 29, 26, 0);
const offsetArb = fc.integer({ min: -64, max: 64 });
const insnArb = fc.oneof(
  fc
    .tuple(fc.constantFrom(...R_OPS), rdArb, rsArb, rsArb)
    .map(([n, d, a, b]) => asm(n, { rd: d, rs1: a, rs2: b })),
  fc
    .tuple(fc.constantFrom(...I_OPS), rdArb, rsArb, fc.integer({ min: -2048, max: 2047 }))
    .map(([n, d, a, i]) => asm(n, { rd: d, rs1: a, imm: i })),
  fc
    .tuple(fc.constantFrom(...LOADS), fc.integer({ min: 0, max: 25 }), baseArb, offsetArb)
    .map(([n, d, a, i]) => asm(n, { rd: d === 1 ? 0 : d, rs1: a, imm: a === 29 ? 0 : i })),
  fc
    .tuple(fc.constantFrom(...STORES), baseArb, rsArb, offsetArb)
    .map(([n, a, b, i]) => asm(n, { rs1: a, rs2: b, imm: a === 29 ? 0 : a === 26 ? Math.abs(i) + 8 : i })),
);

describe.each(BACKENDS)("block compiler (%s back end) under Sv32: random straight-line code", (backend) => {
  it("matches the interpreter step for step", () => {
    const D0 = VBASE + 0x10_000;
    const D1 = D0 + 0x1000;
    const D3 = D0 + 0x3000;
    const F = VBASE + 0x8000;
    fc.assert(
      fc.property(
        fc.array(insnArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 4, maxLength: 10 }),
        fc.array(fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), { minLength: 24, maxLength: 24 }),
        (body, slices, regs) => {
          const p = new Program(VBASE)
            .li(31, D1)
            .li(27, D3)
            .li(29, DEVICE)
            .li(26, F)
            .li(30, HOT_LOOPS)
            .label("loop")
            .raw(...body)
            .op("jalr", { rd: 1, rs1: 26, imm: 0 })
            .op("addi", { rd: 30, rs1: 30, imm: -1 })
            .branch("bne", 30, 0, "loop")
            .label("spin")
            .jal(0, "spin");
          const t = twin(
            RAM,
            (b) => {
              for (let r = 2; r <= 25; r++) b.hart.x[r] = regs[r - 2]!;
              tables(b, false);
              machineCode(b, false);
              supervisorCode(b, p, false);
              for (let k = 0; k < 4 * 1024; k++) b.store(DATA + 4 * k, 4, Math.imul(k, 0x9e3779b1));
              map(b, A, D0, DATA, PTE_V | PTE_R | PTE_A);
              map(b, A, D1, DATA + 0x1000, PTE_V | PTE_R | PTE_W);
              map(b, A, D3, DATA + 0x3000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
              map(b, A, F, CODE + 0x8000, RWXAD);
              const f = new Program(F)
                .op("addi", { rd: 25, rs1: 25, imm: 1 })
                .op("jalr", { rd: 0, rs1: 1, imm: 0 })
                .raw(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
              b.program(f.words(), CODE + 0x8000);
            },
            backend,
          );
          runBoth(t, [...slices, HOT_LOOPS * (body.length + 24)], "random paged");
        },
      ),
      { numRuns: 60 },
    );
  });
});

// A region cut by its block cap leaves through a backward jump to a loop head it does not
// hold (bench-paged's heap sort did: its sift-down loop head was left for 50,000 times
// before it compiled). The WebAssembly back end marks such a pc, and it counts as a loop
// head reached backwards (LOOP_WEIGHT_TRANSLATED at a time), as in the interpreter.
describe("block compiler (wasm back end) under Sv32: a region leaving backwards for a pc it lacks", () => {
  const run = (loopHeadBefore: boolean) => {
    const PHASE1 = 6;
    const ROUNDS = 5;
    // x24: 1 in phase 1 (S's last block goes on to P, which runs S again from behind,
    // so that S compiles first), 0 in phase 2 (S's last block branches to H).
    const p = new Program(VBASE).li(22, ROUNDS).li(25, PHASE1).li(24, 1).jal(0, "S");
    const head = (q: Program) =>
      q.label("H").op("addi", { rd: 20, rs1: 20, imm: 1 }).branch("beq", 20, 22, "done").jal(0, "S");
    if (loopHeadBefore) head(p);
    p.label("S");
    // 23 blocks of one add and a branch never taken, then the block branching to H:
    // 24 blocks, the cap, so that neither H nor P is part of S's region.
    for (let k = 0; k < 23; k++) p.op("addi", { rd: 21, rs1: 21, imm: k + 1 }).branch("bne", 0, 0, "S");
    p.op("addi", { rd: 23, rs1: 23, imm: 1 }).branch("beq", 24, 0, "H");
    p.label("P")
      .op("addi", { rd: 25, rs1: 25, imm: -1 })
      .branch("bne", 25, 0, "S")
      .op("addi", { rd: 24, rs1: 0, imm: 0 })
      .jal(0, "S");
    if (!loopHeadBefore) head(p);
    p.label("done").jal(0, "done");
    const t = twin(
      RAM,
      (b) => {
        tables(b, false);
        machineCode(b, false);
        supervisorCode(b, p, false);
      },
      "wasm",
    );
    runBoth(t, cycle([5, 60, 1, 33, 400], 4_000), loopHeadBefore ? "backward exit" : "forward exit");
    expect(t.jit.hart.translatedBackend).toBe("wasm");
    expect(t.jit.hart.x[20]).toBe(ROUNDS);
    // Whether H starts a block of a compiled region (the translated cache's pc table).
    const jit = (t.jit.hart as unknown as { jitTranslated: { tag: Int32Array } }).jitTranslated;
    const h = p.at("H");
    return jit.tag[(h >>> 1) & JIT_MASK] === h;
  };

  it("counts that pc as a loop head, so that it compiles after a few exits; the run matches the interpreter", () => {
    // H is left for ROUNDS times backwards: 25 a time reach the tests' hotness of 50 after two.
    expect(run(true)).toBe(true);
  });

  it("leaves the count of a pc left for forwards at one per exit", () => {
    // H (after S) is left for forwards only ROUNDS times, fewer than the hotness.
    expect(run(false)).toBe(false);
  });
});
