import { Csr, type CsrFile, csrName, Privilege, registerName } from "@amber/isa";

/** gdb's number of the first CSR (`RISCV_FIRST_CSR_REGNUM`): CSR n is register 65 + n. */
export const FIRST_CSR_REGNUM = 65;
/** gdb's virtual `priv` register (the hart's privilege level), right after the CSRs. */
export const PRIV_REGNUM = FIRST_CSR_REGNUM + 4096;
/** x0..x31 then pc, in `g` packet order. */
export const GPR_COUNT = 33;

/** x0..x31 by gdb's names: objdump's ABI names, but x8 is "fp" in gdb's riscv-32bit-cpu feature. */
const ABI = Array.from({ length: 32 }, (_, i) => (i === 8 ? "fp" : registerName(i)));

/** The CSRs the hart implements (readable in M-mode), ascending. */
export function implementedCsrs(csr: CsrFile): number[] {
  const nums = new Set<number>(Object.values(Csr));
  for (let i = 0; i < 4; i++) nums.add(Csr.pmpcfg0 + i);
  for (let i = 0; i < 16; i++) nums.add(Csr.pmpaddr0 + i);
  const priv = csr.priv;
  csr.priv = Privilege.Machine;
  try {
    return [...nums].filter((n) => !Number.isNaN(csr.read(n))).sort((a, b) => a - b);
  } finally {
    csr.priv = priv;
  }
}

/**
 * The target description gdb reads with `qXfer:features:read:target.xml`: rv32 general
 * registers and pc (org.gnu.gdb.riscv.cpu), the implemented CSRs by name at gdb's own
 * numbers (org.gnu.gdb.riscv.csr), and the privilege level (org.gnu.gdb.riscv.virtual).
 */
export function targetDescription(csrs: readonly number[]): string {
  const cpu = ABI.map((name, i) => {
    const type = i === 1 ? "code_ptr" : i === 2 || i === 8 ? "data_ptr" : "int";
    return `    <reg name="${name}" bitsize="32" type="${type}" regnum="${i}"/>`;
  });
  cpu.push(`    <reg name="pc" bitsize="32" type="code_ptr" regnum="32"/>`);
  const csr = csrs.map(
    (n) =>
      `    <reg name="${csrName(n)}" bitsize="32" type="int" regnum="${FIRST_CSR_REGNUM + n}" group="csr"/>`,
  );
  return [
    `<?xml version="1.0"?>`,
    `<!DOCTYPE target SYSTEM "gdb-target.dtd">`,
    `<target version="1.0">`,
    `  <architecture>riscv:rv32</architecture>`,
    `  <feature name="org.gnu.gdb.riscv.cpu">`,
    ...cpu,
    `  </feature>`,
    `  <feature name="org.gnu.gdb.riscv.csr">`,
    ...csr,
    `  </feature>`,
    `  <feature name="org.gnu.gdb.riscv.virtual">`,
    `    <reg name="priv" bitsize="32" type="int" regnum="${PRIV_REGNUM}" group="general"/>`,
    `  </feature>`,
    `</target>`,
    "",
  ].join("\n");
}
