import type { RamWindow } from "./bus.js";
import type { Region } from "./region-scan.js";

/**
 * Which compiled regions hold code on which RAM page, down to the halfword, so that a
 * store to code drops exactly the regions it overwrites (both region back ends use it).
 */
export class RegionCoverage<C> {
  /** RAM page -> regions with code on it. */
  private readonly byPage = new Map<number, C[]>();
  /** RAM page -> one flag per halfword covered by compiled code (over-approximate). */
  private readonly covered = new Map<number, Uint8Array>();

  /**
   * @param markCode watches a code address the way the interpreter does when it decodes.
   * @param drop forgets a region (its table slots) whose code was written.
   */
  constructor(
    private readonly markCode: (addr: number) => void,
    private readonly drop: (c: C) => void,
  ) {}

  clear(): void {
    this.byPage.clear();
    this.covered.clear();
  }

  /** Watches the region's pages and records which halfwords it was compiled from. */
  track(region: Region, c: C, ram: RamWindow): void {
    for (const page of region.pages) {
      this.markCode(ram.base + page * 4096);
      const list = this.byPage.get(page);
      if (list === undefined) this.byPage.set(page, [c]);
      else list.push(c);
      if (!this.covered.has(page)) this.covered.set(page, new Uint8Array(2048));
    }
    for (const block of region.blocks) {
      for (const insn of block.insns) {
        const pa = block.frame === -1 ? insn.pc : block.frame | (insn.pc & 0xfff);
        const off = (pa - ram.base) >>> 0;
        const cov = this.covered.get(off >>> 12)!;
        cov[(off >>> 1) & 2047] = 1;
        if (insn.length === 4) cov[((off >>> 1) & 2047) + 1] = 1;
      }
    }
  }

  /** Drops every region with code in the bytes [a, a+size). */
  invalidate(ram: RamWindow, a: number, size: number): void {
    if (this.covered.size === 0) return;
    for (let i = 0; i < size; i++) {
      const off = ((a + i - ram.base) >>> 0) as number;
      if (off >= ram.size) continue;
      const page = off >>> 12;
      const cov = this.covered.get(page);
      if (cov !== undefined && cov[(off >>> 1) & 2047] === 1) this.dropPage(page);
    }
  }

  private dropPage(page: number): void {
    const list = this.byPage.get(page);
    if (list !== undefined) for (const c of list) this.drop(c);
    this.byPage.delete(page);
    this.covered.delete(page);
  }
}
