import { describe, expect, it } from "vitest";
import { Access, Csr, CsrFile, Exception, Mmu, MSTATUS, Privilege } from "../src/index.js";

/** Physical memory of 1 MiB at 0x8000_0000 holding page tables; a flat Bus over it. */
class TablesMemory {
  readonly bytes = new Uint8Array(1 << 20);
  readonly view = new DataView(this.bytes.buffer);
  load(addr: number, size: 1 | 2 | 4): number {
    const off = addr - 0x8000_0000;
    if (off < 0 || off + size > this.bytes.length) return Number.NaN;
    return size === 4
      ? this.view.getUint32(off, true)
      : size === 2
        ? this.view.getUint16(off, true)
        : this.bytes[off]!;
  }
  store(addr: number, size: 1 | 2 | 4, value: number): boolean {
    const off = addr - 0x8000_0000;
    if (off < 0 || off + size > this.bytes.length) return false;
    if (size === 4) this.view.setUint32(off, value >>> 0, true);
    else if (size === 2) this.view.setUint16(off, value, true);
    else this.bytes[off] = value;
    return true;
  }
  fetch(addr: number): number {
    return this.load(addr, 2);
  }
  pte(addr: number): number {
    return this.view.getUint32(addr - 0x8000_0000, true);
  }
  setPte(addr: number, value: number): void {
    this.view.setUint32(addr - 0x8000_0000, value >>> 0, true);
  }
}

const V = 1;
const R = 2;
const W = 4;
const X = 8;
const U = 16;
const A = 64;
const D = 128;
const ROOT = 0x8000_0000;
const L0 = 0x8000_1000;

/**
 * Maps: 0x0040_0000 → 0x8001_0000 (4 KiB, flags given), 0x0080_0000 superpage →
 * 0x8040_0000 (RWX, supervisor).
 */
function setup(leafFlags: number) {
  const mem = new TablesMemory();
  const csr = new CsrFile({ cycles: () => 0, instret: () => 0, time: () => 0 });
  csr.write(0x3b0, -1); // PMP: everything
  csr.write(0x3a0, 0x1f);
  csr.write(Csr.satp, (1 << 31) | (ROOT >>> 12));
  mem.setPte(ROOT + (0x0040_0000 >>> 22) * 4, ((L0 >>> 12) << 10) | V);
  mem.setPte(L0 + ((0x0040_0000 >>> 12) & 0x3ff) * 4, ((0x8001_0000 >>> 12) << 10) | leafFlags);
  mem.setPte(ROOT + (0x0080_0000 >>> 22) * 4, ((0x8040_0000 >>> 12) << 10) | V | R | W | X | A | D);
  const mmu = new Mmu(mem, csr);
  csr.onTranslationChange = () => mmu.flush();
  csr.priv = Privilege.Supervisor;
  return { mem, csr, mmu };
}

describe("Sv32 translation", () => {
  it("walks two levels to a 4 KiB page and one level to a 4 MiB superpage", () => {
    const { mmu } = setup(V | R | W | A | D);
    expect(mmu.translate(0x0040_0123, Access.Load)).toBe(0x8001_0123);
    expect(mmu.translate(0x0093_4567, Access.Store)).toBe(0x8040_0000 + 0x13_4567);
  });

  it("is off in M-mode and with satp.MODE = 0; MPRV makes M-mode data accesses translate", () => {
    const { csr, mmu } = setup(V | R | A);
    csr.priv = Privilege.Machine;
    expect(mmu.active(Access.Load)).toBe(false);
    csr.write(Csr.mstatus, MSTATUS.MPRV | (1 << 11)); // MPP = S
    expect(mmu.active(Access.Load)).toBe(true);
    expect(mmu.active(Access.Fetch)).toBe(false);
    csr.priv = Privilege.Supervisor;
    csr.write(Csr.satp, 0);
    expect(mmu.active(Access.Load)).toBe(false);
  });

  it.each([
    ["a store to a read-only page", V | R | A, Access.Store, Exception.StorePageFault],
    ["a fetch from a non-executable page", V | R | A, Access.Fetch, Exception.InstructionPageFault],
    ["a load from an execute-only page", V | X | A, Access.Load, Exception.LoadPageFault],
    ["an invalid PTE", R | W, Access.Load, Exception.LoadPageFault],
    ["a reserved W-without-R PTE", V | W, Access.Load, Exception.LoadPageFault],
    ["a supervisor access to a user page without SUM", V | R | U | A, Access.Load, Exception.LoadPageFault],
    ["a supervisor fetch from a user page", V | X | U | A, Access.Fetch, Exception.InstructionPageFault],
  ])("faults for %s", (_what, flags, access, cause) => {
    const { mmu } = setup(flags);
    expect(mmu.translate(0x0040_0000, access)).toBe(-1);
    expect(mmu.faultCause).toBe(cause);
  });

  it("lets S read user pages with SUM and read execute-only pages with MXR", () => {
    const { csr, mmu } = setup(V | X | U | A);
    csr.write(Csr.sstatus, MSTATUS.SUM | MSTATUS.MXR);
    expect(mmu.translate(0x0040_0010, Access.Load)).toBe(0x8001_0010);
  });

  it("denies U-mode access to supervisor pages", () => {
    const { csr, mmu } = setup(V | R | A);
    csr.priv = Privilege.User;
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(-1);
    expect(mmu.faultCause).toBe(Exception.LoadPageFault);
  });

  it("sets A on access and D on the first store, in memory", () => {
    const { mem, mmu } = setup(V | R | W);
    const pteAddr = L0 + ((0x0040_0000 >>> 12) & 0x3ff) * 4;
    mmu.translate(0x0040_0000, Access.Load);
    expect(mem.pte(pteAddr) & (A | D)).toBe(A);
    mmu.translate(0x0040_0000, Access.Store);
    expect(mem.pte(pteAddr) & (A | D)).toBe(A | D);
  });

  it("refuses a misaligned superpage", () => {
    const { mem, mmu } = setup(V | R | A);
    mem.setPte(ROOT + (0x00c0_0000 >>> 22) * 4, (((0x8040_0000 + 0x1000) >>> 12) << 10) | V | R | A);
    expect(mmu.translate(0x00c0_0000, Access.Load)).toBe(-1);
    expect(mmu.faultCause).toBe(Exception.LoadPageFault);
  });

  it("remembers translations until flushed (sfence.vma, satp, privilege changes)", () => {
    const { mem, csr, mmu } = setup(V | R | A);
    const pteAddr = L0 + ((0x0040_0000 >>> 12) & 0x3ff) * 4;
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000);
    mem.setPte(pteAddr, ((0x8002_0000 >>> 12) << 10) | V | R | A);
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000); // stale until sfence
    mmu.flush();
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8002_0000);
    mem.setPte(pteAddr, ((0x8003_0000 >>> 12) << 10) | V | R | A);
    csr.write(Csr.satp, csr.satp); // writing satp flushes
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8003_0000);
  });

  it("keeps each translation context's TLBs apart and across switches, as QEMU's per-privilege TLBs", () => {
    const { mem, csr, mmu } = setup(V | R | A);
    const pteAddr = L0 + ((0x0040_0000 >>> 12) & 0x3ff) * 4;
    mmu.select(1); // S
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000);
    mem.setPte(pteAddr, ((0x8002_0000 >>> 12) << 10) | V | R | A);
    csr.priv = Privilege.User;
    mmu.select(0); // U: its own TLBs, so this walks and finds a supervisor page
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(-1);
    expect(mmu.faultCause).toBe(Exception.LoadPageFault);
    csr.priv = Privilege.Supervisor;
    mmu.select(1); // back to S: its translation survived (stale until sfence.vma, as on hardware)
    const walks = mmu.walks;
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000);
    expect(mmu.walks).toBe(walks);
    mmu.flush();
    mmu.select(1);
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8002_0000);
  });

  it("sfence.vma of an address forgets its page in every context, and every piece of its superpage", () => {
    const { mem, mmu } = setup(V | R | A);
    const pteAddr = L0 + ((0x0040_0000 >>> 12) & 0x3ff) * 4;
    const superAddr = ROOT + (0x0080_0000 >>> 22) * 4;
    mmu.select(1); // (pages chosen to sit in different TLB slots)
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000);
    expect(mmu.translate(0x0080_1000, Access.Load)).toBe(0x8040_1000);
    expect(mmu.translate(0x0081_0000, Access.Load)).toBe(0x8041_0000);
    mmu.select(5); // another context (S with SUM) holds the 4 KiB page too
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000);
    mem.setPte(pteAddr, ((0x8002_0000 >>> 12) << 10) | V | R | A);
    mem.setPte(superAddr, ((0x80c0_0000 >>> 12) << 10) | V | R | W | X | A | D);
    mmu.flushPage(0x0080_5678); // another page of the superpage
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000); // not this one
    mmu.select(1);
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8001_0000);
    expect(mmu.translate(0x0080_1000, Access.Load)).toBe(0x80c0_1000);
    expect(mmu.translate(0x0081_0000, Access.Load)).toBe(0x80c1_0000);
    mmu.flushPage(0x0040_0abc);
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8002_0000);
    mmu.select(5);
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(0x8002_0000);
  });

  it("reports an access fault when a page table lies outside memory", () => {
    const { csr, mmu } = setup(V | R | A);
    csr.write(Csr.satp, (1 << 31) | (0x1000_0000 >>> 12));
    expect(mmu.translate(0x0040_0000, Access.Load)).toBe(-1);
    expect(mmu.faultCause).toBe(Exception.LoadAccessFault);
  });

  it("the TLB mirrors for compiled code hold exactly what the TLBs hold, through fills, evictions, flushes and context switches", () => {
    const { mem, mmu } = setup(V | R | W | A | D);
    // Superpage 0x0080_0000.. maps every 4 KiB page: plenty of pages that share TLB slots.
    const mirrors = mmu.mirrorTlbs();
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const check = (): void => {
      for (let a = 0; a < 3; a++) {
        const held = new Map<number, number>();
        mmu.tags[a]!.forEach((vpn, slot) => {
          if (vpn !== -1) held.set(vpn, (mmu.frames[a]![slot]! >>> 12) + 1);
        });
        mirrors[a]!.forEach((v, vpn) => {
          if (v !== 0 || held.has(vpn)) expect(v, `access ${a} vpn ${vpn}`).toBe(held.get(vpn));
        });
      }
    };
    for (let k = 0; k < 3000; k++) {
      const op = random(100);
      const va = op < 3 ? 0x0040_0000 : 0x0080_0000 + random(1024) * 4096;
      if (op < 2) mmu.flush();
      else if (op < 6) mmu.select(random(3));
      else if (op < 9) mmu.flushPage(op < 7 ? 0x0040_0000 : va);
      else if (op < 11)
        mem.setPte(
          L0 + ((0x0040_0000 >>> 12) & 0x3ff) * 4,
          ((0x8001_0000 >>> 12) << 10) | V | R | (random(2) ? W | A | D : 0),
        );
      else mmu.translate(va + random(4096), random(3) as Access);
      if (k === 1500) check();
    }
    check();
  });
});
