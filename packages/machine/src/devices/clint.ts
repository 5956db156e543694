import type { MmioDevice } from "@amber/memory";

const MSIP = 0x0000;
const MTIMECMP = 0x4000;
const MTIME = 0xbff8;
const TWO32 = 0x1_0000_0000;

export interface ClintState {
  msip: number;
  mtimecmp: number;
  mtimeOffset: number;
}

/**
 * SiFive's core-local interruptor for one hart, as QEMU's `virt` has at 0x0200_0000:
 * msip (software interrupt), mtimecmp and mtime. mtime is derived from the board's
 * guest clock, never from the host's, so timer interrupts land on the same
 * instruction every run. `changed` tells the board to re-evaluate MTIP/MSIP.
 *
 * mtime and mtimecmp are 64-bit registers held as JavaScript numbers, so values from 2^53
 * up (28 years of guest time at 10 MHz) saturate at 2^53 − 1 where QEMU keeps all 64 bits:
 * a guest writing a larger value reads back 0x001fffff_ffffffff (MTIP behaves the same).
 */
export class Clint implements MmioDevice {
  readonly name = "clint";
  readonly size = 0x1_0000;
  msip = 0;
  /** Resets to 0 as QEMU's does, so MTIP is pending from the start (harmless: mie is 0). */
  mtimecmp = 0;
  /** Added to the clock's ticks so that guest writes to mtime stick. */
  private mtimeOffset = 0;

  constructor(
    private readonly ticks: () => number,
    private readonly changed: () => void,
  ) {}

  /** The registers, for a checkpoint (mtime as the offset added to the clock). */
  saveState(): ClintState {
    return { msip: this.msip, mtimecmp: this.mtimecmp, mtimeOffset: this.mtimeOffset };
  }

  /** Puts back what `saveState` gave, without notifying the board. */
  loadState(s: ClintState): void {
    this.msip = s.msip;
    this.mtimecmp = s.mtimecmp;
    this.mtimeOffset = s.mtimeOffset;
  }

  mtime(): number {
    return this.ticks() + this.mtimeOffset;
  }

  /** Whether mtime has reached mtimecmp (the MTIP level). */
  timerPending(): boolean {
    return this.mtime() >= this.mtimecmp;
  }

  /** Makes mtime read `value` now, saturated to a safe integer (so a saved offset always restores). */
  private setMtime(value: number): void {
    this.mtimeOffset = Math.min(value, Number.MAX_SAFE_INTEGER) - this.ticks();
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 4) return Number.NaN;
    switch (offset) {
      case MSIP:
        return this.msip;
      case MTIMECMP:
        return (this.mtimecmp % TWO32) >>> 0;
      case MTIMECMP + 4:
        return Math.floor(this.mtimecmp / TWO32) >>> 0;
      case MTIME:
        return (this.mtime() % TWO32) >>> 0;
      case MTIME + 4:
        return Math.floor(this.mtime() / TWO32) >>> 0;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (size !== 4) return false;
    const v = value >>> 0;
    switch (offset) {
      case MSIP:
        this.msip = v & 1;
        break;
      case MTIMECMP:
        this.mtimecmp = Math.floor(this.mtimecmp / TWO32) * TWO32 + v;
        break;
      case MTIMECMP + 4:
        this.mtimecmp = Math.min(v * TWO32 + (this.mtimecmp % TWO32), Number.MAX_SAFE_INTEGER);
        break;
      case MTIME: {
        const now = this.mtime();
        this.setMtime(now - (now % TWO32) + v);
        break;
      }
      case MTIME + 4:
        this.setMtime(v * TWO32 + (this.mtime() % TWO32));
        break;
      default:
        return true;
    }
    this.changed();
    return true;
  }
}
