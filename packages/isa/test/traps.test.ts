import { describe, expect, it } from "vitest";
import { Csr, Exception, INTERRUPT_BIT, MISA, StopReason } from "../src/index.js";
import { asm } from "./support/assemble.js";
import { RAM_BASE, TestMachine } from "./support/test-machine.js";

const HANDLER = RAM_BASE + 0x800;

/** A machine whose mtvec points at HANDLER, with `words` at RAM_BASE. */
function withHandler(words: number[], mode = 0): TestMachine {
  const m = new TestMachine();
  m.program(words);
  m.hart.csr.mtvec = (HANDLER | mode) >>> 0;
  return m;
}

describe("machine-mode traps", () => {
  it("ecall from M-mode traps with cause 11, mepc at the ecall, mtval 0", () => {
    const m = withHandler([asm("addi", { rd: 1, imm: 1 }), asm("ecall")]);
    m.hart.run(2);
    expect(m.hart.pc >>> 0).toBe(HANDLER);
    expect(m.hart.csr.mcause).toBe(Exception.EcallFromM);
    expect(m.hart.csr.mepc).toBe(RAM_BASE + 4);
    expect(m.hart.csr.mtval).toBe(0);
    expect(m.hart.instret).toBe(1); // the trapping ecall does not retire
    expect(m.hart.steps).toBe(2);
  });

  it("an illegal instruction reports its bits in mtval", () => {
    const m = withHandler([0xffffffff]);
    m.hart.run(1);
    expect(m.hart.csr.mcause).toBe(Exception.IllegalInstruction);
    expect(m.hart.csr.mtval).toBe(0xffffffff);
    expect(m.hart.csr.mepc).toBe(RAM_BASE);
  });

  it("a plain ebreak is a breakpoint with mtval 0 (as QEMU)", () => {
    const m = withHandler([asm("ebreak")]);
    m.hart.run(1);
    expect(m.hart.csr.mcause).toBe(Exception.Breakpoint);
    expect(m.hart.csr.mtval).toBe(0);
  });

  it("the semihosting sequence stops the hart instead of trapping", () => {
    const m = withHandler([0x01f01013, asm("ebreak"), 0x40705013]);
    expect(m.hart.run(10)).toBe(StopReason.Semihosting);
    expect(m.hart.pc >>> 0).toBe(RAM_BASE + 8);
    expect(m.hart.steps).toBe(2);
  });

  it("load and store access faults carry the address", () => {
    const m = withHandler([asm("lw", { rd: 1, rs1: 2, imm: 4 })]);
    m.hart.x[2] = 0x7000_0000;
    m.hart.run(1);
    expect(m.hart.csr.mcause).toBe(Exception.LoadAccessFault);
    expect(m.hart.csr.mtval).toBe(0x7000_0004);
    const s = withHandler([asm("sw", { rs1: 2, rs2: 1, imm: -4 })]);
    s.hart.x[2] = 0x100;
    s.hart.run(1);
    expect(s.hart.csr.mcause).toBe(Exception.StoreAccessFault);
    expect(s.hart.csr.mtval).toBe(0xfc);
  });

  it("instruction fetch from nowhere is an instruction access fault", () => {
    const m = withHandler([asm("jalr", { rs1: 1 })]);
    m.hart.x[1] = 0x4000;
    m.hart.run(2);
    expect(m.hart.csr.mcause).toBe(Exception.InstructionAccessFault);
    expect(m.hart.csr.mepc).toBe(0x4000);
    expect(m.hart.csr.mtval).toBe(0x4000);
  });

  it("misaligned atomics raise address-misaligned faults", () => {
    const m = withHandler([asm("amoadd.w", { rd: 1, rs1: 2, rs2: 3 })]);
    m.hart.x[2] = RAM_BASE + 0x1002;
    m.hart.run(1);
    expect(m.hart.csr.mcause).toBe(Exception.StoreAddressMisaligned);
    expect(m.hart.csr.mtval).toBe(RAM_BASE + 0x1002);
    const lr = withHandler([asm("lr.w", { rd: 1, rs1: 2 })]);
    lr.hart.x[2] = RAM_BASE + 0x1001;
    lr.hart.run(1);
    expect(lr.hart.csr.mcause).toBe(Exception.LoadAddressMisaligned);
  });

  // The ISA's causes, which QEMU raises since 9.2; QEMU 7.2 raises the load causes 4 and 5
  // (packages/machine/README.md, "Differences from QEMU"; tools/guests/src/amo-faults.c).
  it.each([
    "amoswap.w",
    "amoadd.w",
    "amoxor.w",
    "amoand.w",
    "amoor.w",
    "amomin.w",
    "amomax.w",
    "amominu.w",
    "amomaxu.w",
  ])("%s raises store/AMO causes: 6 when misaligned, 7 on nothing, rd untouched", (op) => {
    for (const [address, cause] of [
      [RAM_BASE + 0x1003, Exception.StoreAddressMisaligned],
      [0x100, Exception.StoreAccessFault],
    ] as const) {
      const m = withHandler([asm(op, { rd: 1, rs1: 2, rs2: 3 })]);
      m.hart.x[1] = 0x5a5a5a5a;
      m.hart.x[2] = address;
      m.hart.run(1);
      expect([m.hart.csr.mcause, m.hart.csr.mtval, m.hart.x[1]]).toEqual([cause, address, 0x5a5a5a5a]);
    }
  });

  it("trap entry stacks MIE into MPIE and M into MPP; mret restores them", () => {
    const m = withHandler([asm("ecall")]);
    m.program([asm("mret")], HANDLER);
    m.hart.csr.mstatus = 1 << 3; // MIE
    m.hart.run(1);
    expect(m.hart.csr.mstatus & (1 << 3)).toBe(0);
    expect(m.hart.csr.mstatus & (1 << 7)).not.toBe(0);
    expect((m.hart.csr.mstatus >>> 11) & 3).toBe(3);
    m.hart.csr.mepc = RAM_BASE + 4;
    m.hart.run(1);
    expect(m.hart.pc >>> 0).toBe(RAM_BASE + 4);
    expect(m.hart.csr.mstatus & (1 << 3)).not.toBe(0);
    expect(m.hart.csr.priv).toBe(3);
  });

  it("vectored mtvec sends exceptions to BASE and interrupts to BASE + 4 * cause", () => {
    const m = withHandler([asm("ecall")], 1);
    m.hart.run(1);
    expect(m.hart.pc >>> 0).toBe(HANDLER);
    const i = withHandler([asm("addi", { rd: 0 })], 1);
    i.hart.csr.mie = 1 << 7;
    i.hart.csr.mstatus = 1 << 3;
    i.hart.csr.setPending(7, true);
    i.hart.run(0); // the interrupt is taken on entry, before any step
    expect(i.hart.pc >>> 0).toBe(HANDLER + 4 * 7);
    expect(i.hart.csr.mcause).toBe((INTERRUPT_BIT | 7) >>> 0);
    expect(i.hart.csr.mepc).toBe(RAM_BASE);
  });

  it("an unhandled trap (nothing at mtvec) stops the hart with the trap recorded", () => {
    const m = new TestMachine();
    m.program([0x00000000]);
    expect(m.hart.run(100)).toBe(StopReason.UnhandledTrap);
    expect(m.hart.csr.mcause).toBe(Exception.IllegalInstruction);
    expect(m.hart.csr.mepc).toBe(RAM_BASE);
  });
});

describe("CSR instructions", () => {
  it("csrrw swaps, csrrs sets and csrrc clears bits", () => {
    const m = new TestMachine();
    m.program([
      asm("csrrw", { rd: 1, rs1: 2, imm: Csr.mscratch }),
      asm("csrrs", { rd: 3, rs1: 4, imm: Csr.mscratch }),
      asm("csrrc", { rd: 5, rs1: 6, imm: Csr.mscratch }),
      asm("csrrwi", { rd: 7, rs1: 31, imm: Csr.mscratch }),
    ]);
    m.hart.x[2] = 0xf0;
    m.hart.x[4] = 0x0f;
    m.hart.x[6] = 0x3c;
    m.hart.run(4);
    expect(m.hart.x[1]).toBe(0);
    expect(m.hart.x[3]).toBe(0xf0);
    expect(m.hart.x[5]).toBe(0xff);
    expect(m.hart.x[7]).toBe(0xc3);
    expect(m.hart.csr.mscratch).toBe(31);
  });

  it("reads misa, mhartid and the counters", () => {
    const m = new TestMachine();
    m.program([
      asm("csrrs", { rd: 1, imm: Csr.misa }),
      asm("csrrs", { rd: 2, imm: Csr.mhartid }),
      asm("csrrs", { rd: 3, imm: Csr.instret }),
      asm("csrrs", { rd: 4, imm: Csr.cycle }),
      asm("csrrs", { rd: 5, imm: Csr.instreth }),
    ]);
    m.hart.run(5);
    expect(m.hart.x[1]! >>> 0).toBe(MISA);
    expect(m.hart.x[2]).toBe(0);
    expect(m.hart.x[3]).toBe(2);
    expect(m.hart.x[4]).toBe(3);
    expect(m.hart.x[5]).toBe(0);
  });

  it("writing a read-only CSR or an unknown CSR is illegal; reading with rs1=x0 is not", () => {
    const m = withHandler([
      asm("csrrs", { rd: 1, imm: Csr.mvendorid }),
      asm("csrrw", { rs1: 1, imm: Csr.mvendorid }),
    ]);
    m.hart.run(2);
    expect(m.hart.csr.mcause).toBe(Exception.IllegalInstruction);
    expect(m.hart.csr.mepc).toBe(RAM_BASE + 4);
    expect(m.hart.csr.mtval).toBe(asm("csrrw", { rs1: 1, imm: Csr.mvendorid }));
    const u = withHandler([asm("csrrs", { rd: 1, imm: 0x7c0 })]);
    u.hart.run(1);
    expect(u.hart.csr.mcause).toBe(Exception.IllegalInstruction);
  });

  it("user mode without a PMP entry cannot fetch at all", () => {
    const m = withHandler([asm("mret")]);
    m.hart.csr.mepc = RAM_BASE + 0x100;
    m.hart.csr.mstatus = 0; // MPP = U
    m.hart.run(2);
    expect(m.hart.csr.mcause).toBe(Exception.InstructionAccessFault);
    expect(m.hart.csr.mepc).toBe(RAM_BASE + 0x100);
  });

  it("user mode cannot touch machine CSRs or execute mret", () => {
    const m = withHandler([asm("mret")]);
    m.program([asm("csrrs", { rd: 1, imm: Csr.mstatus }), asm("mret")], RAM_BASE + 0x100);
    m.hart.csr.mepc = RAM_BASE + 0x100;
    m.hart.csr.mstatus = 0; // MPP = U
    m.hart.csr.write(Csr.pmpaddr0, -1); // U-mode needs a PMP entry to touch memory at all
    m.hart.csr.write(Csr.pmpcfg0, 0x1f);
    m.hart.run(2);
    expect(m.hart.csr.priv).toBe(3);
    expect(m.hart.csr.mcause).toBe(Exception.IllegalInstruction);
    expect(m.hart.csr.mepc).toBe(RAM_BASE + 0x100);
    expect((m.hart.csr.mstatus >>> 11) & 3).toBe(0); // trapped from U
  });
});

describe("LR/SC and AMOs", () => {
  it("sc succeeds after lr to the same address and fails without a reservation", () => {
    const m = new TestMachine();
    const addr = RAM_BASE + 0x1000;
    m.program([
      asm("lr.w", { rd: 1, rs1: 10 }),
      asm("sc.w", { rd: 2, rs1: 10, rs2: 11 }),
      asm("sc.w", { rd: 3, rs1: 10, rs2: 12 }),
    ]);
    m.store(addr, 4, 5);
    m.hart.x[10] = addr;
    m.hart.x[11] = 6;
    m.hart.x[12] = 7;
    m.hart.run(3);
    expect(m.hart.x[1]).toBe(5);
    expect(m.hart.x[2]).toBe(0);
    expect(m.hart.x[3]).toBe(1);
    expect(m.word(addr)).toBe(6);
  });

  it.each([
    ["amoswap.w", 5, -3, -3],
    ["amoadd.w", 5, -3, 2],
    ["amoxor.w", 6, 3, 5],
    ["amoand.w", 6, 3, 2],
    ["amoor.w", 6, 3, 7],
    ["amomin.w", 5, -3, -3],
    ["amomax.w", 5, -3, 5],
    ["amominu.w", 5, -3, 5],
    ["amomaxu.w", 5, -3, -3],
  ])("%s on %i with %i stores %i and returns the old value", (name, old, operand, stored) => {
    const m = new TestMachine();
    const addr = RAM_BASE + 0x1000;
    m.program([asm(name, { rd: 1, rs1: 10, rs2: 11 })]);
    m.store(addr, 4, old);
    m.hart.x[10] = addr;
    m.hart.x[11] = operand;
    m.hart.run(1);
    expect(m.hart.x[1]).toBe(old);
    expect(m.word(addr)).toBe(stored);
  });
});

describe("self-modifying code", () => {
  it("a store over an instruction already executed changes what runs next time", () => {
    const m = new TestMachine();
    const patch = asm("addi", { rd: 5, rs1: 5, imm: 100 });
    // loop: addi x5,x5,1 ; sw x6, -4(pc-of-this) ; jal x0, loop
    m.program([
      asm("addi", { rd: 5, rs1: 5, imm: 1 }),
      asm("sw", { rs1: 7, rs2: 6, imm: 0 }),
      asm("jal", { imm: -8 }),
    ]);
    m.hart.x[6] = patch;
    m.hart.x[7] = RAM_BASE;
    m.hart.run(6); // two rounds: first adds 1, the second runs the patched addi
    expect(m.hart.x[5]).toBe(101);
  });
});
