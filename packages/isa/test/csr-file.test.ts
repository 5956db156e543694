import { describe, expect, it } from "vitest";
import {
  Csr,
  CsrFile,
  Exception,
  INTERRUPT_BIT,
  Interrupt,
  MSTATUS,
  PmpAccess,
  Privilege,
} from "../src/index.js";

const counters = { cycles: () => 0, instret: () => 0, time: () => Number.NaN };
const fresh = () => new CsrFile(counters);

describe("supervisor CSRs", () => {
  it("sstatus is a window on mstatus's supervisor fields", () => {
    const c = fresh();
    c.write(Csr.mstatus, MSTATUS.MIE | MSTATUS.SIE | MSTATUS.SUM);
    expect(c.read(Csr.sstatus)).toBe(MSTATUS.SIE | MSTATUS.SUM);
    c.write(Csr.sstatus, MSTATUS.MXR | MSTATUS.MIE); // MIE is not reachable through sstatus
    expect(c.read(Csr.mstatus)).toBe(MSTATUS.MIE | MSTATUS.MXR);
  });

  it("sie and sip show only delegated interrupts", () => {
    const c = fresh();
    c.write(Csr.mie, 0xaaa);
    c.write(Csr.mideleg, 0xfff);
    expect(c.read(Csr.mideleg)).toBe(0x222);
    expect(c.read(Csr.sie)).toBe(0x222);
    c.write(Csr.sip, 0x222); // only SSIP is writable from S
    expect(c.read(Csr.mip)).toBe(0x2);
  });

  it("medeleg cannot delegate ecall from M", () => {
    const c = fresh();
    c.write(Csr.medeleg, -1);
    expect(c.read(Csr.medeleg)).toBe(0xb3ff);
  });

  it("S-mode cannot read machine CSRs; TVM traps satp", () => {
    const c = fresh();
    c.write(Csr.mstatus, MSTATUS.TVM);
    c.priv = Privilege.Supervisor;
    expect(c.read(Csr.mstatus)).toBeNaN();
    expect(c.read(Csr.satp)).toBeNaN();
    expect(c.write(Csr.satp, 0x80000001)).toBe(false);
  });
});

describe("trap delegation", () => {
  it("a delegated exception from U-mode enters S-mode with sepc, scause, stval and SPP=U", () => {
    const c = fresh();
    c.write(Csr.medeleg, 1 << Exception.EcallFromU);
    c.write(Csr.stvec, 0x8000_1000);
    c.write(Csr.mstatus, MSTATUS.SIE);
    c.priv = Privilege.User;
    expect(c.enterTrap(Exception.EcallFromU, 0, 0x1234) >>> 0).toBe(0x8000_1000);
    expect(c.priv).toBe(Privilege.Supervisor);
    expect([c.sepc, c.scause, c.stval]).toEqual([0x1234, 8, 0]);
    expect(c.mstatus & (MSTATUS.SPP | MSTATUS.SIE)).toBe(0);
    expect(c.mstatus & MSTATUS.SPIE).not.toBe(0);
    expect(c.returnFromSupervisor()).toBe(0x1234);
    expect(c.priv).toBe(Privilege.User);
    expect(c.mstatus & MSTATUS.SIE).not.toBe(0);
  });

  it("traps in M-mode are never delegated", () => {
    const c = fresh();
    c.write(Csr.medeleg, 0xb3ff);
    c.write(Csr.mtvec, 0x8000_0100);
    expect(c.enterTrap(Exception.IllegalInstruction, 0, 0x10) >>> 0).toBe(0x8000_0100);
    expect(c.priv).toBe(Privilege.Machine);
  });

  it("sret from S returns to the mode in SPP and clears MPRV", () => {
    const c = fresh();
    c.write(Csr.mstatus, MSTATUS.SPP | MSTATUS.MPRV);
    c.priv = Privilege.Supervisor;
    c.sepc = 0x4000;
    expect(c.returnFromSupervisor()).toBe(0x4000);
    expect(c.priv).toBe(Privilege.Supervisor);
    expect(c.mstatus & MSTATUS.MPRV).toBe(0);
  });
});

describe("interrupt selection", () => {
  it("follows MEI > MSI > MTI > SEI > SSI > STI", () => {
    const c = fresh();
    c.write(Csr.mie, 0xaaa);
    c.write(Csr.mstatus, MSTATUS.MIE);
    c.mip = 0xaaa;
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      const cause = c.pendingInterrupt();
      order.push(cause & 0xff);
      c.setPending(cause & 0xff, false);
    }
    expect(order).toEqual([11, 3, 7, 9, 1, 5]);
  });

  it("takes delegated interrupts only below M, and in S only with SIE", () => {
    const c = fresh();
    c.write(Csr.mie, 1 << Interrupt.SupervisorTimer);
    c.write(Csr.mideleg, 1 << Interrupt.SupervisorTimer);
    c.setPending(Interrupt.SupervisorTimer, true);
    c.write(Csr.mstatus, MSTATUS.MIE);
    expect(c.pendingInterrupt()).toBe(0); // in M, delegated interrupts wait
    c.priv = Privilege.Supervisor;
    expect(c.pendingInterrupt()).toBe(0); // SIE clear
    c.priv = Privilege.User;
    expect(c.pendingInterrupt()).toBe((INTERRUPT_BIT | Interrupt.SupervisorTimer) >>> 0);
  });

  it("takes machine interrupts in S-mode even with MIE clear", () => {
    const c = fresh();
    c.write(Csr.mie, 1 << Interrupt.MachineTimer);
    c.setPending(Interrupt.MachineTimer, true);
    c.priv = Privilege.Supervisor;
    expect(c.pendingInterrupt()).toBe((INTERRUPT_BIT | Interrupt.MachineTimer) >>> 0);
  });
});

describe("physical memory protection", () => {
  it("denies S/U everything until an entry allows it; M is unrestricted", () => {
    const c = fresh();
    expect(c.pmp.allows(0x8000_0000, 4, PmpAccess.Read, Privilege.Supervisor)).toBe(false);
    expect(c.pmp.allows(0x8000_0000, 4, PmpAccess.Read, Privilege.Machine)).toBe(true);
    c.write(0x3b0, -1); // pmpaddr0: all ones, NAPOT = everything
    c.write(0x3a0, 0x1f); // NAPOT, RWX
    expect(c.pmp.allowsEverything()).toBe(true);
    expect(c.pmp.allows(0xffff_fffc, 4, PmpAccess.Write, Privilege.User)).toBe(true);
  });

  it("matches TOR ranges and lets the lowest entry decide", () => {
    const c = fresh();
    c.write(0x3b0, 0x8000_1000 >>> 2); // entry 0: TOR [0, 0x80001000) read-only
    c.write(0x3b1, -1); // entry 1: NAPOT everything, RWX
    c.write(0x3a0, (0x1f << 8) | 0x09);
    expect(c.pmp.allows(0x8000_0ffc, 4, PmpAccess.Write, Privilege.Supervisor)).toBe(false);
    expect(c.pmp.allows(0x8000_0ffc, 4, PmpAccess.Read, Privilege.Supervisor)).toBe(true);
    expect(c.pmp.allows(0x8000_1000, 4, PmpAccess.Write, Privilege.Supervisor)).toBe(true);
    expect(c.pmp.allows(0x8000_0ffe, 4, PmpAccess.Read, Privilege.Supervisor)).toBe(false); // straddles
  });

  it("locks entries against writes and against M-mode", () => {
    const c = fresh();
    c.write(0x3b0, (0x8000_0000 >>> 2) | 0x1ff); // NAPOT 4 KiB at 0x80000000
    c.write(0x3a0, 0x80 | 0x18 | 0x1); // locked, NAPOT, R only
    c.write(0x3a0, 0x1f);
    expect(c.read(0x3a0) & 0xff).toBe(0x99);
    expect(c.pmp.allows(0x8000_0000, 4, PmpAccess.Write, Privilege.Machine)).toBe(false);
    expect(c.pmp.allows(0x8000_0000, 4, PmpAccess.Read, Privilege.Machine)).toBe(true);
  });

  it("reads back W without R as neither", () => {
    const c = fresh();
    c.write(0x3a0, 0x1a);
    expect(c.read(0x3a0) & 0xff).toBe(0x18);
  });
});
