import { describe, expect, it } from "vitest";
import { Csr, CsrFile, Exception, MSTATUS, Privilege } from "../src/index.js";
import { asm } from "./support/assemble.js";
import { cycle, runBoth, twin } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE } from "./support/lazy-board.js";

// The rule: every change of the privilege or of mstatus's MPRV/MPP/SUM/MXR — by a CSR
// write, a trap or an xRET — re-evaluates how loads and stores are translated. The case
// that went wrong: a trap from M into M under MPRV=1 keeps the privilege but sets MPP to
// M, so the handler's loads and stores are M-mode (physical) accesses.

const RAM = 1024 * 1024;
const HANDLER = BASE + 0x800;
const ROOT = BASE + 0x4000; // an Sv32 root table with no valid entry: every translation faults
const DATA = BASE + 0x6000;
const MAGIC = 0x1234_5678;
const LOOPS = 200;
const MPP_S = 1 << 11;

const addi = (rd: number, rs1: number, imm: number) => asm("addi", { rd, rs1, imm });
function li(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  const hi = (value - lo) | 0;
  return [asm("lui", { rd, imm: hi }), addi(rd, rd, lo)];
}

describe("the data translation context follows every change of privilege and mstatus", () => {
  it("a CsrFile reports a trap from M into M under MPRV=1 as a translation change (MPP becomes M)", () => {
    const csr = new CsrFile({ cycles: () => 0, instret: () => 0, time: () => 0 });
    let changes = 0;
    csr.onTranslationChange = () => changes++;
    csr.write(Csr.mstatus, MSTATUS.MPRV | MPP_S);
    expect(changes).toBe(1);
    csr.enterTrap(Exception.EcallFromM, 0, BASE);
    expect(csr.priv).toBe(Privilege.Machine);
    expect((csr.mstatus >>> 11) & 3).toBe(Privilege.Machine);
    expect(changes).toBe(2);
    // A trap that changes neither (M into M with MPP already M) needs no re-evaluation.
    csr.enterTrap(Exception.EcallFromM, 0, BASE);
    expect(changes).toBe(2);
  });

  it("a handler entered from M under MPRV=1 with MPP=U loads and stores physically, compiled and interpreted", () => {
    // The loop runs in M with MPRV=1 and MPP=U (left so by mret): its data accesses would
    // be U-mode, translated through a table that maps nothing. Each ecall traps M → M; the
    // handler reads and writes physical memory, then mret returns to M (MPP was M).
    const program = [
      ...li(6, DATA),
      ...li(8, LOOPS),
      // loop (offset 16):
      asm("ecall"),
      addi(7, 7, 1),
      asm("blt", { rs1: 7, rs2: 8, imm: -8 }),
      asm("jal", { rd: 0, imm: 0 }),
    ];
    const handler = [
      asm("lw", { rd: 5, rs1: 6, imm: 0 }),
      asm("add", { rd: 9, rs1: 9, rs2: 5 }),
      asm("sw", { rs1: 6, rs2: 9, imm: 4 }),
      asm("csrrs", { rd: 28, rs1: 0, imm: 0x341 }), // mepc
      addi(28, 28, 4),
      asm("csrrw", { rd: 0, rs1: 28, imm: 0x341 }),
      asm("mret"),
    ];
    const t = twin(RAM, (b) => {
      b.program(program);
      b.program(handler, HANDLER);
      b.store(DATA, 4, MAGIC);
      const csr = b.hart.csr;
      csr.mtvec = HANDLER;
      csr.write(0x3b0, -1); // PMP entry 0: everything, RWX (NAPOT)
      csr.write(0x3a0, 0x1f);
      csr.write(Csr.satp, (1 << 31) | (ROOT >>> 12));
      csr.write(Csr.mstatus, MSTATUS.MPRV); // MPP = U
    });
    runBoth(t, cycle([1, 13, 64, 500, 7], LOOPS * 10 + 20), "MPRV loop");
    for (const b of [t.jit, t.ref]) {
      const h = b.hart;
      expect(h.x[7]).toBe(LOOPS);
      expect(h.x[9]).toBe((MAGIC * LOOPS) | 0);
      expect(b.load(DATA + 4, 4) | 0).toBe((MAGIC * LOOPS) | 0);
      expect(h.csr.mcause).toBe(Exception.EcallFromM); // no page fault was ever taken
      expect(h.traps).toBe(LOOPS);
    }
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
  });
});
