import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { disassemble } from "../src/index.js";

// Fixtures: `riscv64-unknown-elf-objdump -d -M no-aliases` of every committed guest and
// of tools/guests/src/all-insns.S, which holds every instruction of the table.
const OUT = fileURLToPath(new URL("../../../tools/guests/out/", import.meta.url));

interface Line {
  file: string;
  address: number;
  bits: number;
  text: string;
}

const LINE = /^\s*([0-9a-f]+):\s+([0-9a-f]{4}|[0-9a-f]{8})\s+(\S.*)$/;

function objdumpLines(path: string): Line[] {
  const out: Line[] = [];
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const m = LINE.exec(raw);
    if (!m) continue;
    // objdump appends the symbol of a target (" <main+0x10>") and comments ("# 8000...").
    const text = m[3]!
      .replace(/\s+#.*$/, "")
      .replace(/\s+<[^>]*>$/, "")
      .replace(/\s+/, "\t")
      .trim();
    out.push({
      file: path.slice(OUT.length),
      address: Number.parseInt(m[1]!, 16),
      bits: Number.parseInt(m[2]!, 16),
      text,
    });
  }
  return out;
}

function fixtures(): string[] {
  const files = [`${OUT}all-insns.objdump`];
  for (const march of ["rv32imac", "rv32ima", "rv32im"]) {
    const dir = `${OUT}${march}/`;
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".objdump")) files.push(`${dir}${f}`);
  }
  return files.filter((f) => existsSync(f));
}

/**
 * Where objdump 2.40 and Amber differ on purpose. Each is checked to differ exactly as
 * described, so a change on either side shows up.
 */
const KNOWN_DIFFERENCES: [RegExp, RegExp, string][] = [
  // CSRs newer than binutils 2.40's table: objdump prints the number, Amber the name.
  [/^csrr\w+\t.*0x(f15|310|30a|10a)\b/, /mconfigptr|mstatush|menvcfg|senvcfg/, "CSR names objdump lacks"],
  // Reserved encodings objdump decodes anyway; on RV32 they are illegal.
  [
    /^slli\t.*,0x2\d$|^c\.addi16sp\tsp,0$|^c\.srli\t.*,0x2\d$|^c\.slli64\b/,
    /^unknown\t|^c\.slli\t/,
    "reserved on RV32",
  ],
  // Instructions outside RV32IMAC + S/U: the debug spec's dret, the removed N extension's uret.
  [/^(dret|uret)$/, /^unknown\t/, "not implemented"],
];

function knownDifference(objdump: string, amber: string): boolean {
  return KNOWN_DIFFERENCES.some(([theirs, ours]) => theirs.test(objdump) && ours.test(amber));
}

/** Data words and encodings objdump cannot decode either. */
function notAnInstruction(line: Line): boolean {
  return /^(\.insn|\.2byte|\.4byte|\.short|\.word|unimp|c\.unimp)\b/.test(line.text);
}

describe("the disassembler agrees with riscv64-unknown-elf-objdump", () => {
  const files = fixtures();
  it("has fixtures", () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each(files.map((f) => [f.slice(OUT.length), f] as const))("%s", (_name, file) => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const line of objdumpLines(file)) {
      if (notAnInstruction(line)) continue;
      compared++;
      const ours = disassemble(line.bits, line.address);
      if (ours !== line.text && !knownDifference(line.text, ours)) {
        mismatches.push(
          `${line.address.toString(16)}: ${line.bits.toString(16)}  objdump "${line.text}"  amber "${ours}"`,
        );
      }
    }
    expect(compared).toBeGreaterThan(0);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
