import type { Bus, RamWindow } from "./bus.js";
import { CsrFile } from "./csr-file.js";
import { Access, Mmu, TLB_MASK } from "./mmu.js";
import { PmpAccess } from "./pmp.js";
import { Exception } from "./trap-causes.js";
import { TriggerAccess } from "./triggers.js";

/** `faultCause` when no exception is pending. */
export const NO_FAULT = -1;
/**
 * What `loadOffset` and `storeOffset` return for an access that must take the checked
 * path: an offset beyond any RAM.
 */
export const NOT_RAM = 0xffff_ffff;
/** Register-file index that absorbs writes to x0. */
export const SINK = 32;
const PMP_OF = [PmpAccess.Execute, PmpAccess.Read, PmpAccess.Write] as const;
const ACCESS_FAULT_OF = [
  Exception.InstructionAccessFault,
  Exception.LoadAccessFault,
  Exception.StoreAccessFault,
] as const;

/** What the hart's memory side needs from its options. */
export interface HartMemoryOptions {
  hartId?: number;
  /** Source of the `time` CSR in ticks; without one, reading `time` is illegal. */
  time?: () => number;
}

/**
 * The hart's architectural state and its path to memory: registers, CSRs, traps, and
 * every load, store and fetch with Sv32 translation, PMP checks, the RAM fast paths and
 * the bus for the rest. `Hart` (hart.ts) adds the decode cache, the block compilers and
 * the run loop; `HartSystem` (hart-system.ts) the atomics and CSR instructions.
 *
 * A failing access records the exception (`fault`) and returns a neutral value; the run
 * loop then takes it (`takeFault`), so the interpreter never unwinds.
 */
export abstract class HartMemory {
  /**
   * Registers x0..x31 (a view of the first 32 entries of the register file). The file
   * has a 33rd entry: decoding turns a destination of x0 into 32, a sink nobody reads,
   * which is how x0 stays zero without a store after every instruction.
   */
  readonly x: Int32Array;
  protected readonly file = new Int32Array(33);
  pc = 0;
  readonly csr: CsrFile;
  /** Steps taken since reset (cycle counter). */
  steps = 0;
  /** Steps that took a trap instead of retiring. */
  traps = 0;
  /** LR/SC reservation: the reserved address, valid only when `reserved` is set. */
  reservation = 0;
  reserved = false;

  protected readonly bus: Bus;
  protected ramBase = 0;
  protected ramSize = 0;
  protected pages8: ReadonlyArray<Uint8Array | undefined> = [];
  protected pages16: ReadonlyArray<Uint16Array | undefined> = [];
  protected pages32: ReadonlyArray<Int32Array | undefined> = [];
  protected fastWrite: Uint8Array = new Uint8Array(0);
  protected ram: RamWindow | undefined;

  /** Pending synchronous exception raised by a memory access or decode (-1 = none). */
  protected faultCause = NO_FAULT;
  protected faultTval = 0;
  protected stopRequested = false;
  /**
   * Steps taken so far inside the current `run`, stored before anything that may read
   * the time (CSRs, device accesses); `liveSteps` adds it to `steps`.
   */
  protected runSteps = 0;
  /** Steps taken in compiled code (a statistic: what runs interpreted is `steps` minus this). */
  compiledSteps = 0;
  /** Sv32 translation; `translateFetch`/`translateData` say whether it applies right now. */
  readonly mmu: Mmu;
  protected translateFetch = false;
  protected translateData = false;
  /** PMP restricts the current mode (S/U with entries that do not allow everything). */
  protected pmpFetch = false;
  protected pmpData = false;
  /** Data accesses must go through translation, PMP or trigger checks: no direct RAM access. */
  protected checkedData = false;
  /** Fetches must go through translation, PMP or trigger checks (the interpreter's slow fetch path). */
  protected checkedFetch = false;
  /**
   * Data accesses are translated and nothing else checks them (no PMP, no armed trigger):
   * an access whose page the TLB holds may go straight to RAM (`loadOffset`, `storeOffset`).
   */
  protected tlbData = false;
  /** The same for fetches: a fetch whose page the fetch TLB holds needs no further check. */
  protected tlbFetch = false;
  /**
   * The MMU's TLBs per access kind (`Mmu.tags`, `Mmu.frames`), read inline by the run
   * loop; taken again whenever the MMU moves them (`Mmu.placeTlbs`).
   */
  protected fetchTags: Int32Array;
  protected fetchFrames: Int32Array;
  protected loadTags: Int32Array;
  protected loadFrames: Int32Array;
  protected storeTags: Int32Array;
  protected storeFrames: Int32Array;
  /** The last virtual code page translated and its frame; -1 after any translation change. */
  protected fetchPage = -1;
  protected fetchFrame = 0;
  /** The same one-entry memory for data: the last page loaded from and stored to. */
  protected loadPage = -1;
  protected loadFrame = 0;
  protected storePage = -1;
  protected storeFrame = 0;

  constructor(bus: Bus, options: HartMemoryOptions) {
    this.bus = bus;
    this.x = this.file.subarray(0, 32);
    const time = options.time;
    this.csr = new CsrFile({
      cycles: () => this.steps + this.runSteps,
      instret: () => this.steps + this.runSteps - this.traps,
      time: time ?? (() => Number.NaN),
    });
    this.csr.hartId = options.hartId ?? 0;
    const mmu = new Mmu(bus, this.csr);
    this.mmu = mmu;
    this.fetchTags = mmu.tags[Access.Fetch]!;
    this.fetchFrames = mmu.frames[Access.Fetch]!;
    this.loadTags = mmu.tags[Access.Load]!;
    this.loadFrames = mmu.frames[Access.Load]!;
    this.storeTags = mmu.tags[Access.Store]!;
    this.storeFrames = mmu.frames[Access.Store]!;
    mmu.onTlbsMoved = () => {
      this.fetchTags = mmu.tags[Access.Fetch]!;
      this.fetchFrames = mmu.frames[Access.Fetch]!;
      this.loadTags = mmu.tags[Access.Load]!;
      this.loadFrames = mmu.frames[Access.Load]!;
      this.storeTags = mmu.tags[Access.Store]!;
      this.storeFrames = mmu.frames[Access.Store]!;
    };
  }

  /**
   * With data accesses checked (`checkedData`): the RAM offset a load from virtual `a`
   * reads when it may skip every check, under translation alone with `a`'s page in the
   * load TLB (a hit allows the access and touches nothing: no walk, no A/D update). Else
   * `NOT_RAM`, and the load takes the checked path. An offset at or past `ramSize` is not
   * RAM either (a device, or a missing page the caller finds undefined: the bus answers).
   */
  protected loadOffset(a: number): number {
    const vpn = a >>> 12;
    const slot = vpn & TLB_MASK;
    if (!this.tlbData || this.loadTags[slot] !== vpn) return NOT_RAM;
    return ((this.loadFrames[slot]! | (a & 0xfff)) - this.ramBase) >>> 0;
  }

  /**
   * `loadOffset` for a store: the store TLB holds a page only once its walk allowed the
   * store and set D. The caller still checks `fastWrite` (code pages, dirty tracking).
   */
  protected storeOffset(a: number): number {
    const vpn = a >>> 12;
    const slot = vpn & TLB_MASK;
    if (!this.tlbData || this.storeTags[slot] !== vpn) return NOT_RAM;
    return ((this.storeFrames[slot]! | (a & 0xfff)) - this.ramBase) >>> 0;
  }

  /** Drops cached decodes and compiled code overlapping the bytes [a, a+size) (a store reached code). */
  protected abstract invalidateCode(a: number, size: number): void;

  /**
   * The physical address the instruction at virtual `pc` is fetched from, or -1 with
   * a fault pending (page fault, or access fault from PMP; mtval = `pc`).
   */
  protected fetchAddress(pc: number): number {
    let pa = pc >>> 0;
    if (this.translateFetch) {
      pa = this.translate(pc, Access.Fetch);
      if (pa < 0) {
        this.fault(this.mmu.faultCause, pc);
        return -1;
      }
    }
    if (this.pmpFetch && !this.csr.pmp.allows(pa, 2, PmpAccess.Execute, this.csr.priv)) {
      this.fault(Exception.InstructionAccessFault, pc);
      return -1;
    }
    return pa;
  }

  /**
   * `mmu.translate`, keeping the one-entry page memories (fetchPage, loadPage,
   * storePage) exact copies of TLB entries: a walk may replace the TLB entry one of
   * them copies (a store walk also fills the load TLB), and then it is forgotten.
   * So a memory hit is always a TLB hit, and compiled code, which looks at the TLBs
   * only and leaves the memories alone, makes the same walks the interpreter makes.
   */
  protected translate(va: number, access: Access): number {
    const mmu = this.mmu;
    const walks = mmu.walks;
    const pa = mmu.translate(va, access);
    if (mmu.walks !== walks) {
      if (!this.tlbHolds(Access.Fetch, this.fetchPage, this.fetchFrame)) this.fetchPage = -1;
      if (!this.tlbHolds(Access.Load, this.loadPage, this.loadFrame)) this.loadPage = -1;
      if (!this.tlbHolds(Access.Store, this.storePage, this.storeFrame)) this.storePage = -1;
    }
    return pa;
  }

  protected tlbHolds(access: Access, vpn: number, frame: number): boolean {
    const slot = vpn & TLB_MASK;
    return vpn !== -1 && this.mmu.tags[access]![slot] === vpn && this.mmu.frames[access]![slot] === frame;
  }

  /**
   * The physical address the run loop fetches `pc` from when the fetch TLB did not
   * answer: an armed execute trigger first (a breakpoint exception before the
   * instruction, tval 0), then the last page's frame, then `fetchAddress`. -1 with a
   * fault pending when the fetch cannot go ahead.
   */
  protected checkedFetchAddress(pc: number): number {
    const triggers = this.csr.triggers;
    if (triggers.execArmed && triggers.hitsExec(pc, this.csr.priv)) {
      this.fault(Exception.Breakpoint, 0);
      return -1;
    }
    // Most instructions come from the page the previous one came from.
    if (pc >>> 12 === this.fetchPage) return this.fetchFrame | (pc & 0xfff);
    const key = this.fetchAddress(pc) | 0;
    // Remember the page only when PMP allowed all of it (a TLB hit means it did).
    if (key !== -1 && !this.pmpFetch) {
      this.fetchPage = pc >>> 12;
      this.fetchFrame = key & ~0xfff;
    }
    return key;
  }

  /** The physical address of a data access, or -1 with a fault pending (mtval = `va`). */
  protected physicalData(va: number, size: number, access: Access): number {
    let pa = va >>> 0;
    if (this.translateData) {
      pa = this.translate(va, access);
      if (pa < 0) {
        this.fault(this.mmu.faultCause, va);
        return -1;
      }
    }
    if (this.pmpData && !this.csr.pmp.allows(pa, size, PMP_OF[access], this.mmu.dataPrivilege())) {
      this.fault(ACCESS_FAULT_OF[access], va);
      return -1;
    }
    return pa;
  }

  /** Reads physical memory for an access to virtual `va` (the fault's mtval). */
  protected readPhysical(pa: number, size: 1 | 2 | 4, va: number): number {
    const off = (pa - this.ramBase) >>> 0;
    if (off < this.ramSize && (pa & (size - 1)) === 0) {
      const pn = off >>> 12;
      if (size === 4) {
        const page = this.pages32[pn];
        if (page !== undefined) return page[(off >>> 2) & 1023]!;
      } else if (size === 2) {
        const page = this.pages16[pn];
        if (page !== undefined) return page[(off >>> 1) & 2047]!;
      } else {
        const page = this.pages8[pn];
        if (page !== undefined) return page[off & 4095]!;
      }
    }
    const v = this.bus.load(pa >>> 0, size);
    if (Number.isNaN(v)) {
      this.fault(Exception.LoadAccessFault, va);
      return 0;
    }
    return v | 0;
  }

  /** Writes physical memory for an access to virtual `va`; false on fault or stop request. */
  protected writePhysical(pa: number, size: 1 | 2 | 4, v: number, va: number): boolean {
    const off = (pa - this.ramBase) >>> 0;
    if (off < this.ramSize && (pa & (size - 1)) === 0 && this.fastWrite[off >>> 12] === 1) {
      const pn = off >>> 12;
      if (size === 4) this.pages32[pn]![(off >>> 2) & 1023] = v;
      else if (size === 2) this.pages16[pn]![(off >>> 1) & 2047] = v;
      else this.pages8[pn]![off & 4095] = v;
      return true;
    }
    this.invalidateCode(pa | 0, size);
    if (!this.bus.store(pa >>> 0, size, v)) return this.fault(Exception.StoreAccessFault, va);
    return !this.stopRequested;
  }

  /** A load under translation or PMP; a page-crossing access is done byte by byte. */
  protected loadChecked(va: number, size: 1 | 2 | 4): number {
    if (this.dataTriggerHit(va, size, TriggerAccess.Load)) return 0;
    if ((va & 0xfff) + size > 0x1000) {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) {
        const b = this.loadChecked((va + i) | 0, 1);
        if (this.faultCause !== NO_FAULT) return 0;
        v = (v << 8) | b;
      }
      return v | 0;
    }
    if (va >>> 12 === this.loadPage) return this.readPhysical(this.loadFrame | (va & 0xfff), size, va);
    const pa = this.physicalData(va, size, Access.Load);
    if (pa < 0) return 0;
    if (!this.pmpData) {
      this.loadPage = va >>> 12;
      this.loadFrame = pa & ~0xfff;
    }
    return this.readPhysical(pa, size, va);
  }

  /** A store under translation or PMP; both pages of a crossing store are checked before writing. */
  protected storeChecked(va: number, size: 1 | 2 | 4, v: number): boolean {
    if (this.dataTriggerHit(va, size, TriggerAccess.Store)) return false;
    const within = va & 0xfff;
    if (within + size > 0x1000) {
      const first = this.physicalData(va, 1, Access.Store);
      if (first < 0) return false;
      const secondVa = ((va | 0xfff) + 1) | 0;
      const second = this.physicalData(secondVa, 1, Access.Store);
      if (second < 0) return false;
      for (let i = 0; i < size; i++) {
        const pa = within + i < 0x1000 ? first + i : second + (within + i - 0x1000);
        if (!this.writePhysical(pa, 1, v >>> (8 * i), (va + i) | 0) && this.faultCause !== NO_FAULT)
          return false;
      }
      return !this.stopRequested;
    }
    if (va >>> 12 === this.storePage) return this.writePhysical(this.storeFrame | (va & 0xfff), size, v, va);
    const pa = this.physicalData(va, size, Access.Store);
    if (pa < 0) return false;
    if (!this.pmpData) {
      this.storePage = va >>> 12;
      this.storeFrame = pa & ~0xfff;
    }
    return this.writePhysical(pa, size, v, va);
  }

  /**
   * Whether an armed load/store trigger fires on this access (a breakpoint exception is
   * then pending, tval 0, taken before the access as on QEMU).
   */
  protected dataTriggerHit(va: number, size: number, kind: number): boolean {
    const t = this.csr.triggers;
    if (!t.dataArmed || !t.hitsData(va, size, kind, this.csr.priv)) return false;
    this.fault(Exception.Breakpoint, 0);
    return true;
  }

  /** The 16-bit parcel at `addr` as the hart would fetch it, or NaN. */
  protected fetch16(addr: number): number {
    const off = (addr - this.ramBase) >>> 0;
    if (off < this.ramSize) {
      const page = this.pages16[off >>> 12];
      if (page !== undefined) return page[(off >>> 1) & 2047]!;
    }
    return this.bus.fetch(addr >>> 0);
  }

  protected fault(cause: number, tval: number): false {
    this.faultCause = cause;
    this.faultTval = tval;
    return false;
  }

  /** Takes the pending exception raised at `pc`; returns the handler's address. */
  protected takeFault(pc: number): number {
    const cause = this.faultCause;
    this.faultCause = NO_FAULT;
    return this.trap(cause, this.faultTval, pc);
  }

  protected trap(cause: number, tval: number, pc: number): number {
    this.traps++;
    this.reserved = false;
    return this.csr.enterTrap(cause, tval, pc);
  }

  /** The pc to continue at: `next`, or an interrupt handler if one is now pending and enabled. */
  protected afterControlChange(next: number): number {
    const cause = this.csr.pendingInterrupt();
    if (cause === 0) return next;
    this.reserved = false;
    return this.csr.enterTrap(cause, 0, next);
  }

  // ---- data memory access: RAM fast paths, everything else through the bus ----

  protected ld8(a: number): number {
    if (this.checkedData) return this.loadChecked(a, 1);
    const off = (a - this.ramBase) >>> 0;
    if (off < this.ramSize) {
      const page = this.pages8[off >>> 12];
      if (page !== undefined) return page[off & 4095]!;
    }
    return this.loadSlow(a, 1);
  }

  protected ld16(a: number): number {
    if (this.checkedData) return this.loadChecked(a, 2);
    const off = (a - this.ramBase) >>> 0;
    if (off < this.ramSize && (a & 1) === 0) {
      const page = this.pages16[off >>> 12];
      if (page !== undefined) return page[(off >>> 1) & 2047]!;
    }
    return this.loadSlow(a, 2);
  }

  protected ld32(a: number): number {
    if (this.checkedData) return this.loadChecked(a, 4);
    const off = (a - this.ramBase) >>> 0;
    if (off < this.ramSize && (a & 3) === 0) {
      const page = this.pages32[off >>> 12];
      if (page !== undefined) return page[(off >>> 2) & 1023]!;
    }
    return this.loadSlow(a, 4);
  }

  protected loadSlow(a: number, size: 1 | 2 | 4): number {
    const v = this.bus.load(a >>> 0, size);
    if (Number.isNaN(v)) {
      this.fault(Exception.LoadAccessFault, this.faultingByte(a, size));
      return 0;
    }
    return v | 0;
  }

  /**
   * mtval of an access fault: the access address, or for a misaligned access that
   * starts in memory and runs past its end, the first byte outside (as QEMU reports).
   */
  protected faultingByte(a: number, size: number): number {
    if (size === 1 || Number.isNaN(this.bus.fetch((a & ~1) >>> 0))) return a;
    for (let i = 1; i < size; i++) if (Number.isNaN(this.bus.fetch(((a + i) & ~1) >>> 0))) return (a + i) | 0;
    return a;
  }

  /** Stores return false when the step must end differently: a fault or a stop request. */
  protected st8(a: number, v: number): boolean {
    if (this.checkedData) return this.storeChecked(a, 1, v);
    const off = (a - this.ramBase) >>> 0;
    if (off < this.ramSize) {
      const pn = off >>> 12;
      if (this.fastWrite[pn] === 1) {
        this.pages8[pn]![off & 4095] = v;
        return true;
      }
    }
    return this.storeSlow(a, 1, v);
  }

  protected st16(a: number, v: number): boolean {
    if (this.checkedData) return this.storeChecked(a, 2, v);
    const off = (a - this.ramBase) >>> 0;
    if (off < this.ramSize && (a & 1) === 0) {
      const pn = off >>> 12;
      if (this.fastWrite[pn] === 1) {
        this.pages16[pn]![(off >>> 1) & 2047] = v;
        return true;
      }
    }
    return this.storeSlow(a, 2, v);
  }

  protected st32(a: number, v: number): boolean {
    if (this.checkedData) return this.storeChecked(a, 4, v);
    const off = (a - this.ramBase) >>> 0;
    if (off < this.ramSize && (a & 3) === 0) {
      const pn = off >>> 12;
      if (this.fastWrite[pn] === 1) {
        this.pages32[pn]![(off >>> 2) & 1023] = v;
        return true;
      }
    }
    return this.storeSlow(a, 4, v);
  }

  protected storeSlow(a: number, size: 1 | 2 | 4, v: number): boolean {
    this.invalidateCode(a, size);
    if (!this.bus.store(a >>> 0, size, v))
      return this.fault(Exception.StoreAccessFault, this.faultingByte(a, size));
    return !this.stopRequested;
  }
}
