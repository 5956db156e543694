import { describe, expect, it } from "vitest";
import { decode, INSTRUCTIONS, type Op } from "../src/index.js";

/** [16-bit parcel, expected base operation name, rd, rs1, rs2, imm] from the RVC tables. */
const CASES: [number, string, number, number, number, number][] = [
  [0x0040, "addi", 8, 2, 0, 4], // c.addi4spn s0, sp, 4
  [0x4188, "lw", 10, 11, 0, 0], // c.lw a0, 0(a1)
  [0xc188, "sw", 0, 11, 10, 0], // c.sw a0, 0(a1)
  [0x0505, "addi", 10, 10, 0, 1], // c.addi a0, 1
  [0x157d, "addi", 10, 10, 0, -1], // c.addi a0, -1
  [0x4501, "addi", 10, 0, 0, 0], // c.li a0, 0
  [0x557d, "addi", 10, 0, 0, -1], // c.li a0, -1
  [0x7139, "addi", 2, 2, 0, -64], // c.addi16sp sp, -64
  [0x67c1, "lui", 15, 0, 0, 0x10000], // c.lui a5, 0x10
  [0x77fd, "lui", 15, 0, 0, -4096], // c.lui a5, 0xfffff
  [0x8385, "srli", 15, 15, 0, 1], // c.srli a5, 1
  [0x8785, "srai", 15, 15, 0, 1], // c.srai a5, 1
  [0x9bf1, "andi", 15, 15, 0, -4], // c.andi a5, -4
  [0x8f99, "sub", 15, 15, 14, 0], // c.sub a5, a4
  [0x8fb9, "xor", 15, 15, 14, 0], // c.xor a5, a4
  [0x8fd9, "or", 15, 15, 14, 0], // c.or a5, a4
  [0x8ff9, "and", 15, 15, 14, 0], // c.and a5, a4
  [0xa001, "jal", 0, 0, 0, 0], // c.j .
  [0x2001, "jal", 1, 0, 0, 0], // c.jal .
  [0xc391, "beq", 0, 15, 0, 4], // c.beqz a5, +4
  [0xe391, "bne", 0, 15, 0, 4], // c.bnez a5, +4
  [0x078a, "slli", 15, 15, 0, 2], // c.slli a5, 2
  [0x40b2, "lw", 1, 2, 0, 12], // c.lwsp ra, 12(sp)
  [0xc606, "sw", 0, 2, 1, 12], // c.swsp ra, 12(sp)
  [0x8082, "jalr", 0, 1, 0, 0], // c.jr ra
  [0x9782, "jalr", 1, 15, 0, 0], // c.jalr a5
  [0x853e, "add", 10, 0, 15, 0], // c.mv a0, a5
  [0x953e, "add", 10, 10, 15, 0], // c.add a0, a5
  [0x9002, "ebreak", 0, 0, 0, 0], // c.ebreak
];

/** The name of the 32-bit instruction that executes `op`. */
function baseName(op: Op): string {
  return INSTRUCTIONS.find((s) => s.ext !== "C" && s.op === op)!.name;
}

describe("compressed instructions", () => {
  it.each(CASES)("parcel %i expands to %s", (parcel, base, rd, rs1, rs2, imm) => {
    const d = decode(parcel)!;
    expect(d).toBeDefined();
    expect(d.length).toBe(2);
    expect(d.spec.name.startsWith("c.")).toBe(true);
    expect(baseName(d.spec.op)).toBe(base);
    expect({ rd: d.rd, rs1: d.rs1, rs2: d.rs2, imm: d.imm }).toEqual({ rd, rs1, rs2, imm });
  });
});
