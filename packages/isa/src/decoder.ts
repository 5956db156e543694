import { INSTRUCTIONS, type InstructionSpec } from "./instructions.js";
import { extractOperands, isReserved, type Operands } from "./operands.js";

/** A decoded instruction: its table line, its length in bytes and its operands. */
export interface Decoded extends Operands {
  spec: InstructionSpec;
  raw: number;
  length: 2 | 4;
}

/** The length of the instruction whose first 16-bit parcel is `parcel`. */
export const instructionLength = (parcel: number): 2 | 4 => ((parcel & 3) === 3 ? 4 : 2);

// Buckets keep decoding cheap without giving up the table as the single source: a
// 32-bit instruction is looked up by its major opcode, a 16-bit one by quadrant+funct3.
const wide: InstructionSpec[][] = Array.from({ length: 128 }, () => []);
const narrow: InstructionSpec[][] = Array.from({ length: 32 }, () => []);
for (const spec of INSTRUCTIONS) {
  if (spec.ext === "C") {
    const key = (spec.match & 3) | ((spec.match >>> 13) << 2);
    narrow[key]!.push(spec);
  } else {
    wide[spec.match & 0x7f]!.push(spec);
  }
}

/**
 * Finds the table line for `raw` (a 16-bit parcel for compressed instructions, else
 * the 32-bit word) and fills `out`. Returns false for an illegal or reserved encoding.
 */
export function decodeInto(raw: number, out: Decoded): boolean {
  const isWide = (raw & 3) === 3;
  const word = isWide ? raw >>> 0 : raw & 0xffff;
  const bucket = isWide ? wide[word & 0x7f]! : narrow[(word & 3) | ((word >>> 13) << 2)]!;
  for (const spec of bucket) {
    if ((word & spec.mask) >>> 0 !== spec.match) continue;
    extractOperands(spec, word, out);
    if (isReserved(spec, out)) return false;
    out.spec = spec;
    out.raw = word;
    out.length = isWide ? 4 : 2;
    return true;
  }
  return false;
}

/** A fresh, reusable `Decoded` for `decodeInto` (its contents mean nothing until filled). */
export function emptyDecoded(): Decoded {
  return { spec: INSTRUCTIONS[0]!, raw: 0, length: 4, rd: 0, rs1: 0, rs2: 0, imm: 0 };
}

/** Decodes one instruction, or returns undefined when it is illegal. */
export function decode(raw: number): Decoded | undefined {
  const out = emptyDecoded();
  return decodeInto(raw, out) ? out : undefined;
}
