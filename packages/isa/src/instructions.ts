import { Op } from "./ops.js";

/** Which extension an instruction belongs to (the `misa` letter or the Z-name). */
export type Extension = "I" | "M" | "A" | "C" | "Zicsr" | "Zifencei" | "Zihintpause" | "Priv";

/**
 * How operands are laid out in the instruction bits. 32-bit formats follow the base
 * ISA's names; the RVC formats are split further where the spec's immediate scrambles
 * or the expansion's registers differ (e.g. `CI16SP` for c.addi16sp).
 */
export type Format =
  | "R"
  | "I"
  | "LOAD"
  | "JALR"
  | "SHIFT"
  | "S"
  | "B"
  | "U"
  | "J"
  | "CSR"
  | "CSRI"
  | "AMO"
  | "LR"
  | "FENCE"
  | "SFENCE"
  | "NONE"
  | "CIW"
  | "CL"
  | "CS"
  | "CI"
  | "CLI"
  | "CI16SP"
  | "CLUI"
  | "CSHIFT"
  | "CBSHIFT"
  | "CANDI"
  | "CA"
  | "CJ"
  | "CB"
  | "CLWSP"
  | "CSWSP"
  | "CJR"
  | "CMV"
  | "CADD"
  | "CNONE";

/** One line of the decode table: `(bits & mask) === match` selects the instruction. */
export interface InstructionSpec {
  readonly name: string;
  readonly mask: number;
  readonly match: number;
  readonly format: Format;
  readonly ext: Extension;
  /** The operation executed; compressed instructions name their 32-bit expansion. */
  readonly op: Op;
  /** Encodings whose named field is zero are reserved (RVC's "nz" immediates and registers). */
  readonly nonzero?: "imm" | "rd" | "rs1";
  /** For compressed jumps: the link register the expansion writes. */
  readonly link?: 0 | 1;
}

const spec = (
  name: string,
  mask: number,
  match: number,
  format: Format,
  ext: Extension,
  op: Op,
  extra: Pick<InstructionSpec, "nonzero" | "link"> = {},
): InstructionSpec =>
  Object.freeze({ name, mask: mask >>> 0, match: match >>> 0, format, ext, op, ...extra });

const OPC = 0x7f; // major opcode only
const F3 = 0x707f; // opcode + funct3
const F7 = 0xfe00707f; // opcode + funct3 + funct7
const EXACT = 0xffffffff;
const AMO = 0xf800707f; // funct5 + funct3 + opcode; aq/rl free

/**
 * The decode table. Order matters only where encodings overlap: the more specific
 * line comes first (c.ebreak before c.jalr before c.add, fence.tso before fence).
 * c.nop has no line of its own: it is c.addi with rd = x0, which objdump prints so.
 */
export const INSTRUCTIONS: readonly InstructionSpec[] = Object.freeze([
  // RV32I
  spec("lui", OPC, 0x37, "U", "I", Op.LUI),
  spec("auipc", OPC, 0x17, "U", "I", Op.AUIPC),
  spec("jal", OPC, 0x6f, "J", "I", Op.JAL),
  spec("jalr", F3, 0x67, "JALR", "I", Op.JALR),
  spec("beq", F3, 0x0063, "B", "I", Op.BEQ),
  spec("bne", F3, 0x1063, "B", "I", Op.BNE),
  spec("blt", F3, 0x4063, "B", "I", Op.BLT),
  spec("bge", F3, 0x5063, "B", "I", Op.BGE),
  spec("bltu", F3, 0x6063, "B", "I", Op.BLTU),
  spec("bgeu", F3, 0x7063, "B", "I", Op.BGEU),
  spec("lb", F3, 0x0003, "LOAD", "I", Op.LB),
  spec("lh", F3, 0x1003, "LOAD", "I", Op.LH),
  spec("lw", F3, 0x2003, "LOAD", "I", Op.LW),
  spec("lbu", F3, 0x4003, "LOAD", "I", Op.LBU),
  spec("lhu", F3, 0x5003, "LOAD", "I", Op.LHU),
  spec("sb", F3, 0x0023, "S", "I", Op.SB),
  spec("sh", F3, 0x1023, "S", "I", Op.SH),
  spec("sw", F3, 0x2023, "S", "I", Op.SW),
  spec("addi", F3, 0x0013, "I", "I", Op.ADDI),
  spec("slti", F3, 0x2013, "I", "I", Op.SLTI),
  spec("sltiu", F3, 0x3013, "I", "I", Op.SLTIU),
  spec("xori", F3, 0x4013, "I", "I", Op.XORI),
  spec("ori", F3, 0x6013, "I", "I", Op.ORI),
  spec("andi", F3, 0x7013, "I", "I", Op.ANDI),
  spec("slli", F7, 0x00001013, "SHIFT", "I", Op.SLLI),
  spec("srli", F7, 0x00005013, "SHIFT", "I", Op.SRLI),
  spec("srai", F7, 0x40005013, "SHIFT", "I", Op.SRAI),
  spec("add", F7, 0x00000033, "R", "I", Op.ADD),
  spec("sub", F7, 0x40000033, "R", "I", Op.SUB),
  spec("sll", F7, 0x00001033, "R", "I", Op.SLL),
  spec("slt", F7, 0x00002033, "R", "I", Op.SLT),
  spec("sltu", F7, 0x00003033, "R", "I", Op.SLTU),
  spec("xor", F7, 0x00004033, "R", "I", Op.XOR),
  spec("srl", F7, 0x00005033, "R", "I", Op.SRL),
  spec("sra", F7, 0x40005033, "R", "I", Op.SRA),
  spec("or", F7, 0x00006033, "R", "I", Op.OR),
  spec("and", F7, 0x00007033, "R", "I", Op.AND),
  spec("fence.tso", 0xfff0707f, 0x8330000f, "NONE", "I", Op.FENCE),
  spec("pause", EXACT, 0x0100000f, "NONE", "Zihintpause", Op.FENCE), // fence w,0: a hint
  spec("fence", F3, 0x000f, "FENCE", "I", Op.FENCE),
  spec("ecall", EXACT, 0x00000073, "NONE", "I", Op.ECALL),
  spec("ebreak", EXACT, 0x00100073, "NONE", "I", Op.EBREAK),
  // Zifencei
  spec("fence.i", F3, 0x100f, "NONE", "Zifencei", Op.FENCE_I),
  // Privileged
  spec("mret", EXACT, 0x30200073, "NONE", "Priv", Op.MRET),
  spec("sret", EXACT, 0x10200073, "NONE", "Priv", Op.SRET),
  spec("sfence.vma", 0xfe007fff, 0x12000073, "SFENCE", "Priv", Op.SFENCE_VMA),
  spec("wfi", EXACT, 0x10500073, "NONE", "Priv", Op.WFI),
  // Zicsr
  spec("csrrw", F3, 0x1073, "CSR", "Zicsr", Op.CSRRW),
  spec("csrrs", F3, 0x2073, "CSR", "Zicsr", Op.CSRRS),
  spec("csrrc", F3, 0x3073, "CSR", "Zicsr", Op.CSRRC),
  spec("csrrwi", F3, 0x5073, "CSRI", "Zicsr", Op.CSRRWI),
  spec("csrrsi", F3, 0x6073, "CSRI", "Zicsr", Op.CSRRSI),
  spec("csrrci", F3, 0x7073, "CSRI", "Zicsr", Op.CSRRCI),
  // M
  spec("mul", F7, 0x02000033, "R", "M", Op.MUL),
  spec("mulh", F7, 0x02001033, "R", "M", Op.MULH),
  spec("mulhsu", F7, 0x02002033, "R", "M", Op.MULHSU),
  spec("mulhu", F7, 0x02003033, "R", "M", Op.MULHU),
  spec("div", F7, 0x02004033, "R", "M", Op.DIV),
  spec("divu", F7, 0x02005033, "R", "M", Op.DIVU),
  spec("rem", F7, 0x02006033, "R", "M", Op.REM),
  spec("remu", F7, 0x02007033, "R", "M", Op.REMU),
  // A
  spec("lr.w", 0xf9f0707f, 0x1000202f, "LR", "A", Op.LR_W),
  spec("sc.w", AMO, 0x1800202f, "AMO", "A", Op.SC_W),
  spec("amoswap.w", AMO, 0x0800202f, "AMO", "A", Op.AMOSWAP_W),
  spec("amoadd.w", AMO, 0x0000202f, "AMO", "A", Op.AMOADD_W),
  spec("amoxor.w", AMO, 0x2000202f, "AMO", "A", Op.AMOXOR_W),
  spec("amoand.w", AMO, 0x6000202f, "AMO", "A", Op.AMOAND_W),
  spec("amoor.w", AMO, 0x4000202f, "AMO", "A", Op.AMOOR_W),
  spec("amomin.w", AMO, 0x8000202f, "AMO", "A", Op.AMOMIN_W),
  spec("amomax.w", AMO, 0xa000202f, "AMO", "A", Op.AMOMAX_W),
  spec("amominu.w", AMO, 0xc000202f, "AMO", "A", Op.AMOMINU_W),
  spec("amomaxu.w", AMO, 0xe000202f, "AMO", "A", Op.AMOMAXU_W),
  // C, quadrant 0
  spec("c.addi4spn", 0xe003, 0x0000, "CIW", "C", Op.ADDI, { nonzero: "imm" }),
  spec("c.lw", 0xe003, 0x4000, "CL", "C", Op.LW),
  spec("c.sw", 0xe003, 0xc000, "CS", "C", Op.SW),
  // C, quadrant 1
  spec("c.addi", 0xe003, 0x0001, "CI", "C", Op.ADDI),
  spec("c.jal", 0xe003, 0x2001, "CJ", "C", Op.JAL, { link: 1 }),
  spec("c.li", 0xe003, 0x4001, "CLI", "C", Op.ADDI),
  spec("c.addi16sp", 0xef83, 0x6101, "CI16SP", "C", Op.ADDI, { nonzero: "imm" }),
  spec("c.lui", 0xe003, 0x6001, "CLUI", "C", Op.LUI, { nonzero: "imm" }),
  spec("c.srli", 0xfc03, 0x8001, "CBSHIFT", "C", Op.SRLI),
  spec("c.srai", 0xfc03, 0x8401, "CBSHIFT", "C", Op.SRAI),
  spec("c.andi", 0xec03, 0x8801, "CANDI", "C", Op.ANDI),
  spec("c.sub", 0xfc63, 0x8c01, "CA", "C", Op.SUB),
  spec("c.xor", 0xfc63, 0x8c21, "CA", "C", Op.XOR),
  spec("c.or", 0xfc63, 0x8c41, "CA", "C", Op.OR),
  spec("c.and", 0xfc63, 0x8c61, "CA", "C", Op.AND),
  spec("c.j", 0xe003, 0xa001, "CJ", "C", Op.JAL, { link: 0 }),
  spec("c.beqz", 0xe003, 0xc001, "CB", "C", Op.BEQ),
  spec("c.bnez", 0xe003, 0xe001, "CB", "C", Op.BNE),
  // C, quadrant 2
  spec("c.slli", 0xf003, 0x0002, "CSHIFT", "C", Op.SLLI),
  spec("c.lwsp", 0xe003, 0x4002, "CLWSP", "C", Op.LW, { nonzero: "rd" }),
  spec("c.jr", 0xf07f, 0x8002, "CJR", "C", Op.JALR, { nonzero: "rs1", link: 0 }),
  spec("c.mv", 0xf003, 0x8002, "CMV", "C", Op.ADD),
  spec("c.ebreak", 0xffff, 0x9002, "CNONE", "C", Op.EBREAK),
  spec("c.jalr", 0xf07f, 0x9002, "CJR", "C", Op.JALR, { link: 1 }),
  spec("c.add", 0xf003, 0x9002, "CADD", "C", Op.ADD),
  spec("c.swsp", 0xe003, 0xc002, "CSWSP", "C", Op.SW),
]);
