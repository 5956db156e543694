/**
 * Physical memory protection: 16 entries (pmpcfg0..3, pmpaddr0..15 on RV32) with
 * OFF/TOR/NA4/NAPOT matching and the lock bit, as the privileged spec's section 3.7.
 * Registers are WARL as QEMU implements them: R=0,W=1 is reserved and reads back
 * with W cleared; locked entries ignore writes.
 */
export const PMP_ENTRIES = 16;
const CFG_R = 1;
const CFG_W = 2;
const CFG_A = 0x18;
const CFG_L = 0x80;
const A_OFF = 0;
const A_TOR = 1;
const A_NA4 = 2;
const A_NAPOT = 3;

/** The access kinds, valued as their pmpcfg permission bits (R, W, X). */
export const enum PmpAccess {
  Read = 1,
  Write = 2,
  Execute = 4,
}

export class Pmp {
  readonly cfg = new Uint8Array(PMP_ENTRIES);
  readonly addr = new Uint32Array(PMP_ENTRIES);
  /** Byte ranges [lo, hi) of each entry, recomputed on every write. */
  private readonly lo = new Float64Array(PMP_ENTRIES);
  private readonly hi = new Float64Array(PMP_ENTRIES);
  /** True when some entry is active: with none, M-mode is unrestricted and S/U see everything denied. */
  private anyActive = false;

  read(num: number): number {
    if (num >= 0x3a0 && num <= 0x3a3) {
      const first = (num - 0x3a0) * 4;
      let v = 0;
      for (let i = 3; i >= 0; i--) v = (v << 8) | this.cfg[first + i]!;
      return v | 0;
    }
    const index = num - 0x3b0;
    return index >= 0 && index < PMP_ENTRIES ? this.addr[index]! | 0 : 0;
  }

  write(num: number, value: number): void {
    if (num >= 0x3a0 && num <= 0x3a3) {
      const first = (num - 0x3a0) * 4;
      for (let i = 0; i < 4; i++) {
        const e = first + i;
        if (this.cfg[e]! & CFG_L) continue;
        let c = (value >>> (8 * i)) & 0x9f;
        if ((c & (CFG_R | CFG_W)) === CFG_W) c &= ~CFG_W;
        this.cfg[e] = c;
      }
    } else {
      const index = num - 0x3b0;
      if (index < 0 || index >= PMP_ENTRIES) return;
      if (this.cfg[index]! & CFG_L) return;
      const next = this.cfg[index + 1];
      if (next !== undefined && next & CFG_L && (next & CFG_A) >>> 3 === A_TOR) return;
      this.addr[index] = value >>> 0;
    }
    this.recompute();
  }

  /** Sets every register at once, as a restore does (no WARL filtering, locks ignored). */
  load(cfg: ArrayLike<number>, addr: ArrayLike<number>): void {
    for (let i = 0; i < PMP_ENTRIES; i++) {
      this.cfg[i] = cfg[i] ?? 0;
      this.addr[i] = addr[i] ?? 0;
    }
    this.recompute();
  }

  private recompute(): void {
    this.anyActive = false;
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const mode = (this.cfg[i]! & CFG_A) >>> 3;
      const a = this.addr[i]!;
      let lo = 0;
      let hi = 0;
      if (mode === A_TOR) {
        lo = i === 0 ? 0 : this.addr[i - 1]! * 4;
        hi = a * 4;
      } else if (mode === A_NA4) {
        lo = a * 4;
        hi = lo + 4;
      } else if (mode === A_NAPOT) {
        // Trailing ones of pmpaddr give the size: 2^(ones+3) bytes.
        let ones = 0;
        while (ones < 32 && ((a >>> ones) & 1) === 1) ones++;
        const size = 2 ** (ones + 3);
        lo = ones >= 32 ? 0 : Math.floor((a * 4) / size) * size;
        hi = lo + size;
      }
      this.lo[i] = lo;
      this.hi[i] = hi;
      if (mode !== A_OFF) this.anyActive = true;
    }
  }

  /**
   * Whether an access of `size` bytes at physical `addr` with `access` rights is
   * allowed at privilege `priv` (3 = M). The lowest-numbered matching entry decides.
   */
  allows(addr: number, size: number, access: PmpAccess, priv: number): boolean {
    if (!this.anyActive) return priv === 3;
    const end = addr + size;
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const cfg = this.cfg[i]!;
      if ((cfg & CFG_A) >>> 3 === A_OFF) continue;
      const lo = this.lo[i]!;
      const hi = this.hi[i]!;
      if (end <= lo || addr >= hi) continue;
      // A partial match fails the access, as the spec requires.
      if (addr < lo || end > hi) return false;
      if (priv === 3 && (cfg & CFG_L) === 0) return true;
      return (cfg & access) !== 0; // PmpAccess values are the R/W/X bits
    }
    return priv === 3;
  }

  /** Whether S/U-mode may read, write and execute every address (the usual firmware setup). */
  allowsEverything(): boolean {
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const cfg = this.cfg[i]!;
      if ((cfg & CFG_A) >>> 3 === A_OFF) continue;
      return this.lo[i] === 0 && this.hi[i]! >= 2 ** 32 && (cfg & 7) === 7;
    }
    return false;
  }
}
