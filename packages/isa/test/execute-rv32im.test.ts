import { describe, expect, it } from "vitest";
import { asm } from "./support/assemble.js";
import { RAM_BASE, TestMachine } from "./support/test-machine.js";

/** Runs `words` from RAM_BASE with registers preset; returns the machine after `steps`. */
function exec(words: number[], regs: Record<number, number> = {}, steps = words.length): TestMachine {
  const m = new TestMachine();
  m.program(words);
  for (const [r, v] of Object.entries(regs)) m.hart.x[Number(r)] = v;
  m.hart.run(steps);
  return m;
}

/** Result in x3 of `name x3, x1, x2` with x1 = a, x2 = b. */
function rtype(name: string, a: number, b: number): number {
  return exec([asm(name, { rd: 3, rs1: 1, rs2: 2 })], { 1: a, 2: b }).hart.x[3]!;
}

/** Result in x3 of `name x3, x1, imm` with x1 = a. */
function itype(name: string, a: number, imm: number): number {
  return exec([asm(name, { rd: 3, rs1: 1, imm })], { 1: a }).hart.x[3]!;
}

describe("RV32I register-register instructions", () => {
  it.each([
    ["add", 5, 7, 12],
    ["add", 0x7fffffff, 1, -0x80000000],
    ["sub", 5, 7, -2],
    ["sub", -0x80000000, 1, 0x7fffffff],
    ["sll", 1, 31, -0x80000000],
    ["sll", 1, 32 + 4, 16], // only the low 5 bits of rs2 count
    ["slt", -1, 0, 1],
    ["slt", 0, -1, 0],
    ["sltu", -1, 0, 0],
    ["sltu", 0, -1, 1],
    ["xor", 0xf0f0, 0x0ff0, 0xff00],
    ["srl", -0x80000000, 31, 1],
    ["sra", -0x80000000, 31, -1],
    ["or", 0xf0, 0x0f, 0xff],
    ["and", 0xf0, 0x3c, 0x30],
  ])("%s %i, %i = %i", (name, a, b, expected) => {
    expect(rtype(name, a, b)).toBe(expected);
  });
});

describe("RV32I immediate instructions", () => {
  it.each([
    ["addi", 5, -6, -1],
    ["addi", 0x7fffffff, 1, -0x80000000],
    ["slti", -5, -4, 1],
    ["sltiu", 5, -1, 1], // -1 is 0xffffffff unsigned
    ["sltiu", 0, 1, 1], // seqz
    ["xori", 0xff, -1, ~0xff],
    ["ori", 0x100, 0x0ff, 0x1ff],
    ["andi", -1, 0x7ff, 0x7ff],
    ["slli", 3, 30, -0x40000000],
    ["srli", -1, 28, 0xf],
    ["srai", -16, 2, -4],
  ])("%s %i, %i = %i", (name, a, imm, expected) => {
    expect(itype(name, a, imm)).toBe(expected);
  });

  it("lui and auipc build upper immediates (auipc relative to its own pc)", () => {
    const m = exec([asm("lui", { rd: 1, imm: 0x12345000 }), asm("auipc", { rd: 2, imm: -4096 })]);
    expect(m.hart.x[1]).toBe(0x12345000);
    expect(m.hart.x[2]! >>> 0).toBe((RAM_BASE + 4 - 4096) >>> 0);
  });

  it("never changes x0", () => {
    const m = exec([
      asm("addi", { rd: 0, rs1: 0, imm: 5 }),
      asm("lui", { rd: 0, imm: 0x1000 }),
      asm("add", { rd: 1, rs1: 0, rs2: 0 }),
    ]);
    expect(m.hart.x[0]).toBe(0);
    expect(m.hart.x[1]).toBe(0);
  });
});

describe("RV32I control transfer", () => {
  it.each([
    ["beq", 1, 1, true],
    ["beq", 1, 2, false],
    ["bne", 1, 2, true],
    ["blt", -1, 1, true],
    ["blt", 1, -1, false],
    ["bge", 1, 1, true],
    ["bge", -1, 1, false],
    ["bltu", 1, -1, true],
    ["bltu", -1, 1, false],
    ["bgeu", -1, 1, true],
  ])("%s %i, %i taken = %s", (name, a, b, taken) => {
    const m = exec([asm(name, { rs1: 1, rs2: 2, imm: 64 })], { 1: a as number, 2: b as number });
    expect(m.hart.pc >>> 0).toBe((RAM_BASE + (taken ? 64 : 4)) >>> 0);
  });

  it("jal links the next pc and jumps relative", () => {
    const m = exec([asm("jal", { rd: 1, imm: -16 + 4096 })]);
    expect(m.hart.x[1]! >>> 0).toBe(RAM_BASE + 4);
    expect(m.hart.pc >>> 0).toBe(RAM_BASE + 4096 - 16);
  });

  it("jalr clears bit 0 of the target and reads rs1 before writing rd", () => {
    const m = exec([asm("jalr", { rd: 1, rs1: 1, imm: 3 })], { 1: RAM_BASE + 0x100 });
    expect(m.hart.pc >>> 0).toBe(RAM_BASE + 0x102);
    expect(m.hart.x[1]! >>> 0).toBe(RAM_BASE + 4);
  });
});

describe("RV32I loads and stores", () => {
  const data = RAM_BASE + 0x1000;
  it("store then load every width with sign and zero extension", () => {
    const m = exec(
      [
        asm("sw", { rs1: 1, rs2: 2, imm: 0 }),
        asm("lb", { rd: 3, rs1: 1, imm: 3 }),
        asm("lbu", { rd: 4, rs1: 1, imm: 3 }),
        asm("lh", { rd: 5, rs1: 1, imm: 2 }),
        asm("lhu", { rd: 6, rs1: 1, imm: 2 }),
        asm("lw", { rd: 7, rs1: 1, imm: 0 }),
        asm("sb", { rs1: 1, rs2: 2, imm: 8 }),
        asm("sh", { rs1: 1, rs2: 2, imm: 12 }),
      ],
      { 1: data, 2: 0x8badf00d | 0 },
    );
    const x = m.hart.x;
    expect(x[3]).toBe(-0x75); // 0x8b sign-extended
    expect(x[4]).toBe(0x8b);
    expect(x[5]).toBe(0x8bad - 0x10000);
    expect(x[6]).toBe(0x8bad);
    expect(x[7]).toBe(0x8badf00d | 0);
    expect(m.word(data + 8)).toBe(0x0d);
    expect(m.word(data + 12)).toBe(0xf00d);
  });

  it("performs misaligned loads and stores inside RAM", () => {
    const m = exec(
      [
        asm("sw", { rs1: 1, rs2: 2, imm: 1 }),
        asm("lw", { rd: 3, rs1: 1, imm: 1 }),
        asm("lhu", { rd: 4, rs1: 1, imm: 3 }),
      ],
      { 1: data, 2: 0x11223344 },
    );
    expect(m.hart.x[3]).toBe(0x11223344);
    expect(m.hart.x[4]).toBe(0x1122);
  });

  it("reaches devices through the bus", () => {
    const m = exec([asm("sw", { rs1: 1, rs2: 2 }), asm("lw", { rd: 3, rs1: 1 })], { 1: 0x1000_0000, 2: 77 });
    expect(m.deviceWrites).toEqual([77]);
    expect(m.hart.x[3]).toBe(0x1234);
  });
});

describe("M extension edge cases", () => {
  const MIN = -0x80000000;
  it.each([
    ["mul", 0x10000, 0x10000, 0],
    ["mulh", MIN, MIN, 0x40000000],
    ["mulh", -1, 1, -1],
    ["mulhsu", -1, -1, -1], // -1 * 0xffffffff = -0xffffffff: high word all ones
    ["mulhu", -1, -1, -2],
    ["div", 7, -2, -3],
    ["div", 1, 0, -1],
    ["div", MIN, -1, MIN],
    ["divu", -1, 2, 0x7fffffff],
    ["divu", 5, 0, -1],
    ["rem", -7, 2, -1],
    ["rem", 5, 0, 5],
    ["rem", MIN, -1, 0],
    ["remu", -1, 10, 5],
    ["remu", 9, 0, 9],
  ])("%s %i, %i = %i", (name, a, b, expected) => {
    expect(rtype(name, a, b)).toBe(expected);
  });
});
