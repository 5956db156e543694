import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, type HostIo, Machine, VIRT } from "../src/index.js";

// Amber Lisp (tools/guests/lisp): a bare-metal Lisp that reads and prints over the UART.
// Each tests/NAME.lisp is typed into the UART; QEMU's UART output for it is NAME.expected
// and its exit status NAME.exit (recorded by tools/guests/lisp/build.sh).
const LISP = fileURLToPath(new URL("../../../tools/guests/lisp/", import.meta.url));
const ELF = readFileSync(`${LISP}out/lisp.elf`);
const SCRIPTS = readdirSync(`${LISP}tests`)
  .filter((f) => f.endsWith(".lisp"))
  .map((f) => f.slice(0, -".lisp".length))
  .sort();
const BANNER = "Amber Lisp 1.0 \u2014 (exit 0) to power off\n";
const PROMPT = "lisp> ";
const WFI = 0x10500073;

beforeAll(() => initCheckpoint());

/** A console fed by the test as it goes, as the REPL feeds it: no input is "not yet", never the end. */
class FedConsole implements HostIo {
  private queue: number[] = [];
  private out: number[] = [];

  feed(text: string): void {
    this.queue.push(...new TextEncoder().encode(text));
  }

  /** What the guest printed since the last call. */
  take(): string {
    const text = new TextDecoder().decode(Uint8Array.from(this.out));
    this.out = [];
    return text;
  }

  stdout(data: Uint8Array): void {
    this.out.push(...data);
  }

  stderr(data: Uint8Array): void {
    this.stdout(data);
  }

  stdin(max: number): Uint8Array {
    return Uint8Array.from(this.queue.splice(0, max));
  }
}

function boot(io: HostIo, ramSize?: number): Machine {
  const machine = new Machine({ io, ramSize });
  machine.loadElf(ELF, "lisp.elf");
  return machine;
}

/** The instruction before pc is a wfi: the guest went idle waiting for input. */
function idleInWfi(m: Machine, outcome: ReturnType<Machine["run"]>): boolean {
  if (outcome.kind !== "stuck") return false;
  return m.ram.read((outcome.pc - 4 - VIRT.ram.base) >>> 0, 4) >>> 0 === WFI;
}

function runScript(name: string): { machine: Machine; io: CapturedIo; outcome: ReturnType<Machine["run"]> } {
  const io = new CapturedIo(readFileSync(`${LISP}tests/${name}.lisp`));
  const machine = boot(io);
  return { machine, io, outcome: machine.run() };
}

describe("Amber Lisp on the virt board (QEMU goldens)", () => {
  for (const name of SCRIPTS) {
    it(`${name}.lisp: the UART transcript and exit status are QEMU's`, () => {
      const expected = readFileSync(`${LISP}tests/${name}.expected`);
      const code = Number(readFileSync(`${LISP}tests/${name}.exit`, "utf8").trim());
      const { io, outcome } = runScript(name);
      // Text first for a readable diff, then every byte.
      expect(io.stdoutText).toBe(expected.toString("utf8"));
      expect(Buffer.from(io.stdoutBytes).equals(expected)).toBe(true);
      expect(outcome).toEqual({ kind: "exited", code });
    }, 120_000);
  }
});

describe("Amber Lisp as the REPL drives it", () => {
  it("is deterministic: two runs of a script retire the same instructions and leave the same state", () => {
    const a = runScript("closures");
    const b = runScript("closures");
    expect(a.outcome).toEqual({ kind: "exited", code: 0 });
    expect(b.machine.hart.steps).toBe(a.machine.hart.steps);
    expect(b.io.stdoutText).toBe(a.io.stdoutText);
    expect([...b.machine.hart.x]).toEqual([...a.machine.hart.x]);
    expect(b.machine.ram.allocatedPages).toBe(a.machine.ram.allocatedPages);
  });

  it("waits for input in wfi at the prompt, and goes on when more input comes", () => {
    const io = new FedConsole();
    const m = boot(io);
    const first = m.run();
    expect(idleInWfi(m, first)).toBe(true);
    expect(io.take()).toBe(`${BANNER}${PROMPT}`);
    // Still idle: running again without input goes once round the wait loop (claim,
    // look at the UART, wfi) and prints nothing.
    const steps = m.hart.steps;
    expect(idleInWfi(m, m.run())).toBe(true);
    expect(m.hart.steps - steps).toBeLessThan(20);
    expect(io.take()).toBe("");

    io.feed("(define (twice x) (* 2 x))\r");
    expect(idleInWfi(m, m.run())).toBe(true);
    expect(io.take()).toBe(`twice\n${PROMPT}`);

    // A line typed in pieces: nothing is evaluated before the expression is complete.
    io.feed("(twice");
    expect(idleInWfi(m, m.run())).toBe(true);
    expect(io.take()).toBe("");
    io.feed(" 21)\r");
    expect(idleInWfi(m, m.run())).toBe(true);
    expect(io.take()).toBe(`42\n${PROMPT}`);

    // An error returns to the prompt; the definition survives.
    io.feed("(car (twice 1))\r(twice 50)\r");
    expect(idleInWfi(m, m.run())).toBe(true);
    expect(io.take()).toBe(`error: car: not a pair: 2\n${PROMPT}100\n${PROMPT}`);

    io.feed("(exit 3)\r");
    expect(m.run()).toEqual({ kind: "exited", code: 3 });
  });

  it("keeps every definition in a saved world: restored at the prompt, the session goes on", () => {
    const io = new FedConsole();
    const m = boot(io);
    io.feed("(define counter 0)\r(define (tick) (set! counter (+ counter 1)) counter)\r(tick)\r");
    expect(idleInWfi(m, m.run())).toBe(true);
    expect(io.take()).toBe(`${BANNER}${PROMPT}counter\n${PROMPT}tick\n${PROMPT}1\n${PROMPT}`);

    const file = new MemoryBlockFile();
    writeCheckpoint(file, m.checkpointInput());
    const later = new FedConsole();
    const restored = Machine.fromCheckpoint(CheckpointReader.open(file), { io: later });
    later.feed("(tick)\r(tick)\r");
    expect(idleInWfi(restored, restored.run())).toBe(true);
    expect(later.take()).toBe(`2\n${PROMPT}3\n${PROMPT}`);
  });

  it("runs in 8 MiB of RAM: everything it uses lies in the first 5 MiB", () => {
    const expected = readFileSync(`${LISP}tests/closures.expected`, "utf8");
    const io = new CapturedIo(readFileSync(`${LISP}tests/closures.lisp`));
    const m = boot(io, 8 << 20);
    expect(m.run()).toEqual({ kind: "exited", code: 0 });
    expect(io.stdoutText).toBe(expected);
  });

  it("reaches its first prompt quickly, touching few pages", () => {
    const io = new FedConsole();
    const m = boot(io);
    const start = performance.now();
    const outcome = m.run();
    const ms = performance.now() - start;
    expect(idleInWfi(m, outcome)).toBe(true);
    const figures = { steps: m.hart.steps, ms: Math.round(ms), pages: m.ram.allocatedPages };
    console.log(`first prompt: ${JSON.stringify(figures)}`);
    expect(figures.steps).toBeLessThan(1_000_000);
    expect(figures.pages).toBeLessThan(64);
  });
});
