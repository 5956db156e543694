import { csrName } from "./csr-numbers.js";
import { type Decoded, decode } from "./decoder.js";

const ABI_NAMES = [
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
] as const;

/** The ABI name of integer register `n` (x0..x31), as objdump prints it. */
export const registerName = (n: number): string => ABI_NAMES[n & 31]!;

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const address = (n: number): string => (n >>> 0).toString(16);

function fenceSet(bits4: number): string {
  const s = `${bits4 & 8 ? "i" : ""}${bits4 & 4 ? "o" : ""}${bits4 & 2 ? "r" : ""}${bits4 & 1 ? "w" : ""}`;
  return s === "" ? "0" : s;
}

/**
 * Formats a decoded instruction as `objdump -d -M no-aliases` does (mnemonic, a tab,
 * operands). Branch and jump targets are absolute, so `pc` is needed.
 */
export function formatInstruction(d: Decoded, pc: number): string {
  const r = registerName;
  const { spec, rd, rs1, rs2, imm } = d;
  const target = () => address(pc + imm);
  const ops = (): string => {
    switch (spec.format) {
      case "R":
        return `${r(rd)},${r(rs1)},${r(rs2)}`;
      case "I":
        return `${r(rd)},${r(rs1)},${imm}`;
      case "LOAD":
      case "JALR":
        return `${r(rd)},${imm}(${r(rs1)})`;
      case "SHIFT":
        return `${r(rd)},${r(rs1)},${hex(imm)}`;
      case "S":
        return `${r(rs2)},${imm}(${r(rs1)})`;
      case "B":
        return `${r(rs1)},${r(rs2)},${target()}`;
      case "U":
        return `${r(rd)},${hex(imm >>> 12)}`;
      case "J":
        return `${r(rd)},${target()}`;
      case "CSR":
        return `${r(rd)},${csrName(imm)},${r(rs1)}`;
      case "CSRI":
        return `${r(rd)},${csrName(imm)},${rs1}`;
      case "AMO":
        return `${r(rd)},${r(rs2)},(${r(rs1)})`;
      case "LR":
        return `${r(rd)},(${r(rs1)})`;
      case "SFENCE":
        return `${r(rs1)},${r(rs2)}`;
      case "FENCE":
        return `${fenceSet(imm >>> 4)},${fenceSet(imm)}`;
      case "NONE":
      case "CNONE":
        return "";
      case "CIW":
        return `${r(rd)},sp,${imm}`;
      case "CL":
      case "CLWSP":
        return `${r(rd)},${imm}(${r(rs1)})`;
      case "CS":
      case "CSWSP":
        return `${r(rs2)},${imm}(${r(rs1)})`;
      case "CI":
        return `${r(rd)},${imm}`;
      case "CLI":
      case "CANDI":
        return `${r(rd)},${imm}`;
      case "CI16SP":
        return `sp,${imm}`;
      case "CLUI":
        return `${r(rd)},${hex((imm >>> 12) & 0xfffff)}`;
      case "CSHIFT":
      case "CBSHIFT":
        return `${r(rd)},${hex(imm)}`;
      case "CA":
      case "CMV":
      case "CADD":
        return `${r(rd)},${r(rs2)}`;
      case "CJ":
        return target();
      case "CB":
        return `${r(rs1)},${target()}`;
      case "CJR":
        return r(rs1);
    }
  };
  let name = spec.name;
  if (spec.format === "AMO" || spec.format === "LR") {
    const aq = (d.raw >>> 26) & 1;
    const rl = (d.raw >>> 25) & 1;
    name += aq && rl ? ".aqrl" : aq ? ".aq" : rl ? ".rl" : "";
  }
  const operands = ops();
  return operands === "" ? name : `${name}\t${operands}`;
}

/**
 * Disassembles the instruction whose bits are `raw` at address `pc`. Illegal encodings
 * read as objdump's `.insn` / `.short`-style placeholders are not attempted: they give
 * `unknown` with the raw bits, which is what error messages need.
 */
export function disassemble(raw: number, pc = 0): string {
  const d = decode(raw);
  if (d === undefined) {
    const isWide = (raw & 3) === 3;
    return isWide
      ? `unknown\t0x${(raw >>> 0).toString(16).padStart(8, "0")}`
      : `unknown\t0x${(raw & 0xffff).toString(16).padStart(4, "0")}`;
  }
  return formatInstruction(d, pc);
}
