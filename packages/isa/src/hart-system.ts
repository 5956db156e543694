import { MSTATUS } from "./csr-file.js";
import { HartMemory, NO_FAULT, SINK } from "./hart-memory.js";
import { Access } from "./mmu.js";
import { Op } from "./ops.js";
import { Privilege } from "./privilege.js";
import { StopReason } from "./stop-reason.js";
import { Exception } from "./trap-causes.js";
import { TriggerAccess } from "./triggers.js";

/** The semihosting sequence around an `ebreak`: `slli x0,x0,0x1f` before, `srai x0,x0,7` after. */
export const SEMIHOST_PRE = 0x01f01013;
export const SEMIHOST_POST = 0x40705013;

/**
 * The instructions the run loop hands off its hot path: system instructions (ecall,
 * ebreak and semihosting calls, xRET, wfi, fences of the instruction stream and of
 * translations), Zicsr, the A extension (LR/SC and AMOs, through the checked memory
 * path), and illegal instructions. Out of `Hart.run` they keep its loop small, which V8
 * compiles faster and better.
 */
export abstract class HartSystem extends HartMemory {
  /** Stop at semihosting `ebreak` sequences instead of trapping (`HartOptions.semihosting`). */
  semihosting = true;
  /** Why `run` must return after the instruction `system` just executed (Budget: it need not). */
  protected stopReason: StopReason = StopReason.Budget;

  /** Forgets every decoded instruction (fence.i). */
  abstract flushDecodeCache(): void;
  /** sfence.vma of one virtual address. */
  protected abstract pageFenced(va: number): void;
  /** satp, PMP, privilege or sfence.vma of everything changed what accesses are checked against. */
  protected abstract translationChanged(contextOnly: boolean): void;

  /**
   * Executes a system, CSR or atomic instruction (or traps an illegal one) for `run`;
   * returns the next pc. An instruction after which `run` must return (a semihosting
   * call, `wfi`) leaves why in `stopReason`.
   */
  protected system(
    op: Op,
    w: number,
    rd: number,
    rs1: number,
    rs2: number,
    imm: number,
    pc: number,
    next: number,
    n: number,
  ): number {
    const x = this.file;
    switch (op) {
      case Op.FENCE_I:
        this.flushDecodeCache();
        break;
      case Op.ECALL:
        next = this.trap(Exception.EcallFromU + this.csr.priv, 0, pc);
        break;
      case Op.EBREAK:
        if (this.semihosting && w >>> 24 === 4 && this.isSemihostingCall(pc)) {
          this.stopReason = StopReason.Semihosting;
          return next;
        }
        next = this.trap(Exception.Breakpoint, 0, pc); // mtval 0, as QEMU
        break;
      case Op.SRET:
        if (
          this.csr.priv === Privilege.User ||
          (this.csr.priv === Privilege.Supervisor && this.csr.mstatus & MSTATUS.TSR)
        ) {
          next = this.trap(Exception.IllegalInstruction, 0x10200073, pc);
        } else next = this.afterControlChange(this.csr.returnFromSupervisor());
        break;
      case Op.SFENCE_VMA:
        if (
          this.csr.priv === Privilege.User ||
          (this.csr.priv === Privilege.Supervisor && this.csr.mstatus & MSTATUS.TVM)
        ) {
          next = this.trap(Exception.IllegalInstruction, (0x12000073 | (rs1 << 15) | (rs2 << 20)) >>> 0, pc);
        } else if (rs1 !== 0) this.pageFenced(x[rs1]!);
        else this.translationChanged(false);
        break;
      case Op.MRET:
        if (this.csr.priv !== Privilege.Machine)
          next = this.trap(Exception.IllegalInstruction, 0x30200073, pc);
        else next = this.afterControlChange(this.csr.returnFromTrap());
        break;
      case Op.WFI:
        // With S-mode present, wfi is illegal in U-mode, and in S-mode when TW is set (as QEMU).
        if (
          this.csr.priv === Privilege.User ||
          (this.csr.priv === Privilege.Supervisor && this.csr.mstatus & MSTATUS.TW)
        ) {
          next = this.trap(Exception.IllegalInstruction, 0x10500073, pc);
          break;
        }
        this.stopReason = StopReason.WaitForInterrupt;
        break;
      case Op.CSRRW:
      case Op.CSRRS:
      case Op.CSRRC:
      case Op.CSRRWI:
      case Op.CSRRSI:
      case Op.CSRRCI:
        this.runSteps = n;
        next = this.csrInstruction(op, rd, rs1, imm, pc, next);
        break;
      case Op.LR_W:
      case Op.SC_W:
      case Op.AMOSWAP_W:
      case Op.AMOADD_W:
      case Op.AMOXOR_W:
      case Op.AMOAND_W:
      case Op.AMOOR_W:
      case Op.AMOMIN_W:
      case Op.AMOMAX_W:
      case Op.AMOMINU_W:
      case Op.AMOMAXU_W:
        this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
        next = this.atomic(op, rd, rs1, rs2, pc, next);
        break;
      default:
        next = this.trap(Exception.IllegalInstruction, 0, pc);
        break;
    }
    return next;
  }

  /** The A extension, off the hot path; returns the next pc (a handler after a fault). */
  protected atomic(op: Op, rd: number, rs1: number, rs2: number, pc: number, next: number): number {
    const x = this.file;
    const va = x[rs1]!;
    const isLr = op === Op.LR_W;
    if ((va & 3) !== 0) {
      return this.trap(isLr ? Exception.LoadAddressMisaligned : Exception.StoreAddressMisaligned, va, pc);
    }
    const kind = isLr ? TriggerAccess.Load : op === Op.SC_W ? TriggerAccess.Store : TriggerAccess.Both;
    if (this.dataTriggerHit(va, 4, kind)) return this.takeFault(pc);
    // LR reads; SC and AMOs need write permission, and their faults are store/AMO faults.
    const pa = this.checkedData ? this.physicalData(va, 4, isLr ? Access.Load : Access.Store) : va;
    if (pa < 0 && this.faultCause !== NO_FAULT) return this.takeFault(pc);
    switch (op) {
      case Op.LR_W: {
        const v = this.readPhysical(pa, 4, va);
        if (this.faultCause !== NO_FAULT) return this.takeFault(pc);
        x[rd] = v;
        this.reservation = pa | 0;
        this.reserved = true;
        break;
      }
      case Op.SC_W:
        if (this.reserved && this.reservation === (pa | 0)) {
          this.reserved = false;
          if (!this.writePhysical(pa, 4, x[rs2]!, va) && this.faultCause !== NO_FAULT)
            return this.takeFault(pc);
          x[rd] = 0;
        } else {
          this.reserved = false;
          x[rd] = 1;
        }
        break;
      default: {
        const old = this.readPhysical(pa, 4, va);
        if (this.faultCause !== NO_FAULT) {
          this.faultCause = Exception.StoreAccessFault;
          return this.takeFault(pc);
        }
        const src = x[rs2]!;
        let v: number;
        switch (op) {
          case Op.AMOSWAP_W:
            v = src;
            break;
          case Op.AMOADD_W:
            v = (old + src) | 0;
            break;
          case Op.AMOXOR_W:
            v = old ^ src;
            break;
          case Op.AMOAND_W:
            v = old & src;
            break;
          case Op.AMOOR_W:
            v = old | src;
            break;
          case Op.AMOMIN_W:
            v = old < src ? old : src;
            break;
          case Op.AMOMAX_W:
            v = old > src ? old : src;
            break;
          case Op.AMOMINU_W:
            v = old >>> 0 < src >>> 0 ? old : src;
            break;
          default:
            v = old >>> 0 > src >>> 0 ? old : src;
            break;
        }
        if (!this.writePhysical(pa, 4, v, va) && this.faultCause !== NO_FAULT) return this.takeFault(pc);
        x[rd] = old;
        break;
      }
    }
    return next;
  }

  /** Executes a Zicsr instruction; returns the next pc (a trap handler when illegal). */
  protected csrInstruction(op: Op, rd: number, rs1: number, num: number, pc: number, next: number): number {
    const x = this.file;
    const isImmediate = op === Op.CSRRWI || op === Op.CSRRSI || op === Op.CSRRCI;
    const operand = isImmediate ? rs1 : x[rs1]!;
    const isWrite = op === Op.CSRRW || op === Op.CSRRWI;
    const writes = isWrite || rs1 !== 0;
    const reads = !isWrite || rd !== SINK;
    const raw = this.rawCsrInstruction(op, rd, rs1, num);
    let old = 0;
    if (reads) {
      old = this.csr.read(num);
      if (Number.isNaN(old)) return this.trap(Exception.IllegalInstruction, raw, pc);
    } else if (((num >>> 8) & 3) > this.csr.priv) {
      return this.trap(Exception.IllegalInstruction, raw, pc);
    }
    if (writes) {
      let value: number;
      if (isWrite) value = operand;
      else if (op === Op.CSRRS || op === Op.CSRRSI) value = old | operand;
      else value = old & ~operand;
      if (!this.csr.write(num, value)) return this.trap(Exception.IllegalInstruction, raw, pc);
    }
    x[rd] = old;
    return writes ? this.afterControlChange(next) : next;
  }

  /** Re-encodes a CSR instruction for mtval (the decode cache keeps operands, not bits). */
  protected rawCsrInstruction(op: Op, rd: number, rs1: number, num: number): number {
    const funct3 = op - Op.CSRRW + (op >= Op.CSRRWI ? 2 : 1);
    return ((num << 20) | (rs1 << 15) | (funct3 << 12) | ((rd & 31) << 7) | 0x73) >>> 0;
  }

  protected isSemihostingCall(pc: number): boolean {
    const before = this.peek32((pc - 4) | 0);
    const after = this.peek32((pc + 4) | 0);
    return before === SEMIHOST_PRE && after === SEMIHOST_POST;
  }

  /** Reads a code word without side effects or faults (NaN when not fetchable). */
  protected peek32(addr: number): number {
    const lo = this.fetch16(addr);
    const hi = this.fetch16((addr + 2) | 0);
    return (lo | (hi << 16)) >>> 0;
  }
}
