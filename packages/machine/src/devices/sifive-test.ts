import type { MmioDevice } from "@amber/memory";

/** What a write to the test device asked for. */
export type FinisherRequest = { kind: "exit"; code: number } | { kind: "reset" };

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

/**
 * SiFive's test finisher at 0x0010_0000: writing 0x5555 powers off with status 0,
 * 0x3333 | (code << 16) with status `code`, 0x7777 resets, as QEMU's `sifive_test`.
 * Other values and other offsets are ignored. Halfword and word accesses only, as QEMU's
 * (a halfword write at 0 acts on its 16 bits: code 0); byte accesses are access faults.
 */
export class SifiveTest implements MmioDevice {
  readonly name = "sifive_test";
  readonly size = 0x1000;

  constructor(private readonly onRequest: (request: FinisherRequest) => void) {}

  read(_offset: number, size: 1 | 2 | 4): number {
    return size === 1 ? Number.NaN : 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (size === 1) return false;
    if (offset !== 0) return true;
    const status = value & 0xffff;
    const code = (value >>> 16) & 0xffff;
    if (status === FINISHER_PASS) this.onRequest({ kind: "exit", code: 0 });
    else if (status === FINISHER_FAIL) this.onRequest({ kind: "exit", code });
    else if (status === FINISHER_RESET) this.onRequest({ kind: "reset" });
    return true;
  }
}
