import { Op } from "./ops.js";

/**
 * The facts about each operation that more than one part of the hart needs, in one
 * table: what kind of operation it is, whether it writes rd, how it touches memory and
 * whether the region compilers run it. The region scanner (which ops a region may
 * hold), both region back ends (JS source, WebAssembly) and the tests read it from
 * here; `test/op-table.test.ts` fails when an op the table calls compiled has no form
 * in a back end. The interpreter keeps its own `switch` over `Op` (the hot path), and
 * the differential tests check it against the compiled forms.
 */

/** How an operation moves control or data. */
export const enum OpKind {
  /** Writes rd from registers, an immediate or the pc; nothing else. */
  Alu,
  /** A conditional branch: compares rs1 with rs2, jumps to pc + imm when taken. */
  Branch,
  /** `jal`: rd = pc + length, jump to pc + imm. */
  Jump,
  /** `jalr`: rd = pc + length, jump to (rs1 + imm) & ~1. */
  IndirectJump,
  /** A load from rs1 + imm into rd. */
  Load,
  /** A store of rs2 to rs1 + imm. */
  Store,
  /** `fence`: no effect on a single hart. */
  Fence,
  /** CSR access, traps, privilege changes, fence.i, atomics, illegal: the interpreter's alone. */
  System,
}

/** How a load or store accesses memory. */
export interface MemoryAccess {
  readonly size: 1 | 2 | 4;
  /** Loads: whether the value is sign-extended to 32 bits. */
  readonly signed: boolean;
}

export interface OpInfo {
  readonly op: Op;
  /** The mnemonic of the 32-bit form. */
  readonly name: string;
  readonly kind: OpKind;
  /** Whether the operation writes rd (a region keeps rd in a local and writes it back). */
  readonly writesRd: boolean;
  /** Loads and stores: size and extension. */
  readonly access?: MemoryAccess;
  /**
   * Whether compiled regions run it. Every back end must then have a form for it; the
   * region scanner ends a block before any other operation and hands it to the interpreter.
   */
  readonly compiled: boolean;
}

const row = (
  op: Op,
  name: string,
  kind: OpKind,
  extra: { writesRd?: boolean; access?: MemoryAccess; compiled?: boolean } = {},
): OpInfo =>
  Object.freeze({
    op,
    name,
    kind,
    writesRd: extra.writesRd ?? (kind === OpKind.Alu || kind === OpKind.Load || kind === OpKind.Jump),
    access: extra.access,
    compiled: extra.compiled ?? kind !== OpKind.System,
  });

const alu = (op: Op, name: string): OpInfo => row(op, name, OpKind.Alu);
const branch = (op: Op, name: string): OpInfo => row(op, name, OpKind.Branch);
const load = (op: Op, name: string, size: 1 | 2 | 4, signed: boolean): OpInfo =>
  row(op, name, OpKind.Load, { access: { size, signed } });
const store = (op: Op, name: string, size: 1 | 2 | 4): OpInfo =>
  row(op, name, OpKind.Store, { access: { size, signed: false } });
/** Interpreter-only operations; `writesRd` matters to nobody but is stated for completeness. */
const system = (op: Op, name: string, writesRd = false): OpInfo => row(op, name, OpKind.System, { writesRd });

const ROWS: readonly OpInfo[] = [
  system(Op.ILLEGAL, "illegal"),
  alu(Op.LUI, "lui"),
  alu(Op.AUIPC, "auipc"),
  row(Op.JAL, "jal", OpKind.Jump),
  row(Op.JALR, "jalr", OpKind.IndirectJump, { writesRd: true }),
  branch(Op.BEQ, "beq"),
  branch(Op.BNE, "bne"),
  branch(Op.BLT, "blt"),
  branch(Op.BGE, "bge"),
  branch(Op.BLTU, "bltu"),
  branch(Op.BGEU, "bgeu"),
  load(Op.LB, "lb", 1, true),
  load(Op.LH, "lh", 2, true),
  load(Op.LW, "lw", 4, true),
  load(Op.LBU, "lbu", 1, false),
  load(Op.LHU, "lhu", 2, false),
  store(Op.SB, "sb", 1),
  store(Op.SH, "sh", 2),
  store(Op.SW, "sw", 4),
  alu(Op.ADDI, "addi"),
  alu(Op.SLTI, "slti"),
  alu(Op.SLTIU, "sltiu"),
  alu(Op.XORI, "xori"),
  alu(Op.ORI, "ori"),
  alu(Op.ANDI, "andi"),
  alu(Op.SLLI, "slli"),
  alu(Op.SRLI, "srli"),
  alu(Op.SRAI, "srai"),
  alu(Op.ADD, "add"),
  alu(Op.SUB, "sub"),
  alu(Op.SLL, "sll"),
  alu(Op.SLT, "slt"),
  alu(Op.SLTU, "sltu"),
  alu(Op.XOR, "xor"),
  alu(Op.SRL, "srl"),
  alu(Op.SRA, "sra"),
  alu(Op.OR, "or"),
  alu(Op.AND, "and"),
  row(Op.FENCE, "fence", OpKind.Fence),
  system(Op.FENCE_I, "fence.i"),
  system(Op.ECALL, "ecall"),
  system(Op.EBREAK, "ebreak"),
  system(Op.MRET, "mret"),
  system(Op.WFI, "wfi"),
  system(Op.CSRRW, "csrrw", true),
  system(Op.CSRRS, "csrrs", true),
  system(Op.CSRRC, "csrrc", true),
  system(Op.CSRRWI, "csrrwi", true),
  system(Op.CSRRSI, "csrrsi", true),
  system(Op.CSRRCI, "csrrci", true),
  alu(Op.MUL, "mul"),
  alu(Op.MULH, "mulh"),
  alu(Op.MULHSU, "mulhsu"),
  alu(Op.MULHU, "mulhu"),
  alu(Op.DIV, "div"),
  alu(Op.DIVU, "divu"),
  alu(Op.REM, "rem"),
  alu(Op.REMU, "remu"),
  system(Op.LR_W, "lr.w", true),
  system(Op.SC_W, "sc.w", true),
  system(Op.AMOSWAP_W, "amoswap.w", true),
  system(Op.AMOADD_W, "amoadd.w", true),
  system(Op.AMOXOR_W, "amoxor.w", true),
  system(Op.AMOAND_W, "amoand.w", true),
  system(Op.AMOOR_W, "amoor.w", true),
  system(Op.AMOMIN_W, "amomin.w", true),
  system(Op.AMOMAX_W, "amomax.w", true),
  system(Op.AMOMINU_W, "amominu.w", true),
  system(Op.AMOMAXU_W, "amomaxu.w", true),
  system(Op.SRET, "sret"),
  system(Op.SFENCE_VMA, "sfence.vma"),
];

/** One row per `Op`, indexed by the op's number (`OP_TABLE[op].op === op`). */
export const OP_TABLE: readonly OpInfo[] = Object.freeze(
  ROWS.slice().sort((a, b) => (a.op as number) - (b.op as number)),
);

/** The table row of `op`. */
export const opInfo = (op: Op): OpInfo => OP_TABLE[op]!;

/** Whether compiled regions run `op` (else a block ends before it). */
export const isCompiled = (op: Op): boolean => OP_TABLE[op]!.compiled;
