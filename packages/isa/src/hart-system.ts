import { HartMemory, NO_FAULT, SINK } from "./hart-memory.js";
import { Access } from "./mmu.js";
import { Op } from "./ops.js";
import { Exception } from "./trap-causes.js";
import { TriggerAccess } from "./triggers.js";

/** The semihosting sequence around an `ebreak`: `slli x0,x0,0x1f` before, `srai x0,x0,7` after. */
export const SEMIHOST_PRE = 0x01f01013;
export const SEMIHOST_POST = 0x40705013;

/**
 * The instructions the run loop hands off its hot path: the A extension (LR/SC and
 * AMOs, through the checked memory path) and Zicsr, plus recognising semihosting calls.
 */
export abstract class HartSystem extends HartMemory {
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
