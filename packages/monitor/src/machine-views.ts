import { csrName, disassemble, registerName } from "@amber/isa";
import type { Machine } from "@amber/machine";
import { hex8 } from "./format.js";

/** Eight hex digits without the 0x, as register dumps and `xxd` show them. */
const digits8 = (n: number): string => hex8(n).slice(2);
const PRIVILEGE = ["U", "S", "?", "M"];

/** Integer registers by ABI name, four to a line, then pc, privilege and the trap CSRs. */
export function formatRegisters(machine: Machine): string {
  const hart = machine.hart;
  const csr = hart.csr;
  const lines: string[] = [];
  for (let row = 0; row < 8; row++) {
    const cells: string[] = [];
    for (let col = 0; col < 4; col++) {
      const i = row * 4 + col;
      cells.push(`${`x${i}/${registerName(i)}`.padStart(8)} ${digits8(hart.x[i]!)}`);
    }
    lines.push(cells.join("  "));
  }
  lines.push(
    `      pc ${digits8(hart.pc)}  priv ${PRIVILEGE[csr.priv] ?? csr.priv}  instructions ${hart.steps}`,
  );
  const shown: [number, number][] = [
    [0x300, csr.mstatus],
    [0x305, csr.mtvec],
    [0x341, csr.mepc],
    [0x342, csr.mcause],
    [0x343, csr.mtval],
    [0x304, csr.mie],
    [0x344, csr.mip],
    [0x180, csr.satp],
  ];
  for (let i = 0; i < shown.length; i += 4) {
    lines.push(
      shown
        .slice(i, i + 4)
        .map(([n, v]) => `${csrName(n).padStart(8)} ${digits8(v)}`)
        .join("  "),
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Physical memory (RAM or ROM, never device registers, whose reads have side effects)
 * from `address`, as `xxd` shows it: address, 16 bytes in hex, the printable ones.
 */
export function hexDump(machine: Machine, address: number, length: number): string {
  const region = machine.bus.find(address, 1);
  if (region === undefined || region.kind === "mmio") {
    throw new RangeError(
      `0x${digits8(address)} is not RAM or ROM (RAM is 0x${digits8(machine.ram.base)}–0x${digits8(machine.ram.base + machine.ram.size - 1)})`,
    );
  }
  const end = Math.min(address + length, region.base + region.size);
  const lines: string[] = [];
  for (let row = address; row < end; row += 16) {
    const n = Math.min(16, end - row);
    const bytes: number[] = [];
    for (let i = 0; i < n; i++) bytes.push(machine.bus.load(row + i, 1));
    const hexes = bytes.map((b) => b.toString(16).padStart(2, "0"));
    const left = hexes.slice(0, 8).join(" ");
    const right = hexes.slice(8).join(" ");
    const ascii = bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${digits8(row)}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return `${lines.join("\n")}\n`;
}

/** The instruction at a (physical) address, its bits and disassembly, or why it cannot be read. */
export function disassembleAt(machine: Machine, address: number): string {
  const bits = machine.instructionAt(address);
  if (Number.isNaN(bits)) return "(not readable)";
  const width = (bits & 3) === 3 ? 8 : 4;
  return `${bits.toString(16).padStart(width, "0").padEnd(8, " ")}  ${disassemble(bits, address >>> 0).replace("\t", " ")}`;
}
