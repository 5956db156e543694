import type { FieldRecord } from "@amber/checkpoint";
import type { MmioDevice } from "@amber/memory";

const SOURCES = 96; // source 0 is reserved; QEMU's virt has riscv,ndev = 95
const PRIORITY = 0x000000;
const PENDING = 0x001000;
const ENABLE = 0x002000;
const ENABLE_STRIDE = 0x80;
const CONTEXT = 0x200000;
const CONTEXT_STRIDE = 0x1000;

export interface PlicState {
  priority: Uint32Array;
  level: Uint8Array;
  pending: Uint8Array;
  claimed: Uint8Array;
  enable0: Uint32Array;
  enable1: Uint32Array;
  threshold: Uint32Array;
  /** Levels of the two context outputs (MEIP, SEIP), 0 or 1. */
  output: Uint8Array;
}

/**
 * Reads a PLIC saved with state version 1 (Amber before the latching gateway), whose
 * completion re-pended a claimed source if its line was still high. Such a source gets
 * its request latched (pending = 1), so the completion the guest is about to write offers
 * it again, as it would have. Fields of unexpected types are left to the section's checks.
 */
export function upgradePlicStateV1(fields: FieldRecord): FieldRecord {
  const { level, pending, claimed } = fields;
  if (!(level instanceof Uint8Array && pending instanceof Uint8Array && claimed instanceof Uint8Array)) {
    return fields;
  }
  const latched = pending.slice();
  const n = Math.min(latched.length, level.length, claimed.length);
  for (let s = 0; s < n; s++) if (claimed[s] === 1 && level[s] === 1) latched[s] = 1;
  return { ...fields, pending: latched };
}

/**
 * SiFive's platform-level interrupt controller with two contexts for hart 0, as QEMU's
 * `virt` numbers them: context 0 drives MEIP, context 1 drives SEIP.
 *
 * The gateway is QEMU 7.2's (`sifive_plic_irq_request`, with the 2024 fix "hw/intc:
 * Don't clear pending bits on IRQ lowering" that Debian's 7.2.22 carries): a device
 * that reports its line high sets the source's pending bit, also while the source is
 * claimed; a line going low leaves the bit alone. Only a claim clears it. A claimed
 * source is not offered again until it is completed, and completion does not look at
 * the line: a source still high pends again only when its device next reports the
 * level (QEMU's devices re-report on their own register accesses, and so do ours).
 * `level` records the last level reported, for inspection; no decision depends on it.
 */
export class Plic implements MmioDevice {
  readonly name = "plic";
  readonly size = 0x60_0000;
  private readonly priority = new Uint32Array(SOURCES);
  private readonly level = new Uint8Array(SOURCES);
  private readonly pending = new Uint8Array(SOURCES);
  private readonly claimed = new Uint8Array(SOURCES);
  private readonly enable: Uint32Array[] = [new Uint32Array(SOURCES / 32), new Uint32Array(SOURCES / 32)];
  private readonly threshold = new Uint32Array(2);
  private readonly output = [false, false];

  /** `notify(context, level)` drives the hart's MEIP (context 0) and SEIP (context 1). */
  constructor(private readonly notify: (context: number, level: boolean) => void) {}

  /** Every register and line, for a checkpoint. */
  saveState(): PlicState {
    return {
      priority: this.priority.slice(),
      level: this.level.slice(),
      pending: this.pending.slice(),
      claimed: this.claimed.slice(),
      enable0: this.enable[0]!.slice(),
      enable1: this.enable[1]!.slice(),
      threshold: this.threshold.slice(),
      output: Uint8Array.from(this.output, (o) => (o ? 1 : 0)),
    };
  }

  /** Puts back what `saveState` gave, without notifying the hart (its mip is restored too). */
  loadState(s: PlicState): void {
    this.priority.set(s.priority);
    this.level.set(s.level);
    this.pending.set(s.pending);
    this.claimed.set(s.claimed);
    this.enable[0]!.set(s.enable0);
    this.enable[1]!.set(s.enable1);
    this.threshold.set(s.threshold);
    this.output[0] = s.output[0] === 1;
    this.output[1] = s.output[1] === 1;
  }

  /** A device raises or lowers its interrupt line. */
  setLevel(source: number, high: boolean): void {
    if (source <= 0 || source >= SOURCES) return;
    this.level[source] = high ? 1 : 0;
    if (!high) return; // a falling line leaves a latched request pending until claimed
    this.pending[source] = 1;
    this.update();
  }

  private enabled(context: number, source: number): boolean {
    return ((this.enable[context]![source >>> 5]! >>> (source & 31)) & 1) === 1;
  }

  /** The pending, unclaimed, enabled source of highest priority above the threshold (0 if none). */
  private best(context: number): number {
    let best = 0;
    let bestPriority = this.threshold[context]!;
    for (let s = 1; s < SOURCES; s++) {
      if (
        this.pending[s] === 1 &&
        this.claimed[s] === 0 &&
        this.enabled(context, s) &&
        this.priority[s]! > bestPriority
      ) {
        best = s;
        bestPriority = this.priority[s]!;
      }
    }
    return best;
  }

  private update(): void {
    for (let c = 0; c < 2; c++) {
      const level = this.best(c) !== 0;
      if (level !== this.output[c]) {
        this.output[c] = level;
        this.notify(c, level);
      }
    }
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 4) return Number.NaN;
    if (offset < PENDING) return this.priority[(offset - PRIORITY) >>> 2] ?? 0;
    if (offset < ENABLE) {
      const word = (offset - PENDING) >>> 2;
      let bits = 0;
      for (let i = 0; i < 32; i++) if (this.pending[word * 32 + i] === 1) bits |= 1 << i;
      return bits >>> 0;
    }
    if (offset < CONTEXT) {
      const context = Math.floor((offset - ENABLE) / ENABLE_STRIDE);
      const word = ((offset - ENABLE) % ENABLE_STRIDE) >>> 2;
      return this.enable[context]?.[word] ?? 0;
    }
    const context = Math.floor((offset - CONTEXT) / CONTEXT_STRIDE);
    if (context > 1) return 0;
    const reg = (offset - CONTEXT) % CONTEXT_STRIDE;
    if (reg === 0) return this.threshold[context]!;
    if (reg === 4) {
      const source = this.best(context);
      if (source !== 0) {
        this.pending[source] = 0;
        this.claimed[source] = 1;
        this.update();
      }
      return source;
    }
    return 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (size !== 4) return false;
    const v = value >>> 0;
    if (offset < PENDING) {
      const source = (offset - PRIORITY) >>> 2;
      if (source > 0 && source < SOURCES) this.priority[source] = v & 7;
    } else if (offset < ENABLE) {
      // pending bits are read-only
    } else if (offset < CONTEXT) {
      const context = Math.floor((offset - ENABLE) / ENABLE_STRIDE);
      const word = ((offset - ENABLE) % ENABLE_STRIDE) >>> 2;
      const bank = this.enable[context];
      if (bank !== undefined && word < bank.length) bank[word] = v; // bit 0 too, as QEMU's (source 0 never pends)
    } else {
      const context = Math.floor((offset - CONTEXT) / CONTEXT_STRIDE);
      if (context > 1) return true;
      const reg = (offset - CONTEXT) % CONTEXT_STRIDE;
      if (reg === 0) this.threshold[context] = v & 7;
      // Completion with any source's id ends its claim, from either context, as QEMU's.
      else if (reg === 4 && v > 0 && v < SOURCES) this.claimed[v] = 0;
    }
    this.update();
    return true;
  }
}
