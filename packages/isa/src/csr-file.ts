import { Csr } from "./csr-numbers.js";
import { Privilege } from "./privilege.js";
import { INTERRUPT_BIT, Interrupt } from "./trap-causes.js";

/** mstatus bits the hart implements (machine and user modes). */
export const MSTATUS = {
  MIE: 1 << 3,
  MPIE: 1 << 7,
  MPP: 3 << 11,
  MPRV: 1 << 17,
  TW: 1 << 21,
} as const;
const MSTATUS_WRITABLE = MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MPRV | MSTATUS.TW;
const MPP_SHIFT = 11;

/** Machine-level interrupt enable / pending bits. */
const MIP_MSIP = 1 << Interrupt.MachineSoftware;
const MIP_MTIP = 1 << Interrupt.MachineTimer;
const MIP_MEIP = 1 << Interrupt.MachineExternal;
const MIE_WRITABLE = MIP_MSIP | MIP_MTIP | MIP_MEIP;

/** misa: MXL=1 (RV32) and the extensions I, M, A, C and user mode U. */
export const MISA = ((1 << 30) | (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 20)) >>> 0;

/** Where the counters come from; the hart derives them from its step count. */
export interface CounterSource {
  /** Steps taken (retired or trapped instructions): `cycle`. */
  cycles(): number;
  /** Instructions retired: `instret`. */
  instret(): number;
  /** Guest time in ticks for the `time` CSR, or NaN when the board gives the hart none. */
  time(): number;
}

const TWO32 = 0x1_0000_0000;
const hi32 = (v: number): number => Math.floor(v / TWO32) | 0;
const lo32 = (v: number): number => (v % TWO32) | 0;

/**
 * The machine-mode control and status registers, trap entry and `mret`. Reads return
 * NaN and writes false when the access is illegal (unknown CSR, too little privilege,
 * write to a read-only CSR), which the hart turns into an illegal-instruction trap.
 */
export class CsrFile {
  mstatus = 0;
  mie = 0;
  /** Pending interrupts; the board sets MTIP/MSIP/MEIP through `setPending`. */
  mip = 0;
  mtvec = 0;
  mepc = 0;
  mcause = 0;
  mtval = 0;
  mscratch = 0;
  mcounteren = 0;
  mcountinhibit = 0;
  /** Added to the hart's counts so that writes to mcycle/minstret stick. */
  cycleOffset = 0;
  instretOffset = 0;
  hartId = 0;

  constructor(private readonly counters: CounterSource) {}

  /** Current privilege level; kept here because trap entry and return change it. */
  priv: Privilege = Privilege.Machine;

  read(num: number): number {
    if (((num >>> 8) & 3) > this.priv) return Number.NaN;
    switch (num) {
      case Csr.mstatus:
        return this.mstatus | 0;
      case Csr.mstatush:
        return 0;
      case Csr.misa:
        return MISA | 0;
      case Csr.mie:
        return this.mie | 0;
      case Csr.mip:
        return this.mip | 0;
      case Csr.mtvec:
        return this.mtvec | 0;
      case Csr.mepc:
        return this.mepc | 0;
      case Csr.mcause:
        return this.mcause | 0;
      case Csr.mtval:
        return this.mtval | 0;
      case Csr.mscratch:
        return this.mscratch | 0;
      case Csr.mcounteren:
        return this.mcounteren | 0;
      case Csr.mcountinhibit:
        return this.mcountinhibit | 0;
      case Csr.mvendorid:
      case Csr.marchid:
      case Csr.mimpid:
      case Csr.mconfigptr:
        return 0;
      case Csr.mhartid:
        return this.hartId | 0;
      case Csr.mcycle:
        return lo32(this.counters.cycles() + this.cycleOffset);
      case Csr.mcycleh:
        return hi32(this.counters.cycles() + this.cycleOffset);
      case Csr.minstret:
        return lo32(this.counters.instret() + this.instretOffset);
      case Csr.minstreth:
        return hi32(this.counters.instret() + this.instretOffset);
      case Csr.cycle:
      case Csr.cycleh:
      case Csr.instret:
      case Csr.instreth:
      case Csr.time:
      case Csr.timeh:
        return this.readUserCounter(num);
      default:
        return Number.NaN;
    }
  }

  private readUserCounter(num: number): number {
    const index = num & 0x1f;
    if (this.priv < Privilege.Machine && ((this.mcounteren >>> index) & 1) === 0) return Number.NaN;
    const high = (num & 0x80) !== 0;
    let value: number;
    if (index === 0) value = this.counters.cycles() + this.cycleOffset;
    else if (index === 2) value = this.counters.instret() + this.instretOffset;
    else value = this.counters.time();
    if (Number.isNaN(value)) return value;
    return high ? hi32(value) : lo32(value);
  }

  write(num: number, value: number): boolean {
    if (((num >>> 8) & 3) > this.priv || num >>> 10 === 3) return false;
    const v = value | 0;
    switch (num) {
      case Csr.mstatus: {
        let next = (this.mstatus & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
        const mpp = (next >>> MPP_SHIFT) & 3;
        if (mpp !== Privilege.Machine && mpp !== Privilege.User) {
          next = (next & ~MSTATUS.MPP) | (this.mstatus & MSTATUS.MPP);
        }
        this.mstatus = next >>> 0;
        return true;
      }
      case Csr.mstatush:
      case Csr.misa: // WARL: the extensions cannot be switched off
        return true;
      case Csr.mie:
        this.mie = v & MIE_WRITABLE;
        return true;
      case Csr.mip: // MSIP/MTIP/MEIP are driven by devices, not software
        return true;
      case Csr.mtvec:
        // Modes 2 and 3 are reserved; like QEMU, ignore such a write.
        if ((v & 3) < 2) this.mtvec = v >>> 0;
        return true;
      case Csr.mepc:
        this.mepc = (v & ~1) >>> 0;
        return true;
      case Csr.mcause:
        this.mcause = v >>> 0;
        return true;
      case Csr.mtval:
        this.mtval = v >>> 0;
        return true;
      case Csr.mscratch:
        this.mscratch = v >>> 0;
        return true;
      case Csr.mcounteren:
        this.mcounteren = v >>> 0;
        return true;
      case Csr.mcountinhibit:
        return true;
      case Csr.mcycle: {
        const now = this.counters.cycles() + this.cycleOffset;
        this.cycleOffset += (v >>> 0) - (now % TWO32);
        return true;
      }
      case Csr.mcycleh: {
        const now = this.counters.cycles() + this.cycleOffset;
        this.cycleOffset += ((v >>> 0) - Math.floor(now / TWO32)) * TWO32;
        return true;
      }
      case Csr.minstret: {
        const now = this.counters.instret() + this.instretOffset;
        this.instretOffset += (v >>> 0) - (now % TWO32);
        return true;
      }
      case Csr.minstreth: {
        const now = this.counters.instret() + this.instretOffset;
        this.instretOffset += ((v >>> 0) - Math.floor(now / TWO32)) * TWO32;
        return true;
      }
      default:
        return false;
    }
  }

  /** Enters the machine-mode trap handler; returns the new pc. */
  enterTrap(cause: number, tval: number, pc: number): number {
    const isInterrupt = (cause & INTERRUPT_BIT) !== 0;
    const mie = (this.mstatus & MSTATUS.MIE) !== 0;
    let status = this.mstatus & ~(MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MIE);
    if (mie) status |= MSTATUS.MPIE;
    status |= this.priv << MPP_SHIFT;
    this.mstatus = status >>> 0;
    this.mepc = pc >>> 0;
    this.mcause = cause >>> 0;
    this.mtval = tval >>> 0;
    this.priv = Privilege.Machine;
    const base = (this.mtvec & ~3) >>> 0;
    if (isInterrupt && (this.mtvec & 3) === 1) return (base + 4 * (cause & 0x7fffffff)) | 0;
    return base | 0;
  }

  /** `mret`: returns the pc to resume at. The caller checks the privilege first. */
  returnFromTrap(): number {
    const status = this.mstatus;
    const mpp = ((status >>> MPP_SHIFT) & 3) as Privilege;
    let next = status & ~(MSTATUS.MIE | MSTATUS.MPP);
    if (status & MSTATUS.MPIE) next |= MSTATUS.MIE;
    next |= MSTATUS.MPIE; // MPP := least privileged mode (U) = 0
    if (mpp !== Privilege.Machine) next &= ~MSTATUS.MPRV;
    this.mstatus = next >>> 0;
    this.priv = mpp;
    return this.mepc | 0;
  }

  /**
   * The interrupt to take now, as an mcause value, or 0 when none is both pending and
   * enabled. Priority order of the spec: MEI, MSI, MTI.
   */
  pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return 0;
    if (this.priv === Privilege.Machine && (this.mstatus & MSTATUS.MIE) === 0) return 0;
    for (const code of [Interrupt.MachineExternal, Interrupt.MachineSoftware, Interrupt.MachineTimer]) {
      if (pending & (1 << code)) return (INTERRUPT_BIT | code) >>> 0;
    }
    return 0;
  }

  /** Sets or clears a device-driven bit of mip (MSIP, MTIP, MEIP). */
  setPending(code: number, level: boolean): void {
    if (level) this.mip = (this.mip | (1 << code)) >>> 0;
    else this.mip = (this.mip & ~(1 << code)) >>> 0;
  }
}
