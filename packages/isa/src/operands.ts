import type { InstructionSpec } from "./instructions.js";

/**
 * Operands of an instruction as its 32-bit expansion sees them: a compressed
 * instruction yields the registers and the (already scaled, sign-extended) immediate
 * of the base instruction it stands for, so the executor knows only one shape.
 * For CSR instructions `imm` is the CSR number; for CSRI forms `rs1` is the uimm.
 */
export interface Operands {
  rd: number;
  rs1: number;
  rs2: number;
  imm: number;
}

const bit = (raw: number, n: number): number => (raw >>> n) & 1;
const bits = (raw: number, hi: number, lo: number): number => (raw >>> lo) & ((1 << (hi - lo + 1)) - 1);
const sext = (value: number, width: number): number => (value << (32 - width)) >> (32 - width);
/** RVC's 3-bit register fields name x8..x15. */
const creg = (raw: number, lo: number): number => 8 + bits(raw, lo + 2, lo);

export function extractOperands(spec: InstructionSpec, raw: number, out: Operands): Operands {
  const rdField = bits(raw, 11, 7);
  const rs1Field = bits(raw, 19, 15);
  const rs2Field = bits(raw, 24, 20);
  let rd = 0;
  let rs1 = 0;
  let rs2 = 0;
  let imm = 0;
  switch (spec.format) {
    case "R":
    case "AMO":
      rd = rdField;
      rs1 = rs1Field;
      rs2 = rs2Field;
      break;
    case "LR":
      rd = rdField;
      rs1 = rs1Field;
      break;
    case "SFENCE":
      rs1 = rs1Field; // virtual address
      rs2 = rs2Field; // ASID
      break;
    case "I":
    case "LOAD":
    case "JALR":
      rd = rdField;
      rs1 = rs1Field;
      imm = raw >> 20;
      break;
    case "SHIFT":
      rd = rdField;
      rs1 = rs1Field;
      imm = rs2Field;
      break;
    case "S":
      rs1 = rs1Field;
      rs2 = rs2Field;
      imm = ((raw >> 25) << 5) | rdField;
      break;
    case "B":
      rs1 = rs1Field;
      rs2 = rs2Field;
      imm = sext(
        (bit(raw, 31) << 12) | (bit(raw, 7) << 11) | (bits(raw, 30, 25) << 5) | (bits(raw, 11, 8) << 1),
        13,
      );
      break;
    case "U":
      rd = rdField;
      imm = (raw & 0xfffff000) | 0;
      break;
    case "J":
      rd = rdField;
      imm = sext(
        (bit(raw, 31) << 20) | (bits(raw, 19, 12) << 12) | (bit(raw, 20) << 11) | (bits(raw, 30, 21) << 1),
        21,
      );
      break;
    case "CSR":
      rd = rdField;
      rs1 = rs1Field;
      imm = raw >>> 20;
      break;
    case "CSRI":
      rd = rdField;
      rs1 = rs1Field; // the 5-bit zero-extended immediate
      imm = raw >>> 20;
      break;
    case "FENCE":
      rd = rdField;
      rs1 = rs1Field;
      imm = raw >>> 20; // fm | pred | succ
      break;
    case "NONE":
    case "CNONE":
      break;
    case "CIW":
      rd = creg(raw, 2);
      rs1 = 2;
      imm = (bits(raw, 12, 11) << 4) | (bits(raw, 10, 7) << 6) | (bit(raw, 6) << 2) | (bit(raw, 5) << 3);
      break;
    case "CL":
      rd = creg(raw, 2);
      rs1 = creg(raw, 7);
      imm = (bits(raw, 12, 10) << 3) | (bit(raw, 6) << 2) | (bit(raw, 5) << 6);
      break;
    case "CS":
      rs2 = creg(raw, 2);
      rs1 = creg(raw, 7);
      imm = (bits(raw, 12, 10) << 3) | (bit(raw, 6) << 2) | (bit(raw, 5) << 6);
      break;
    case "CI":
      rd = rdField;
      rs1 = rdField;
      imm = sext((bit(raw, 12) << 5) | bits(raw, 6, 2), 6);
      break;
    case "CLI":
      rd = rdField;
      imm = sext((bit(raw, 12) << 5) | bits(raw, 6, 2), 6);
      break;
    case "CI16SP":
      rd = 2;
      rs1 = 2;
      imm = sext(
        (bit(raw, 12) << 9) |
          (bit(raw, 6) << 4) |
          (bit(raw, 5) << 6) |
          (bits(raw, 4, 3) << 7) |
          (bit(raw, 2) << 5),
        10,
      );
      break;
    case "CLUI":
      rd = rdField;
      imm = sext((bit(raw, 12) << 17) | (bits(raw, 6, 2) << 12), 18);
      break;
    case "CSHIFT":
      rd = rdField;
      rs1 = rdField;
      imm = bits(raw, 6, 2);
      break;
    case "CBSHIFT":
      rd = creg(raw, 7);
      rs1 = rd;
      imm = bits(raw, 6, 2);
      break;
    case "CANDI":
      rd = creg(raw, 7);
      rs1 = rd;
      imm = sext((bit(raw, 12) << 5) | bits(raw, 6, 2), 6);
      break;
    case "CA":
      rd = creg(raw, 7);
      rs1 = rd;
      rs2 = creg(raw, 2);
      break;
    case "CJ":
      rd = spec.link ?? 0;
      imm = sext(
        (bit(raw, 12) << 11) |
          (bit(raw, 11) << 4) |
          (bits(raw, 10, 9) << 8) |
          (bit(raw, 8) << 10) |
          (bit(raw, 7) << 6) |
          (bit(raw, 6) << 7) |
          (bits(raw, 5, 3) << 1) |
          (bit(raw, 2) << 5),
        12,
      );
      break;
    case "CB":
      rs1 = creg(raw, 7);
      imm = sext(
        (bit(raw, 12) << 8) |
          (bits(raw, 11, 10) << 3) |
          (bits(raw, 6, 5) << 6) |
          (bits(raw, 4, 3) << 1) |
          (bit(raw, 2) << 5),
        9,
      );
      break;
    case "CLWSP":
      rd = rdField;
      rs1 = 2;
      imm = (bit(raw, 12) << 5) | (bits(raw, 6, 4) << 2) | (bits(raw, 3, 2) << 6);
      break;
    case "CSWSP":
      rs1 = 2;
      rs2 = bits(raw, 6, 2);
      imm = (bits(raw, 12, 9) << 2) | (bits(raw, 8, 7) << 6);
      break;
    case "CJR":
      rd = spec.link ?? 0;
      rs1 = rdField;
      break;
    case "CMV":
      rd = rdField;
      rs2 = bits(raw, 6, 2);
      break;
    case "CADD":
      rd = rdField;
      rs1 = rdField;
      rs2 = bits(raw, 6, 2);
      break;
  }
  out.rd = rd;
  out.rs1 = rs1;
  out.rs2 = rs2;
  out.imm = imm;
  return out;
}

/** Whether an RVC encoding is reserved because a field that must be non-zero is zero. */
export function isReserved(spec: InstructionSpec, ops: Operands): boolean {
  switch (spec.nonzero) {
    case "imm":
      return ops.imm === 0;
    case "rd":
      return ops.rd === 0;
    case "rs1":
      return ops.rs1 === 0;
    default:
      return false;
  }
}
