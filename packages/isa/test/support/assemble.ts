import { INSTRUCTIONS, type InstructionSpec } from "../../src/index.js";

/** Operands for the encoder; unused ones may be left out. */
export interface AsmOperands {
  rd?: number;
  rs1?: number;
  rs2?: number;
  imm?: number;
}

const byName = new Map<string, InstructionSpec>(INSTRUCTIONS.map((s) => [s.name, s]));

export function specOf(name: string): InstructionSpec {
  const spec = byName.get(name);
  if (spec === undefined) throw new Error(`no instruction ${name} in the table`);
  return spec;
}

/**
 * Encodes a 32-bit instruction from the decode table's mask/match and its format:
 * the inverse of the decoder, written independently of it so each checks the other.
 */
export function asm(name: string, ops: AsmOperands = {}): number {
  const spec = specOf(name);
  const rd = ops.rd ?? 0;
  const rs1 = ops.rs1 ?? 0;
  const rs2 = ops.rs2 ?? 0;
  const imm = ops.imm ?? 0;
  let w = spec.match;
  switch (spec.format) {
    case "R":
    case "AMO":
      w |= (rd << 7) | (rs1 << 15) | (rs2 << 20);
      break;
    case "LR":
      w |= (rd << 7) | (rs1 << 15);
      break;
    case "I":
    case "LOAD":
    case "JALR":
      w |= (rd << 7) | (rs1 << 15) | ((imm & 0xfff) << 20);
      break;
    case "SHIFT":
      w |= (rd << 7) | (rs1 << 15) | ((imm & 31) << 20);
      break;
    case "S":
      w |= ((imm & 0x1f) << 7) | (rs1 << 15) | (rs2 << 20) | (((imm >> 5) & 0x7f) << 25);
      break;
    case "B":
      w |=
        (((imm >> 12) & 1) << 31) |
        (((imm >> 5) & 0x3f) << 25) |
        (rs2 << 20) |
        (rs1 << 15) |
        (((imm >> 1) & 0xf) << 8) |
        (((imm >> 11) & 1) << 7);
      break;
    case "U":
      w |= (rd << 7) | (imm & 0xfffff000);
      break;
    case "J":
      w |=
        (((imm >> 20) & 1) << 31) |
        (((imm >> 1) & 0x3ff) << 21) |
        (((imm >> 11) & 1) << 20) |
        (((imm >> 12) & 0xff) << 12) |
        (rd << 7);
      break;
    case "CSR":
    case "CSRI":
      w |= (rd << 7) | (rs1 << 15) | ((imm & 0xfff) << 20);
      break;
    case "FENCE":
      w |= (rd << 7) | (rs1 << 15) | ((imm & 0xfff) << 20);
      break;
    case "NONE":
      break;
    default:
      throw new Error(`asm: ${name} is compressed; give its 16 bits directly`);
  }
  return w >>> 0;
}
