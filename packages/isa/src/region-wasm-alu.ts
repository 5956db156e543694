import { Op } from "./ops.js";
import type { Insn } from "./region-scan.js";
import { type Code, I32, W } from "./wasm-encoder.js";

/**
 * The WebAssembly back end's (`region-wasm.ts`) code for conditional branches and ALU
 * operations, each mirroring the interpreter's case.
 */

/**
 * How each conditional branch compares rs1 with rs2 (the operands are on the stack).
 * The op table says which ops are branches; `test/op-table.test.ts` checks every one is here.
 */
export const WASM_BRANCH: Partial<Record<Op, W>> = {
  [Op.BEQ]: W.I32Eq,
  [Op.BNE]: W.I32Ne,
  [Op.BLT]: W.I32LtS,
  [Op.BGE]: W.I32GeS,
  [Op.BLTU]: W.I32LtU,
  [Op.BGEU]: W.I32GeU,
};

/** Pushes a register's value. */
export type Push = (c: Code) => void;

/**
 * Each ALU operation: pushes the value rd receives, given pushers for rs1 and rs2, the
 * immediate and the instruction (auipc needs its pc). Mirrors the interpreter's cases.
 */
export const WASM_ALU: Partial<Record<Op, (c: Code, a: Push, b: Push, imm: number, i: Insn) => void>> = {
  [Op.LUI]: (c, _a, _b, imm) => c.i32(imm),
  [Op.AUIPC]: (c, _a, _b, imm, i) => c.i32(i.pc + imm),
  [Op.ADDI]: (c, a, _b, imm) => binImm(c, a, imm, W.I32Add),
  [Op.SLTI]: (c, a, _b, imm) => binImm(c, a, imm, W.I32LtS),
  [Op.SLTIU]: (c, a, _b, imm) => binImm(c, a, imm, W.I32LtU),
  [Op.XORI]: (c, a, _b, imm) => binImm(c, a, imm, W.I32Xor),
  [Op.ORI]: (c, a, _b, imm) => binImm(c, a, imm, W.I32Or),
  [Op.ANDI]: (c, a, _b, imm) => binImm(c, a, imm, W.I32And),
  [Op.SLLI]: (c, a, _b, imm) => binImm(c, a, imm & 31, W.I32Shl),
  [Op.SRLI]: (c, a, _b, imm) => binImm(c, a, imm & 31, W.I32ShrU),
  [Op.SRAI]: (c, a, _b, imm) => binImm(c, a, imm & 31, W.I32ShrS),
  // wasm shifts take the count modulo 32, as RISC-V does.
  [Op.ADD]: (c, a, b) => bin(c, a, b, W.I32Add),
  [Op.SUB]: (c, a, b) => bin(c, a, b, W.I32Sub),
  [Op.SLL]: (c, a, b) => bin(c, a, b, W.I32Shl),
  [Op.SLT]: (c, a, b) => bin(c, a, b, W.I32LtS),
  [Op.SLTU]: (c, a, b) => bin(c, a, b, W.I32LtU),
  [Op.XOR]: (c, a, b) => bin(c, a, b, W.I32Xor),
  [Op.SRL]: (c, a, b) => bin(c, a, b, W.I32ShrU),
  [Op.SRA]: (c, a, b) => bin(c, a, b, W.I32ShrS),
  [Op.OR]: (c, a, b) => bin(c, a, b, W.I32Or),
  [Op.AND]: (c, a, b) => bin(c, a, b, W.I32And),
  [Op.MUL]: (c, a, b) => bin(c, a, b, W.I32Mul),
  [Op.MULH]: (c, a, b) => mulHigh(c, a, b, W.I64ExtendI32S, W.I64ExtendI32S),
  [Op.MULHSU]: (c, a, b) => mulHigh(c, a, b, W.I64ExtendI32S, W.I64ExtendI32U),
  [Op.MULHU]: (c, a, b) => mulHigh(c, a, b, W.I64ExtendI32U, W.I64ExtendI32U),
  // Division by zero gives -1 (quotient) or the dividend (remainder); INT_MIN / -1 gives
  // INT_MIN (wasm's div_s would trap) and INT_MIN % -1 gives 0 (as wasm's rem_s does).
  [Op.DIV]: (c, a, b) => {
    b(c);
    c.op(W.I32Eqz).op(W.If).byte(I32).i32(-1).op(W.Else);
    a(c);
    c.i32(-0x8000_0000).op(W.I32Eq);
    b(c);
    c.i32(-1).op(W.I32Eq).op(W.I32And).op(W.If).byte(I32).i32(-0x8000_0000).op(W.Else);
    bin(c, a, b, W.I32DivS);
    c.op(W.End).op(W.End);
  },
  [Op.DIVU]: (c, a, b) => {
    b(c);
    c.op(W.I32Eqz).op(W.If).byte(I32).i32(-1).op(W.Else);
    bin(c, a, b, W.I32DivU);
    c.op(W.End);
  },
  [Op.REM]: (c, a, b) => {
    b(c);
    c.op(W.I32Eqz).op(W.If).byte(I32);
    a(c);
    c.op(W.Else);
    bin(c, a, b, W.I32RemS);
    c.op(W.End);
  },
  [Op.REMU]: (c, a, b) => {
    b(c);
    c.op(W.I32Eqz).op(W.If).byte(I32);
    a(c);
    c.op(W.Else);
    bin(c, a, b, W.I32RemU);
    c.op(W.End);
  },
};

function bin(c: Code, a: Push, b: Push, o: W): void {
  a(c);
  b(c);
  c.op(o);
}

function binImm(c: Code, a: Push, imm: number, o: W): void {
  a(c);
  c.i32(imm).op(o);
}

function mulHigh(c: Code, a: Push, b: Push, extA: W, extB: W): void {
  a(c);
  c.op(extA);
  b(c);
  c.op(extB).op(W.I64Mul).op(W.I64Const).s32(32).op(W.I64ShrU).op(W.I32WrapI64);
}
