import type { MmioDevice } from "@amber/memory";

/** What a write to the test device asked for. */
export type FinisherRequest = { kind: "exit"; code: number } | { kind: "reset" };

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

/**
 * SiFive's test finisher at 0x0010_0000: writing 0x5555 powers off with status 0,
 * 0x3333 | (code << 16) with status `code`, 0x7777 resets, as QEMU's `sifive_test`.
 * Other values and other offsets are ignored.
 */
export class SifiveTest implements MmioDevice {
  readonly name = "sifive_test";
  readonly size = 0x1000;

  constructor(private readonly onRequest: (request: FinisherRequest) => void) {}

  read(): number {
    return 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (offset !== 0 || size !== 4) return true;
    const status = value & 0xffff;
    const code = (value >>> 16) & 0xffff;
    if (status === FINISHER_PASS) this.onRequest({ kind: "exit", code: 0 });
    else if (status === FINISHER_FAIL) this.onRequest({ kind: "exit", code });
    else if (status === FINISHER_RESET) this.onRequest({ kind: "reset" });
    return true;
  }
}
