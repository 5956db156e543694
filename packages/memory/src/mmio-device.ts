/**
 * A memory-mapped device. Offsets are relative to the device's base; a read that
 * nothing answers returns NaN and a refused write returns false (an access fault).
 */
export interface MmioDevice {
  readonly name: string;
  /** Size of the register window in bytes. */
  readonly size: number;
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): boolean;
}
