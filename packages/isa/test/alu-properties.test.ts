import fc from "fast-check";
import { describe, it } from "vitest";
import { asm } from "./support/assemble.js";
import { TestMachine } from "./support/test-machine.js";

// Reference semantics in BigInt, straight from the ISA manual's definitions, so the
// hart's 32-bit tricks (Math.imul, 16-bit splits, |0 truncation) are checked independently.
const s = (v: number): bigint => BigInt(v | 0);
const u = (v: number): bigint => BigInt(v >>> 0);
const wrap = (v: bigint): number => Number(BigInt.asIntN(32, v));
const shamt = (v: number): bigint => BigInt(v & 31);
const truncDiv = (a: bigint, b: bigint): bigint => a / b; // BigInt division truncates toward zero

const REFERENCE: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => wrap(s(a) + s(b)),
  sub: (a, b) => wrap(s(a) - s(b)),
  sll: (a, b) => wrap(u(a) << shamt(b)),
  slt: (a, b) => (s(a) < s(b) ? 1 : 0),
  sltu: (a, b) => (u(a) < u(b) ? 1 : 0),
  xor: (a, b) => wrap(u(a) ^ u(b)),
  srl: (a, b) => wrap(u(a) >> shamt(b)),
  sra: (a, b) => wrap(s(a) >> shamt(b)),
  or: (a, b) => wrap(u(a) | u(b)),
  and: (a, b) => wrap(u(a) & u(b)),
  mul: (a, b) => wrap(s(a) * s(b)),
  mulh: (a, b) => wrap((s(a) * s(b)) >> 32n),
  mulhsu: (a, b) => wrap((s(a) * u(b)) >> 32n),
  mulhu: (a, b) => wrap((u(a) * u(b)) >> 32n),
  div: (a, b) => (b === 0 ? -1 : wrap(truncDiv(s(a), s(b)))),
  divu: (a, b) => (b === 0 ? -1 : wrap(u(a) / u(b))),
  rem: (a, b) => (b === 0 ? a | 0 : wrap(s(a) - truncDiv(s(a), s(b)) * s(b))),
  remu: (a, b) => (b === 0 ? a | 0 : wrap(u(a) % u(b))),
};

const IMMEDIATE: Record<string, string> = {
  addi: "add",
  slti: "slt",
  sltiu: "sltu",
  xori: "xor",
  ori: "or",
  andi: "and",
};

/** Edge values are where implementations go wrong; mix them with uniform ones. */
const int32 = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  fc.constantFrom(0, 1, -1, 2, -2, 0x7fffffff, -0x80000000, 0xffff, 0x10000, -0x10000),
);

describe("ALU and M extension against BigInt reference semantics", () => {
  // One machine per operation: every case overwrites the same registers and re-runs from the start.
  for (const [name, ref] of Object.entries(REFERENCE)) {
    it(`${name} matches the reference`, () => {
      const m = new TestMachine();
      m.program([asm(name, { rd: 3, rs1: 1, rs2: 2 })]);
      fc.assert(
        fc.property(int32, int32, (a, b) => {
          m.hart.pc = 0x8000_0000;
          m.hart.x[1] = a;
          m.hart.x[2] = b;
          m.hart.run(1);
          return m.hart.x[3] === ref(a, b);
        }),
        { numRuns: 2000 },
      );
    });
  }

  for (const [name, base] of Object.entries(IMMEDIATE)) {
    it(`${name} matches ${base} with a sign-extended 12-bit immediate`, () => {
      fc.assert(
        fc.property(int32, fc.integer({ min: -2048, max: 2047 }), (a, imm) => {
          const m = new TestMachine();
          m.program([asm(name, { rd: 3, rs1: 1, imm })]);
          m.hart.x[1] = a;
          m.hart.run(1);
          return m.hart.x[3] === REFERENCE[base]!(a, imm);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("shift-immediate instructions match their register forms", () => {
    fc.assert(
      fc.property(
        int32,
        fc.integer({ min: 0, max: 31 }),
        fc.constantFrom("slli", "srli", "srai"),
        (a, sh, name) => {
          const m = new TestMachine();
          m.program([asm(name, { rd: 3, rs1: 1, imm: sh })]);
          m.hart.x[1] = a;
          m.hart.run(1);
          return m.hart.x[3] === REFERENCE[name.slice(0, 3)]!(a, sh);
        },
      ),
      { numRuns: 500 },
    );
  });
});
