import { JIT_MASK } from "./block-cache.js";
import type { Bus } from "./bus.js";
import { DC_EMPTY } from "./decode-cache.js";
import { HartCode, type HartCodeOptions } from "./hart-code.js";
import { NO_FAULT } from "./hart-memory.js";
import { TLB_MASK } from "./mmu.js";
import { mulhu } from "./mul-high.js";
import { Op } from "./ops.js";
import { StopReason } from "./stop-reason.js";

export interface HartOptions extends HartCodeOptions {
  /** Stop at semihosting `ebreak` sequences instead of trapping (default true). */
  semihosting?: boolean;
}

/**
 * One RV32IMAC hart with Zicsr and Zifencei, machine and user modes.
 *
 * `run(budget)` executes at most `budget` steps (a step retires an instruction or takes
 * a trap) and never looks at a clock, so the same state and input always give the same
 * result. Registers live in an Int32Array; x0 stays zero because decoding sends writes
 * to it to a sink register.
 */
export class Hart extends HartCode {
  constructor(bus: Bus, options: HartOptions = {}) {
    super(bus, options);
    this.semihosting = options.semihosting ?? true;
  }

  /** Steps taken, including those of a `run` in progress (as of its last device or CSR access). */
  get liveSteps(): number {
    return this.steps + this.runSteps;
  }

  /** Instructions retired since reset (`minstret` before guest writes). */
  get instret(): number {
    return this.steps - this.traps;
  }

  /** Asks a running `run` to return after the current instruction (devices call this). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /**
   * Runs until `budget` steps are taken or something needs the board's attention.
   * Returns why it stopped; `steps` tells how far it got.
   */
  run(budget: number): StopReason {
    const x = this.file;
    if (this.decode.crowded) this.growDecodeCache();
    // The decode cache stays the same object for the whole run (a flush empties it in place).
    const { tags: tag, data, mask } = this.decode;
    const ramBase = this.ramBase;
    const ramSize = this.ramSize;
    const pages8 = this.pages8;
    const pages16 = this.pages16;
    const pages32 = this.pages32;
    const fastWrite = this.fastWrite;
    let pc = this.pc | 0;
    let n = 0;
    let reason: StopReason = StopReason.Budget;
    this.stopRequested = false;
    // Where straight-line execution goes next: a pc reached otherwise (a jump, a taken
    // branch, a trap) starts a block, and only block starts count towards compiling a
    // region there (resume points after a slice or a region exit would be junk entries).
    let seq = pc;

    pc = this.afterControlChange(pc);

    loop: while (n < budget) {
      // Compiled code runs where there is some (or the pc just became hot); it returns
      // at the first instruction it leaves to the interpreter, which runs it below.
      // The compiler for the current mode (traps and CSR writes may switch it).
      const jit = this.jit;
      if (jit !== undefined) {
        const j = (pc >>> 1) & JIT_MASK;
        let compiled = jit.tag[j] === pc;
        if (!compiled && pc !== seq) {
          // A block start: count it (more when reached backwards, see `loopWeight`).
          const heat = jit.hot[j]! + (pc >>> 0 < seq >>> 0 ? jit.loopWeight : 1);
          jit.hot[j] = heat;
          compiled = heat >= jit.hotness;
        }
        if (compiled) {
          pc = jit.enter(pc, budget - n);
          n += jit.steps;
          this.compiledSteps += jit.steps;
          if (n >= budget) break;
        }
      }
      const i = (pc >>> 1) & mask;
      let key = pc;
      if (this.checkedFetch) {
        // A fetch TLB hit needs no other check (when nothing else applies: tlbFetch).
        const vpn = pc >>> 12;
        const slot = vpn & TLB_MASK;
        if (this.tlbFetch && this.fetchTags[slot] === vpn) key = this.fetchFrames[slot]! | (pc & 0xfff);
        else {
          key = this.checkedFetchAddress(pc);
          if (key === -1 && this.faultCause !== NO_FAULT) {
            pc = this.takeFault(pc);
            n++;
            continue;
          }
        }
        // A slot never filled holds tag 0 (see DecodeCache), which a virtual pc
        // mapped to physical 0 would match: there, always fill (and fault).
        if (key === 0) tag[i] = DC_EMPTY;
      }
      if (tag[i] !== key && !this.fill(pc, i, key)) {
        if (pc === (this.csr.mtvec & ~3)) {
          this.faultCause = NO_FAULT;
          reason = StopReason.UnhandledTrap;
          break;
        }
        pc = this.takeFault(pc);
        n++;
        continue;
      }
      const w = data[2 * i]!;
      const op = w & 0xff;
      const rd = (w >>> 8) & 63;
      const rs1 = (w >>> 14) & 31;
      const rs2 = (w >>> 19) & 31;
      const imm = data[2 * i + 1]!;
      let next = (pc + (w >>> 24)) | 0;
      seq = next;

      // RAM loads and stores are written out in their cases (with the page arrays in
      // locals) because they are most of what a guest does, physical (inline) or through
      // a TLB hit (loadOffset, storeOffset); the methods handle the rest (TLB misses, devices,
      // faults, misaligned accesses, watched code pages, pages not yet dirty).
      switch (op) {
        case Op.LUI:
          x[rd] = imm;
          break;
        case Op.AUIPC:
          x[rd] = (pc + imm) | 0;
          break;
        case Op.JAL:
          x[rd] = next;
          next = (pc + imm) | 0;
          break;
        case Op.JALR: {
          const target = ((x[rs1]! + imm) & ~1) | 0;
          x[rd] = next;
          next = target;
          break;
        }
        case Op.BEQ:
          if (x[rs1] === x[rs2]) next = (pc + imm) | 0;
          break;
        case Op.BNE:
          if (x[rs1] !== x[rs2]) next = (pc + imm) | 0;
          break;
        case Op.BLT:
          if (x[rs1]! < x[rs2]!) next = (pc + imm) | 0;
          break;
        case Op.BGE:
          if (x[rs1]! >= x[rs2]!) next = (pc + imm) | 0;
          break;
        case Op.BLTU:
          if (x[rs1]! >>> 0 < x[rs2]! >>> 0) next = (pc + imm) | 0;
          break;
        case Op.BGEU:
          if (x[rs1]! >>> 0 >= x[rs2]! >>> 0) next = (pc + imm) | 0;
          break;
        case Op.LB: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.loadOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize) {
            const page = pages8[off >>> 12];
            if (page !== undefined) {
              x[rd] = (page[off & 4095]! << 24) >> 24;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld8(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = (v << 24) >> 24;
          break;
        }
        case Op.LH: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.loadOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize && (a & 1) === 0) {
            const page = pages16[off >>> 12];
            if (page !== undefined) {
              x[rd] = (page[(off >>> 1) & 2047]! << 16) >> 16;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld16(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = (v << 16) >> 16;
          break;
        }
        case Op.LW: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.loadOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize && (a & 3) === 0) {
            const page = pages32[off >>> 12];
            if (page !== undefined) {
              x[rd] = page[(off >>> 2) & 1023]!;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld32(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = v;
          break;
        }
        case Op.LBU: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.loadOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize) {
            const page = pages8[off >>> 12];
            if (page !== undefined) {
              x[rd] = page[off & 4095]!;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld8(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = v;
          break;
        }
        case Op.LHU: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.loadOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize && (a & 1) === 0) {
            const page = pages16[off >>> 12];
            if (page !== undefined) {
              x[rd] = page[(off >>> 1) & 2047]!;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld16(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = v;
          break;
        }
        case Op.SB: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.storeOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize && fastWrite[off >>> 12] === 1) {
            pages8[off >>> 12]![off & 4095] = x[rs2]!;
            break;
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          if (!this.st8(a, x[rs2]!)) {
            if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
            else {
              pc = next;
              n++;
              reason = StopReason.Requested;
              break loop;
            }
          }
          break;
        }
        case Op.SH: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.storeOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize && (a & 1) === 0 && fastWrite[off >>> 12] === 1) {
            pages16[off >>> 12]![(off >>> 1) & 2047] = x[rs2]!;
            break;
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          if (!this.st16(a, x[rs2]!)) {
            if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
            else {
              pc = next;
              n++;
              reason = StopReason.Requested;
              break loop;
            }
          }
          break;
        }
        case Op.SW: {
          const a = (x[rs1]! + imm) | 0;
          const off = this.checkedData ? this.storeOffset(a) : (a - ramBase) >>> 0;
          if (off < ramSize && (a & 3) === 0 && fastWrite[off >>> 12] === 1) {
            pages32[off >>> 12]![(off >>> 2) & 1023] = x[rs2]!;
            break;
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          if (!this.st32(a, x[rs2]!)) {
            if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
            else {
              pc = next;
              n++;
              reason = StopReason.Requested;
              break loop;
            }
          }
          break;
        }
        case Op.ADDI:
          x[rd] = (x[rs1]! + imm) | 0;
          break;
        case Op.SLTI:
          x[rd] = x[rs1]! < imm ? 1 : 0;
          break;
        case Op.SLTIU:
          x[rd] = x[rs1]! >>> 0 < imm >>> 0 ? 1 : 0;
          break;
        case Op.XORI:
          x[rd] = x[rs1]! ^ imm;
          break;
        case Op.ORI:
          x[rd] = x[rs1]! | imm;
          break;
        case Op.ANDI:
          x[rd] = x[rs1]! & imm;
          break;
        case Op.SLLI:
          x[rd] = x[rs1]! << imm;
          break;
        case Op.SRLI:
          x[rd] = x[rs1]! >>> imm;
          break;
        case Op.SRAI:
          x[rd] = x[rs1]! >> imm;
          break;
        case Op.ADD:
          x[rd] = (x[rs1]! + x[rs2]!) | 0;
          break;
        case Op.SUB:
          x[rd] = (x[rs1]! - x[rs2]!) | 0;
          break;
        case Op.SLL:
          x[rd] = x[rs1]! << (x[rs2]! & 31);
          break;
        case Op.SLT:
          x[rd] = x[rs1]! < x[rs2]! ? 1 : 0;
          break;
        case Op.SLTU:
          x[rd] = x[rs1]! >>> 0 < x[rs2]! >>> 0 ? 1 : 0;
          break;
        case Op.XOR:
          x[rd] = x[rs1]! ^ x[rs2]!;
          break;
        case Op.SRL:
          x[rd] = x[rs1]! >>> (x[rs2]! & 31);
          break;
        case Op.SRA:
          x[rd] = x[rs1]! >> (x[rs2]! & 31);
          break;
        case Op.OR:
          x[rd] = x[rs1]! | x[rs2]!;
          break;
        case Op.AND:
          x[rd] = x[rs1]! & x[rs2]!;
          break;
        case Op.MUL:
          x[rd] = Math.imul(x[rs1]!, x[rs2]!);
          break;
        case Op.MULH: {
          const a = x[rs1]!;
          const b = x[rs2]!;
          x[rd] = (mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
          break;
        }
        case Op.MULHSU: {
          const a = x[rs1]!;
          x[rd] = (mulhu(a, x[rs2]!) - (a < 0 ? x[rs2]! : 0)) | 0;
          break;
        }
        case Op.MULHU:
          x[rd] = mulhu(x[rs1]!, x[rs2]!);
          break;
        case Op.DIV: {
          const a = x[rs1]!;
          const b = x[rs2]!;
          if (b === 0) x[rd] = -1;
          else if (b === -1)
            x[rd] = -a | 0; // INT_MIN / -1 wraps to INT_MIN
          else x[rd] = (a / b) | 0;
          break;
        }
        case Op.DIVU: {
          const b = x[rs2]! >>> 0;
          x[rd] = b === 0 ? -1 : ((x[rs1]! >>> 0) / b) | 0;
          break;
        }
        case Op.REM: {
          const a = x[rs1]!;
          const b = x[rs2]!;
          if (b === 0) x[rd] = a;
          else if (b === -1) x[rd] = 0;
          else x[rd] = (a % b) | 0;
          break;
        }
        case Op.REMU: {
          const b = x[rs2]! >>> 0;
          x[rd] = b === 0 ? x[rs1]! : ((x[rs1]! >>> 0) % b) | 0;
          break;
        }
        case Op.FENCE:
          break;
        default:
          // The rest (system, CSR and atomic instructions, and illegal ones) are rare: a
          // method of their own keeps this loop small for the optimising compiler.
          next = this.system(op, w, rd, rs1, rs2, imm, pc, next, n);
          if (this.stopReason !== StopReason.Budget) {
            reason = this.stopReason;
            this.stopReason = StopReason.Budget;
            pc = next;
            n++;
            break loop;
          }
          break;
      }
      pc = next;
      n++;
    }
    this.pc = pc;
    this.steps += n;
    this.runSteps = 0;
    return reason;
  }
}
