import type { Bus } from "./bus.js";
import { type CsrFile, MSTATUS } from "./csr-file.js";
import { PmpAccess } from "./pmp.js";
import { Privilege } from "./privilege.js";
import { Exception } from "./trap-causes.js";

/** What an address is translated for; each has its own TLB and page-fault cause. */
export const enum Access {
  Fetch = 0,
  Load = 1,
  Store = 2,
}

const PTE_V = 1;
const PTE_R = 2;
const PTE_W = 4;
const PTE_X = 8;
const PTE_U = 16;
const PTE_A = 64;
const PTE_D = 128;

const TLB_BITS = 8;
const TLB_SIZE = 1 << TLB_BITS;
/** Slot of a virtual page number in each TLB: `vpn & TLB_MASK` (compiled code uses it too). */
export const TLB_MASK = TLB_SIZE - 1;
const TLB_EMPTY = -1;
/** Bytes of one access kind's TLB as `placeTlbs` lays it out: tags, then frames. */
export const TLB_KIND_BYTES = 8 * TLB_SIZE;
/** Bytes of all three TLBs as `placeTlbs` lays them out. */
export const TLB_BYTES = 3 * TLB_KIND_BYTES;

const PAGE_FAULT = [
  Exception.InstructionPageFault,
  Exception.LoadPageFault,
  Exception.StorePageFault,
] as const;
const ACCESS_FAULT = [
  Exception.InstructionAccessFault,
  Exception.LoadAccessFault,
  Exception.StoreAccessFault,
] as const;
const PMP_ACCESS = [PmpAccess.Execute, PmpAccess.Read, PmpAccess.Write] as const;

/** One translation context's TLBs while another's are live: `Mmu.tags`' etc. contents, kind after kind. */
interface TlbBank {
  tags: Int32Array;
  frames: Int32Array;
  big: Uint8Array;
}

/**
 * Sv32 address translation with a small direct-mapped TLB per access kind.
 *
 * A TLB entry is filled only after a page walk that allowed this access in the
 * current translation context (privileges, SUM, MXR) and after PMP allowed the whole
 * 4 KiB page, so a hit needs no further check. Each context has its own bank of TLBs
 * (as QEMU keeps one TLB per MMU index): a change of privilege, SUM or MXR puts the
 * live TLBs away in their bank and brings back the new context's (`select`), so
 * translations survive traps and returns as on hardware. satp and PMP writes flush
 * every bank (`flush`), sfence.vma with an address only that page (`flushPage`).
 * Stores need the dirty bit, so a store TLB entry exists only once D is set; A and D
 * are set by the walker, as QEMU does, and an entry is cached only once they are.
 */
export class Mmu {
  /**
   * Per access kind (indexed by `Access`): the virtual page number held in each slot
   * (-1 when empty) and the physical frame address it maps to (as int32). Compiled code
   * reads these directly: a hit means the access is allowed with no further check and
   * touches nothing (no walk, no A/D update), so it may skip the translation call.
   * The arrays are filled in place; `placeTlbs` alone replaces them (before compiled code
   * that holds them exists).
   */
  readonly tags: Int32Array[] = [0, 1, 2].map(() => new Int32Array(TLB_SIZE).fill(TLB_EMPTY));
  readonly frames: Int32Array[] = [0, 1, 2].map(() => new Int32Array(TLB_SIZE));
  /**
   * Per access kind: 1 where the slot's entry is a 4 KiB piece of a superpage (an
   * sfence.vma of any address in the superpage drops it).
   */
  private readonly big: Uint8Array[] = [0, 1, 2].map(() => new Uint8Array(TLB_SIZE));
  /**
   * Per 4 MiB region of virtual addresses: 1 when a TLB (live or banked) may hold a
   * piece of a superpage there, so that sfence.vma of an address elsewhere looks at one
   * slot per TLB only.
   */
  private readonly bigRegions = new Uint8Array(1024);
  /** The translation context whose TLBs are live (`select`), and the put-away banks of others. */
  private context = -1;
  private readonly banks = new Map<number, TlbBank>();
  /** Set after a failed translation: the exception cause; tval is the virtual address. */
  faultCause = 0;
  /** Page walks so far (each may have replaced TLB entries); callers compare it before and after. */
  walks = 0;

  constructor(
    private readonly bus: Bus,
    private readonly csr: CsrFile,
  ) {}

  /**
   * Per access kind, indexed by virtual page number: the frame number + 1 of the page
   * while the TLB holds it, else 0. An exact mirror of the TLBs that compiled code can
   * read with one load (no slot, no tag compare); made on request (`mirrorTlbs`), as
   * it takes 12 MiB.
   */
  mirrors: readonly Int32Array[] | undefined;

  /**
   * Moves the TLBs into `buffer` at byte `offset` (contents kept), where compiled
   * WebAssembly reads them: for access kind a, tags at offset + a * TLB_KIND_BYTES and
   * frames TLB_SIZE * 4 bytes after them (`TLB_BYTES` in all). Nothing changes for the
   * TLBs' users: the MMU fills and flushes them there from then on.
   */
  placeTlbs(buffer: ArrayBuffer, offset: number): void {
    for (let a = 0; a < 3; a++) {
      const tags = new Int32Array(buffer, offset + a * TLB_KIND_BYTES, TLB_SIZE);
      const frames = new Int32Array(buffer, offset + a * TLB_KIND_BYTES + 4 * TLB_SIZE, TLB_SIZE);
      tags.set(this.tags[a]!);
      frames.set(this.frames[a]!);
      this.tags[a] = tags;
      this.frames[a] = frames;
    }
    this.onTlbsMoved?.();
  }

  /** Called after `placeTlbs` replaced `tags` and `frames` (the hart reads them inline). */
  onTlbsMoved: (() => void) | undefined;

  /** Makes `mirrors` (once) and keeps it in step with the TLBs from then on. */
  mirrorTlbs(): readonly Int32Array[] {
    if (this.mirrors === undefined) {
      const mirrors = [0, 1, 2].map(() => new Int32Array(1 << 20));
      for (let a = 0; a < 3; a++) {
        for (let slot = 0; slot < TLB_SIZE; slot++) {
          const vpn = this.tags[a]![slot]!;
          if (vpn !== TLB_EMPTY) mirrors[a]![vpn] = (this.frames[a]![slot]! >>> 12) + 1;
        }
      }
      this.mirrors = mirrors;
    }
    return this.mirrors;
  }

  /** Empties the live TLBs (and their mirrors). */
  private clearLive(): void {
    const mirrors = this.mirrors;
    for (let a = 0; a < 3; a++) {
      const tags = this.tags[a]!;
      if (mirrors !== undefined) {
        const mirror = mirrors[a]!;
        for (let slot = 0; slot < TLB_SIZE; slot++) {
          const vpn = tags[slot]!;
          if (vpn !== TLB_EMPTY) mirror[vpn] = 0;
        }
      }
      tags.fill(TLB_EMPTY);
    }
  }

  /** Forgets every translation of every context (satp or PMP changed). */
  flush(): void {
    this.clearLive();
    this.banks.clear();
    this.context = -1;
    this.bigRegions.fill(0);
  }

  /**
   * Makes `context` (a number naming the privileges, SUM and MXR that translation
   * depends on) the live one: the live TLBs go to the old context's bank and the new
   * context's bank, if it has one, comes back. Nothing changes if it is live already.
   */
  select(context: number): void {
    if (context === this.context) return;
    if (this.context !== -1) {
      let bank = this.banks.get(this.context);
      if (bank === undefined) {
        bank = {
          tags: new Int32Array(3 * TLB_SIZE),
          frames: new Int32Array(3 * TLB_SIZE),
          big: new Uint8Array(3 * TLB_SIZE),
        };
        this.banks.set(this.context, bank);
      }
      for (let a = 0; a < 3; a++) {
        bank.tags.set(this.tags[a]!, a * TLB_SIZE);
        bank.frames.set(this.frames[a]!, a * TLB_SIZE);
        bank.big.set(this.big[a]!, a * TLB_SIZE);
      }
    }
    this.clearLive();
    this.context = context;
    const bank = this.banks.get(context);
    if (bank === undefined) return;
    const mirrors = this.mirrors;
    for (let a = 0; a < 3; a++) {
      const tags = bank.tags.subarray(a * TLB_SIZE, (a + 1) * TLB_SIZE);
      const frames = bank.frames.subarray(a * TLB_SIZE, (a + 1) * TLB_SIZE);
      this.tags[a]!.set(tags);
      this.frames[a]!.set(frames);
      this.big[a]!.set(bank.big.subarray(a * TLB_SIZE, (a + 1) * TLB_SIZE));
      if (mirrors !== undefined) {
        const mirror = mirrors[a]!;
        for (let slot = 0; slot < TLB_SIZE; slot++) {
          const vpn = tags[slot]!;
          if (vpn !== TLB_EMPTY) mirror[vpn] = (frames[slot]! >>> 12) + 1;
        }
      }
    }
  }

  /**
   * sfence.vma of one address: forgets the translations of its page in every context,
   * and of every page of its superpage where a superpage mapped them.
   */
  flushPage(va: number): void {
    const vpn = va >>> 12;
    const slot = vpn & TLB_MASK;
    const region = vpn >>> 10;
    const anyBig = this.bigRegions[region] !== 0;
    this.bigRegions[region] = 0; // none is left there below
    const mirrors = this.mirrors;
    for (let a = 0; a < 3; a++) {
      const tags = this.tags[a]!;
      if (tags[slot] === vpn) {
        tags[slot] = TLB_EMPTY;
        if (mirrors !== undefined) mirrors[a]![vpn] = 0;
      }
      if (!anyBig) continue;
      const big = this.big[a]!;
      for (let s = 0; s < TLB_SIZE; s++) {
        const tag = tags[s]!;
        if (big[s] !== 0 && tag !== TLB_EMPTY && tag >>> 10 === region) {
          tags[s] = TLB_EMPTY;
          if (mirrors !== undefined) mirrors[a]![tag] = 0;
        }
      }
    }
    for (const bank of this.banks.values()) {
      const { tags, big } = bank;
      for (let a = 0; a < 3; a++) {
        const at = a * TLB_SIZE;
        if (tags[at + slot] === vpn) tags[at + slot] = TLB_EMPTY;
        if (!anyBig) continue;
        for (let s = at; s < at + TLB_SIZE; s++) {
          const tag = tags[s]!;
          if (big[s] !== 0 && tag !== TLB_EMPTY && tag >>> 10 === region) tags[s] = TLB_EMPTY;
        }
      }
    }
  }

  /** Enters vpn -> frame in the TLB of `access` (and its mirror); `big` for a superpage's piece. */
  private fill(access: Access, slot: number, vpn: number, frame: number, big: boolean): void {
    const tags = this.tags[access]!;
    const mirror = this.mirrors?.[access];
    if (mirror !== undefined) {
      const old = tags[slot]!;
      if (old !== TLB_EMPTY) mirror[old] = 0;
      mirror[vpn] = (frame >>> 12) + 1;
    }
    tags[slot] = vpn;
    this.frames[access]![slot] = frame | 0;
    this.big[access]![slot] = big ? 1 : 0;
    if (big) this.bigRegions[vpn >>> 10] = 1;
  }

  /** The privilege data accesses use: MPRV makes M-mode loads and stores act as MPP. */
  dataPrivilege(): number {
    const csr = this.csr;
    if (csr.priv === Privilege.Machine && csr.mstatus & MSTATUS.MPRV) return (csr.mstatus >>> 11) & 3;
    return csr.priv;
  }

  /**
   * The frame that virtual page `vpn` maps to for fetches according to the fetch TLB,
   * or -1 when the TLB does not hold it. Never walks (no side effects).
   */
  cachedFetchFrame(vpn: number): number {
    const slot = vpn & TLB_MASK;
    return this.tags[Access.Fetch]![slot] === vpn ? this.frames[Access.Fetch]![slot]! : -1;
  }

  /** Whether accesses of this kind are translated now. */
  active(access: Access): boolean {
    if (this.csr.satp >>> 31 === 0) return false;
    const priv = access === Access.Fetch ? this.csr.priv : this.dataPrivilege();
    return priv !== Privilege.Machine;
  }

  /**
   * Translates virtual address `va` for `access`; returns the physical address, or -1
   * with `faultCause` set (page fault or access fault; tval is `va`).
   */
  translate(va: number, access: Access): number {
    const vpn = va >>> 12;
    const slot = vpn & TLB_MASK;
    if (this.tags[access]![slot] === vpn) return (this.frames[access]![slot]! | (va & 0xfff)) >>> 0;
    return this.walk(va, access);
  }

  private fail(cause: number): number {
    this.faultCause = cause;
    return -1;
  }

  private walk(va: number, access: Access): number {
    this.walks++;
    const csr = this.csr;
    const priv = access === Access.Fetch ? csr.priv : this.dataPrivilege();
    const pageFault = PAGE_FAULT[access];
    let table = (csr.satp & 0x3fffff) * 4096;
    let level = 1;
    let pte = 0;
    let pteAddr = 0;
    for (;;) {
      const vpnPart = level === 1 ? va >>> 22 : (va >>> 12) & 0x3ff;
      pteAddr = table + vpnPart * 4;
      if (pteAddr >= 2 ** 32 || !csr.pmp.allows(pteAddr, 4, PmpAccess.Read, Privilege.Supervisor)) {
        return this.fail(ACCESS_FAULT[access]);
      }
      pte = this.bus.load(pteAddr, 4);
      if (Number.isNaN(pte)) return this.fail(ACCESS_FAULT[access]);
      if ((pte & PTE_V) === 0 || ((pte & PTE_R) === 0 && (pte & PTE_W) !== 0)) return this.fail(pageFault);
      if (pte & (PTE_R | PTE_X)) break;
      if (level === 0) return this.fail(pageFault);
      level = 0;
      table = (pte >>> 10) * 4096;
    }
    // A leaf: check the permissions the access needs at this privilege.
    const user = (pte & PTE_U) !== 0;
    if (priv === Privilege.User && !user) return this.fail(pageFault);
    if (
      priv === Privilege.Supervisor &&
      user &&
      (access === Access.Fetch || (csr.mstatus & MSTATUS.SUM) === 0)
    ) {
      return this.fail(pageFault);
    }
    if (access === Access.Fetch && (pte & PTE_X) === 0) return this.fail(pageFault);
    if (
      access === Access.Load &&
      (pte & PTE_R) === 0 &&
      !((csr.mstatus & MSTATUS.MXR) !== 0 && pte & PTE_X)
    ) {
      return this.fail(pageFault);
    }
    if (access === Access.Store && (pte & PTE_W) === 0) return this.fail(pageFault);
    const ppn = pte >>> 10;
    if (level === 1 && (ppn & 0x3ff) !== 0) return this.fail(pageFault); // misaligned superpage
    // Hardware A/D update (the spec allows it; QEMU does it).
    const wanted = PTE_A | (access === Access.Store ? PTE_D : 0);
    if ((pte & wanted) !== wanted) {
      pte = (pte | wanted) >>> 0;
      if (!this.bus.store(pteAddr, 4, pte)) return this.fail(ACCESS_FAULT[access]);
    }
    const frame = level === 1 ? (ppn >>> 10) * 0x40_0000 + (va & 0x3ff000) : ppn * 4096;
    if (frame >= 2 ** 32) return this.fail(ACCESS_FAULT[access]);
    if (!csr.pmp.allows(frame, 4096, PMP_ACCESS[access], priv)) {
      // PMP may allow only part of the page: check just the bytes touched, never cache.
      const pa = frame + (va & 0xfff);
      return csr.pmp.allows(pa, 1, PMP_ACCESS[access], priv) ? pa : this.fail(ACCESS_FAULT[access]);
    }
    const vpn = va >>> 12;
    const slot = vpn & TLB_MASK;
    const big = level === 1;
    this.fill(access, slot, vpn, frame, big);
    // A page that may be written may also be read: fill the load TLB too.
    if (access === Access.Store && (pte & PTE_R) !== 0) this.fill(Access.Load, slot, vpn, frame, big);
    return (frame + (va & 0xfff)) >>> 0;
  }
}
