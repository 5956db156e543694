import { Csr } from "./csr-numbers.js";
import { Pmp } from "./pmp.js";
import { Privilege } from "./privilege.js";
import { INTERRUPT_BIT, Interrupt } from "./trap-causes.js";
import { TINFO, Triggers } from "./triggers.js";

/** mstatus fields the hart implements. */
export const MSTATUS = {
  SIE: 1 << 1,
  MIE: 1 << 3,
  SPIE: 1 << 5,
  MPIE: 1 << 7,
  SPP: 1 << 8,
  MPP: 3 << 11,
  MPRV: 1 << 17,
  SUM: 1 << 18,
  MXR: 1 << 19,
  TVM: 1 << 20,
  TW: 1 << 21,
  TSR: 1 << 22,
} as const;
const MSTATUS_WRITABLE =
  MSTATUS.SIE |
  MSTATUS.MIE |
  MSTATUS.SPIE |
  MSTATUS.MPIE |
  MSTATUS.SPP |
  MSTATUS.MPP |
  MSTATUS.MPRV |
  MSTATUS.SUM |
  MSTATUS.MXR |
  MSTATUS.TVM |
  MSTATUS.TW |
  MSTATUS.TSR;
/** The part of mstatus that sstatus shows. */
const SSTATUS_MASK = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SUM | MSTATUS.MXR;
const MPP_SHIFT = 11;
/** The mstatus bits that decide how loads and stores are translated (with the privilege). */
const TRANSLATION_BITS = MSTATUS.MPRV | MSTATUS.SUM | MSTATUS.MXR | MSTATUS.MPP;

const bit = (code: number): number => 1 << code;
const M_INTERRUPTS =
  bit(Interrupt.MachineSoftware) | bit(Interrupt.MachineTimer) | bit(Interrupt.MachineExternal);
const S_INTERRUPTS =
  bit(Interrupt.SupervisorSoftware) | bit(Interrupt.SupervisorTimer) | bit(Interrupt.SupervisorExternal);
/** Exceptions M-mode may delegate: all but ecall-from-M and the reserved codes 10 and 14. */
const DELEGABLE_EXCEPTIONS = 0xb3ff;
/** Interrupt priority, highest first (privileged spec 3.1.9). */
const PRIORITY = [
  Interrupt.MachineExternal,
  Interrupt.MachineSoftware,
  Interrupt.MachineTimer,
  Interrupt.SupervisorExternal,
  Interrupt.SupervisorSoftware,
  Interrupt.SupervisorTimer,
] as const;

/** misa: MXL=1 (RV32) and the extensions I, M, A, C, supervisor S and user U. */
export const MISA = ((1 << 30) | bit(0) | bit(2) | bit(8) | bit(12) | bit(18) | bit(20)) >>> 0;

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
 * The control and status registers of machine and supervisor mode, trap entry with
 * delegation, `mret`/`sret`, and interrupt selection. Reads return NaN and writes false
 * when the access is illegal (unknown CSR, too little privilege, read-only CSR, a
 * trapped satp access), which the hart turns into an illegal-instruction trap.
 */
export class CsrFile {
  mstatus = 0;
  medeleg = 0;
  mideleg = 0;
  mie = 0;
  /** Pending interrupts; devices set MTIP/MSIP/MEIP/SEIP through `setPending`. */
  mip = 0;
  mtvec = 0;
  mepc = 0;
  mcause = 0;
  mtval = 0;
  mscratch = 0;
  mcounteren = 0;
  mcountinhibit = 0;
  stvec = 0;
  sepc = 0;
  scause = 0;
  stval = 0;
  sscratch = 0;
  scounteren = 0;
  satp = 0;
  /** Added to the hart's counts so that writes to mcycle/minstret stick. */
  cycleOffset = 0;
  instretOffset = 0;
  hartId = 0;
  readonly pmp = new Pmp();
  /** The debug triggers (tselect, tdata1-3, tinfo); a change arms or disarms the hart's checks. */
  readonly triggers = new Triggers();
  /** Current privilege level; trap entry and return change it. */
  priv: Privilege = Privilege.Machine;
  /**
   * Called after privilege, MPRV/MPP, SUM or MXR changed (`contextOnly`: the translation
   * context changed, translations of other contexts stay valid) or after satp or PMP
   * was written (everything translated so far must be forgotten).
   */
  onTranslationChange: (contextOnly?: boolean) => void = () => {};

  constructor(private readonly counters: CounterSource) {}

  read(num: number): number {
    if (((num >>> 8) & 3) > this.priv) return Number.NaN;
    switch (num) {
      case Csr.mstatus:
        return this.mstatus | 0;
      case Csr.mstatush:
      case Csr.menvcfg:
      case Csr.menvcfgh:
      case Csr.senvcfg:
        return 0;
      case Csr.misa:
        return MISA | 0;
      case Csr.medeleg:
        return this.medeleg | 0;
      case Csr.mideleg:
        return this.mideleg | 0;
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
      case Csr.sstatus:
        return this.mstatus & SSTATUS_MASK;
      case Csr.sie:
        return this.mie & this.mideleg;
      case Csr.sip:
        return this.mip & this.mideleg;
      case Csr.stvec:
        return this.stvec | 0;
      case Csr.sepc:
        return this.sepc | 0;
      case Csr.scause:
        return this.scause | 0;
      case Csr.stval:
        return this.stval | 0;
      case Csr.sscratch:
        return this.sscratch | 0;
      case Csr.scounteren:
        return this.scounteren | 0;
      case Csr.satp:
        if (this.priv === Privilege.Supervisor && this.mstatus & MSTATUS.TVM) return Number.NaN;
        return this.satp | 0;
      case Csr.cycle:
      case Csr.cycleh:
      case Csr.instret:
      case Csr.instreth:
      case Csr.time:
      case Csr.timeh:
        return this.readUserCounter(num);
      case Csr.tselect:
        return this.triggers.select;
      case Csr.tdata1:
        return this.triggers.tdata1[this.triggers.select]! | 0;
      case Csr.tdata2:
        return this.triggers.tdata2[this.triggers.select]! | 0;
      case Csr.tdata3:
        return 0;
      case Csr.tinfo:
        return TINFO;
      default:
        if (num >= 0x3a0 && num <= 0x3ef) return this.pmp.read(num);
        return Number.NaN;
    }
  }

  private readUserCounter(num: number): number {
    const index = num & 0x1f;
    if (this.priv < Privilege.Machine && ((this.mcounteren >>> index) & 1) === 0) return Number.NaN;
    if (this.priv === Privilege.User && ((this.scounteren >>> index) & 1) === 0) return Number.NaN;
    const high = (num & 0x80) !== 0;
    let value: number;
    if (index === 0) value = this.counters.cycles() + this.cycleOffset;
    else if (index === 2) value = this.counters.instret() + this.instretOffset;
    else value = this.counters.time();
    if (Number.isNaN(value)) return value;
    return high ? hi32(value) : lo32(value);
  }

  private writeMstatus(v: number, mask: number): void {
    let next = (this.mstatus & ~mask) | (v & mask);
    const mpp = (next >>> MPP_SHIFT) & 3;
    if (mpp === 2) next = (next & ~MSTATUS.MPP) | (this.mstatus & MSTATUS.MPP); // reserved encoding
    this.enter(next, this.priv);
  }

  /**
   * The one way mstatus and the privilege change together (CSR writes, traps, xRET): the
   * data accesses' translation context (privilege, MPRV with MPP, SUM, MXR) is
   * re-evaluated whenever any part of it changed. A trap from M into M under MPRV=1 keeps
   * the privilege but sets MPP to M: the handler's loads and stores are then M-mode ones.
   */
  private enter(status: number, priv: Privilege): void {
    const changed = priv !== this.priv || ((status ^ this.mstatus) & TRANSLATION_BITS) !== 0;
    this.mstatus = status >>> 0;
    this.priv = priv;
    if (changed) this.onTranslationChange(true);
  }

  write(num: number, value: number): boolean {
    if (((num >>> 8) & 3) > this.priv || num >>> 10 === 3) return false;
    const v = value | 0;
    switch (num) {
      case Csr.mstatus:
        this.writeMstatus(v, MSTATUS_WRITABLE);
        return true;
      case Csr.mstatush:
      case Csr.misa: // WARL: the extensions cannot be switched off
      case Csr.menvcfg:
      case Csr.menvcfgh:
      case Csr.senvcfg:
        return true;
      case Csr.medeleg:
        this.medeleg = v & DELEGABLE_EXCEPTIONS;
        return true;
      case Csr.mideleg:
        this.mideleg = v & S_INTERRUPTS;
        return true;
      case Csr.mie:
        this.mie = v & (M_INTERRUPTS | S_INTERRUPTS);
        return true;
      case Csr.mip: // only the supervisor bits are software-writable
        this.mip = ((this.mip & ~S_INTERRUPTS) | (v & S_INTERRUPTS)) >>> 0;
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
      case Csr.mcycle:
      case Csr.mcycleh:
        this.cycleOffset = this.counterWrite(
          this.counters.cycles(),
          this.cycleOffset,
          v,
          num === Csr.mcycleh,
        );
        return true;
      case Csr.minstret:
      case Csr.minstreth:
        this.instretOffset = this.counterWrite(
          this.counters.instret(),
          this.instretOffset,
          v,
          num === Csr.minstreth,
        );
        return true;
      case Csr.sstatus:
        this.writeMstatus(v, SSTATUS_MASK);
        return true;
      case Csr.sie:
        this.mie = ((this.mie & ~this.mideleg) | (v & this.mideleg)) >>> 0;
        return true;
      case Csr.sip: {
        const writable = this.mideleg & bit(Interrupt.SupervisorSoftware);
        this.mip = ((this.mip & ~writable) | (v & writable)) >>> 0;
        return true;
      }
      case Csr.stvec:
        if ((v & 3) < 2) this.stvec = v >>> 0;
        return true;
      case Csr.sepc:
        this.sepc = (v & ~1) >>> 0;
        return true;
      case Csr.scause:
        this.scause = v >>> 0;
        return true;
      case Csr.stval:
        this.stval = v >>> 0;
        return true;
      case Csr.sscratch:
        this.sscratch = v >>> 0;
        return true;
      case Csr.scounteren:
        this.scounteren = v >>> 0;
        return true;
      case Csr.satp:
        if (this.priv === Privilege.Supervisor && this.mstatus & MSTATUS.TVM) return false;
        this.satp = v >>> 0;
        this.onTranslationChange();
        return true;
      case Csr.tselect:
        this.triggers.writeSelect(v);
        return true;
      case Csr.tdata1:
        this.triggers.writeTdata1(v);
        // The hart's checks on fetches and accesses follow what is armed.
        this.onTranslationChange();
        return true;
      case Csr.tdata2:
        this.triggers.writeTdata2(v);
        return true;
      case Csr.tdata3:
      case Csr.tinfo:
        return true;
      default:
        if (num >= 0x3a0 && num <= 0x3ef) {
          this.pmp.write(num, v);
          this.onTranslationChange();
          return true;
        }
        return false;
    }
  }

  /** The new offset that makes a 64-bit counter read `v` in its low or high half now. */
  private counterWrite(base: number, offset: number, v: number, high: boolean): number {
    const now = base + offset;
    if (high) return offset + ((v >>> 0) - Math.floor(now / TWO32)) * TWO32;
    return offset + (v >>> 0) - (now % TWO32);
  }

  /**
   * Enters the trap handler for `cause` taken at `pc` in the current mode: S-mode when
   * the trap is delegated and the hart is not in M-mode, else M-mode. Returns the new pc.
   */
  enterTrap(cause: number, tval: number, pc: number): number {
    const isInterrupt = (cause & INTERRUPT_BIT) !== 0;
    const code = cause & 0x7fffffff;
    const delegated =
      this.priv !== Privilege.Machine && ((isInterrupt ? this.mideleg : this.medeleg) >>> code) & 1;
    const from = this.priv;
    let vector: number;
    if (delegated) {
      let status = this.mstatus & ~(MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SIE);
      if (this.mstatus & MSTATUS.SIE) status |= MSTATUS.SPIE;
      if (from === Privilege.Supervisor) status |= MSTATUS.SPP;
      this.sepc = pc >>> 0;
      this.scause = cause >>> 0;
      this.stval = tval >>> 0;
      this.enter(status, Privilege.Supervisor);
      vector = this.stvec;
    } else {
      let status = this.mstatus & ~(MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MIE);
      if (this.mstatus & MSTATUS.MIE) status |= MSTATUS.MPIE;
      status |= from << MPP_SHIFT;
      this.mepc = pc >>> 0;
      this.mcause = cause >>> 0;
      this.mtval = tval >>> 0;
      this.enter(status, Privilege.Machine);
      vector = this.mtvec;
    }
    const base = (vector & ~3) >>> 0;
    if (isInterrupt && (vector & 3) === 1) return (base + 4 * code) | 0;
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
    this.enter(next, mpp);
    return this.mepc | 0;
  }

  /** `sret`: returns the pc to resume at. The caller checks privilege and TSR first. */
  returnFromSupervisor(): number {
    const status = this.mstatus;
    const spp = status & MSTATUS.SPP ? Privilege.Supervisor : Privilege.User;
    let next = status & ~(MSTATUS.SIE | MSTATUS.SPP | MSTATUS.MPRV);
    if (status & MSTATUS.SPIE) next |= MSTATUS.SIE;
    next |= MSTATUS.SPIE;
    this.enter(next, spp);
    return this.sepc | 0;
  }

  /**
   * The interrupt to take now, as an mcause value, or 0 when none is pending, enabled
   * and allowed at the current privilege (privileged spec 3.1.9).
   */
  pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return 0;
    const mEnabled = this.priv < Privilege.Machine || (this.mstatus & MSTATUS.MIE) !== 0;
    const sEnabled =
      this.priv < Privilege.Supervisor ||
      (this.priv === Privilege.Supervisor && (this.mstatus & MSTATUS.SIE) !== 0);
    const toM = mEnabled ? pending & ~this.mideleg : 0;
    const toS = sEnabled ? pending & this.mideleg : 0;
    const candidates = toM | toS;
    if (candidates === 0) return 0;
    for (const code of PRIORITY) if (candidates & bit(code)) return (INTERRUPT_BIT | code) >>> 0;
    return 0;
  }

  /** Whether `wfi` may stop waiting: some interrupt is pending and enabled in mie. */
  interruptWaiting(): boolean {
    return (this.mip & this.mie) !== 0;
  }

  /** Sets or clears a device-driven bit of mip (MSIP, MTIP, MEIP, SEIP, STIP). */
  setPending(code: number, level: boolean): void {
    if (level) this.mip = (this.mip | bit(code)) >>> 0;
    else this.mip = (this.mip & ~bit(code)) >>> 0;
  }
}
