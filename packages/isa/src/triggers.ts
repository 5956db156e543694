/**
 * The Sdtrig debug triggers as QEMU 7.2's virt CPU offers them (target/riscv/debug.c), the
 * oracle being tools/guests/src/triggers.c run on it: two triggers, each an mcontrol
 * (type 2) or mcontrol6 (type 6) address match on execute, load or store, in the modes
 * its m/s/u bits name, whose action is always 0: a breakpoint exception (cause 3) taken
 * before the instruction or the access, with tval 0.
 *
 * CSRs (M-mode only): tselect (0x7a0; writes of 2 or more are ignored), tdata1 (0x7a1),
 * tdata2 (0x7a2: any value), tdata3 (0x7a3: reads 0, writes ignored), tinfo (0x7a4:
 * 0x44, types 2 and 6; read-only). tdata1 is WARL as QEMU 7.2 makes it:
 * - type 2 keeps sizelo (17:16), m (6), s (4), u (3), execute, store, load; dmode,
 *   maskmax, hit, select, timing, action, chain and match read 0;
 * - type 6 keeps vs (24), vu (23), m, s, u, execute, store, load and size (19:16) when
 *   it is 0, 1, 2, 3 or 5 (the encodings QEMU accepts), else size reads 0;
 * - a write of any other type is ignored (QEMU 7.2 even aborts on types 1 and 7-14).
 *
 * An execute trigger matches the address of the instruction (not a byte inside it). A
 * load/store trigger matches an access overlapping [tdata2, tdata2 + length), where the
 * length is QEMU's: the size field's value itself in bytes (1, 2, 3 for type 2; 1, 2, 3,
 * 5 for type 6), or 4 (type 2) / 8 (type 6) when it is 0 ("any"). AMOs are loads and
 * stores; LR is a load, SC a store. The mode is the hart's privilege (not MPRV's).
 */
export const TRIGGER_COUNT = 2;
/** tinfo: the types every trigger supports, 2 (mcontrol) and 6 (mcontrol6). */
export const TINFO = (1 << 2) | (1 << 6);
/** tdata1 of a trigger at reset: type 2, nothing enabled. */
export const TDATA1_RESET = 0x2000_0000;

const TYPE2 = 2;
const TYPE6 = 6;
const LOAD = 1;
const STORE = 2;
const EXEC = 4;
const MODES = (1 << 6) | (1 << 4) | (1 << 3);
const TYPE2_KEEP = 0x0003_005f;
const TYPE6_KEEP = 0x0180_005f;
const TYPE6_SIZE = 0x000f_0000;
const TYPE6_SIZES = new Set([0, 1, 2, 3, 5]);

/** Load/store kinds for `Triggers.hitsData`. */
export const TriggerAccess = { Load: LOAD, Store: STORE, Both: LOAD | STORE } as const;

export class Triggers {
  select = 0;
  readonly tdata1 = new Uint32Array(TRIGGER_COUNT).fill(TDATA1_RESET);
  readonly tdata2 = new Uint32Array(TRIGGER_COUNT);
  /** Some trigger matches instruction addresses in some mode (the hart then checks fetches). */
  execArmed = false;
  /** Some trigger matches loads or stores in some mode (the hart then checks accesses). */
  dataArmed = false;

  /** What tdata1 reads after a write of `v` over `old` (WARL, see the class comment). */
  static legalize(v: number, old: number): number {
    const type = v >>> 28;
    if (type === TYPE2) return ((TYPE2 << 28) | (v & TYPE2_KEEP)) >>> 0;
    if (type === TYPE6) {
      const size = (v & TYPE6_SIZE) >>> 16;
      return ((TYPE6 << 28) | (v & TYPE6_KEEP) | (TYPE6_SIZES.has(size) ? v & TYPE6_SIZE : 0)) >>> 0;
    }
    return old >>> 0;
  }

  /** Whether `v` is a tdata1 value a write can produce (for restoring saved state). */
  static isLegal(v: number): boolean {
    return Triggers.legalize(v, TDATA1_RESET) === v >>> 0 && (v >>> 28 === TYPE2 || v >>> 28 === TYPE6);
  }

  writeSelect(v: number): void {
    if (v >>> 0 < TRIGGER_COUNT) this.select = v >>> 0;
  }

  writeTdata1(v: number): void {
    this.tdata1[this.select] = Triggers.legalize(v, this.tdata1[this.select]!);
    this.changed();
  }

  writeTdata2(v: number): void {
    this.tdata2[this.select] = v >>> 0;
  }

  /** Puts back saved state (already checked). */
  load(select: number, tdata1: ArrayLike<number>, tdata2: ArrayLike<number>): void {
    this.select = select;
    this.tdata1.set(tdata1);
    this.tdata2.set(tdata2);
    this.changed();
  }

  /** Recomputes `execArmed` and `dataArmed`. */
  changed(): void {
    let exec = false;
    let data = false;
    for (const t of this.tdata1) {
      if ((t & MODES) === 0) continue;
      if (t & EXEC) exec = true;
      if (t & (LOAD | STORE)) data = true;
    }
    this.execArmed = exec;
    this.dataArmed = data;
  }

  /** Whether an execute trigger fires on the instruction at `pc` in mode `priv`. */
  hitsExec(pc: number, priv: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const t = this.tdata1[i]!;
      if ((t & EXEC) !== 0 && ((t >>> (3 + priv)) & 1) !== 0 && this.tdata2[i] === pc >>> 0) return true;
    }
    return false;
  }

  /** Whether a load/store trigger fires on an access of `size` bytes at `va` (`kind`: TriggerAccess) in mode `priv`. */
  hitsData(va: number, size: number, kind: number, priv: number): boolean {
    const a = va >>> 0;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const t = this.tdata1[i]!;
      if ((t & kind) === 0 || ((t >>> (3 + priv)) & 1) === 0) continue;
      const start = this.tdata2[i]!;
      const sizeField = t >>> 28 === TYPE6 ? (t >>> 16) & 15 : (t >>> 16) & 3;
      const length = sizeField !== 0 ? sizeField : t >>> 28 === TYPE6 ? 8 : 4;
      if (a < start + length && start < a + size) return true;
    }
    return false;
  }
}
