import { describe, expect, it } from "vitest";
import { decode, INSTRUCTIONS, Op } from "../src/index.js";
import { asm } from "./support/assemble.js";

describe("the decode table", () => {
  it("has match bits only inside each mask", () => {
    for (const spec of INSTRUCTIONS) expect((spec.match & ~spec.mask) >>> 0, spec.name).toBe(0);
  });

  it("has unique names and unique (mask, match) pairs", () => {
    const names = new Set(INSTRUCTIONS.map((s) => s.name));
    expect(names.size).toBe(INSTRUCTIONS.length);
    const keys = new Set(INSTRUCTIONS.map((s) => `${s.mask}/${s.match}`));
    expect(keys.size).toBe(INSTRUCTIONS.length);
  });

  it("reaches every operation the hart executes", () => {
    const reached = new Set(INSTRUCTIONS.map((s) => s.op));
    // Op.ILLEGAL (0) is the only value without a table line; the enum is dense.
    for (let op = 1; op <= Op.SFENCE_VMA; op++) expect(reached.has(op), `op ${op}`).toBe(true);
  });

  it("decodes each 32-bit line's own match back to that line", () => {
    for (const spec of INSTRUCTIONS.filter((s) => s.ext !== "C")) {
      // fence.tso is a fence with fm=1000: the more specific line wins.
      const d = decode(spec.match);
      expect(d?.spec.name, spec.name).toBe(spec.name);
    }
  });

  it("resolves overlapping compressed encodings to the most specific line", () => {
    expect(decode(0x9002)?.spec.name).toBe("c.ebreak");
    expect(decode(0x9082)?.spec.name).toBe("c.jalr"); // c.jalr ra
    expect(decode(0x9086)?.spec.name).toBe("c.add"); // c.add ra, ra
    expect(decode(0x8082)?.spec.name).toBe("c.jr"); // ret
    expect(decode(0x8086)?.spec.name).toBe("c.mv");
    expect(decode(0x0001)?.spec.name).toBe("c.addi"); // c.nop is c.addi x0, 0
    expect(decode(0x7139)?.spec.name).toBe("c.addi16sp"); // addi sp, sp, -64
    expect(decode(0x67c1)?.spec.name).toBe("c.lui"); // lui a5, 0x10
  });

  it("rejects reserved and illegal encodings", () => {
    expect(decode(0x0000)).toBeUndefined(); // all zeros: c.addi4spn with imm 0
    expect(decode(0xffffffff)).toBeUndefined();
    expect(decode(0x6101)).toBeUndefined(); // c.addi16sp with imm 0
    expect(decode(0x6081)).toBeUndefined(); // c.lui ra, 0
    expect(decode(0x4002)).toBeUndefined(); // c.lwsp x0
    expect(decode(0x8002)).toBeUndefined(); // c.jr x0
    expect(decode(0x1002)).toBeUndefined(); // c.slli with shamt[5]=1 on RV32
    expect(decode(0x00007033 | (1 << 27))).toBeUndefined(); // funct7 0000100: no such R-type
  });

  it("decodes the operands the encoder put in", () => {
    const d = decode(asm("beq", { rs1: 5, rs2: 6, imm: -4096 }))!;
    expect([d.spec.name, d.rs1, d.rs2, d.imm]).toEqual(["beq", 5, 6, -4096]);
    const j = decode(asm("jal", { rd: 1, imm: 0xffffe }))!;
    expect([j.rd, j.imm]).toEqual([1, 0xffffe]);
    const s = decode(asm("sw", { rs1: 2, rs2: 31, imm: -2048 }))!;
    expect([s.rs1, s.rs2, s.imm]).toEqual([2, 31, -2048]);
  });
});
