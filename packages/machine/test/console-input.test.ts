import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Uart16550 } from "../src/devices/uart16550.js";
import { CapturedIo, type HostIo, Machine } from "../src/index.js";

const LISP = readFileSync(fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url)));
const RBR = 0;
const FCR = 2;
const LSR = 5;
const IER = 1;

/** Host input that records how much the UART asked for each time. */
function source(bytes: number[]): { input: (max: number) => Uint8Array | null; asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    input: (max) => {
      asked.push(max);
      if (bytes.length === 0) return null;
      return Uint8Array.from(bytes.splice(0, max));
    },
  };
}

describe("the UART's receive side (flow control, not overrun)", () => {
  it("asks the host only for the room its receive buffer has: 1 byte without FIFO, up to 16 with", () => {
    const data = Array.from({ length: 40 }, (_, i) => i + 1);
    const src = source([...data]);
    const uart = new Uart16550(() => {}, src.input);
    const got: number[] = [];
    const drain = (n: number) => {
      for (let i = 0; i < n && uart.read(LSR, 1) & 1; i++) got.push(uart.read(RBR, 1));
    };
    drain(3); // FIFO off: one byte at a time
    expect(src.asked.every((m) => m <= 1)).toBe(true);
    uart.write(FCR, 1, 0x01); // FIFO on
    src.asked.length = 0;
    uart.read(LSR, 1);
    expect(src.asked).toEqual([16]);
    got.push(uart.read(RBR, 1));
    uart.read(LSR, 1);
    expect(src.asked.at(-1)).toBe(1); // 15 still held: room for one more
    drain(100);
    expect(got).toEqual(data); // every byte, in order, none dropped
    expect(uart.inputEnded).toBe(true);
  });

  it("offers input by itself only to a guest that enabled the received-data interrupt", () => {
    const src = source([65, 66]);
    const levels: boolean[] = [];
    const uart = new Uart16550(
      () => {},
      src.input,
      (l) => levels.push(l),
    );
    uart.offerInput();
    expect(src.asked).toEqual([]);
    uart.write(IER, 1, 0x01);
    uart.offerInput();
    expect(src.asked).toEqual([1]);
    expect(levels.at(-1)).toBe(true);
  });
});

/** Lisp's console: the script available at once, as from a file or a full pipe. */
function lispRun(script: string, slices: number[] | undefined) {
  const io = new CapturedIo(script);
  const m = new Machine({ io });
  m.loadElf(LISP);
  let outcome = m.run(0);
  if (slices === undefined) outcome = m.run();
  else {
    for (let i = 0; outcome.kind === "budget"; i++) outcome = m.run(slices[i % slices.length]!);
  }
  return { outcome, steps: m.hart.steps, out: io.stdoutText };
}

describe("console input in deterministic mode", () => {
  it("gives the same run however it is split into calls (input offers fall on fixed instruction counts)", () => {
    const script = `${Array.from({ length: 30 }, (_, i) => `(* ${i} ${i})`).join("\n")}\n(exit 9)\n`;
    const whole = lispRun(script, undefined);
    expect(whole.outcome).toEqual({ kind: "exited", code: 9 });
    expect(whole.out).toContain("841\n");
    const split = lispRun(script, [1_000_003, 77_777, 3_999_999]);
    expect(split).toEqual(whole);
  }, 120_000);
});

/** Input that only comes after the host waited for it a few times (a pipe written later). */
class LateInput implements HostIo {
  out = "";
  waits = 0;
  private line: Uint8Array | undefined;

  constructor(
    text: string,
    private readonly after: number,
  ) {
    this.line = new TextEncoder().encode(text);
  }

  stdout(data: Uint8Array): void {
    this.out += new TextDecoder().decode(data);
  }
  stderr(data: Uint8Array): void {
    this.stdout(data);
  }
  stdin(max: number): Uint8Array | null {
    if (this.waits < this.after || this.line === undefined) return new Uint8Array(0);
    const chunk = this.line.subarray(0, max);
    this.line = this.line.subarray(chunk.length);
    return chunk;
  }
}

describe("a guest waiting for input that is still to come", () => {
  it("waits for it (the host's waitForInput) instead of being reported stuck", () => {
    const io = new LateInput("(exit 4)\n", 3) as LateInput & HostIo;
    io.waitForInput = () => {
      io.waits++;
    };
    const m = new Machine({ io });
    m.loadElf(LISP);
    expect(m.run()).toEqual({ kind: "exited", code: 4 });
    expect(io.waits).toBeGreaterThanOrEqual(3);
    expect(io.out).toContain("lisp> ");
  }, 60_000);

  it("is reported stuck when the host cannot wait (the REPL then waits for the next line)", () => {
    const io = new LateInput("(exit 4)\n", 3);
    const m = new Machine({ io });
    m.loadElf(LISP);
    expect(m.run().kind).toBe("stuck");
  }, 60_000);
});
