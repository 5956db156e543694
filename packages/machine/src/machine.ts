import { Hart, StopReason, causeName, disassemble } from "@amber/isa";
import { AddressSpace, Ram } from "@amber/memory";
import { DEFAULT_RAM_SIZE, VIRT } from "./board-layout.js";
import { type FinisherRequest, SifiveTest } from "./devices/sifive-test.js";
import { Uart16550 } from "./devices/uart16550.js";
import { type ElfImage, parseElf } from "./elf.js";
import { GuestClock } from "./guest-clock.js";
import { CapturedIo, type HostIo } from "./host-io.js";
import { MachineError } from "./machine-error.js";
import { resetRom } from "./reset-rom.js";
import { type HeapInfo, Semihosting } from "./semihosting.js";

export interface MachineOptions {
  /** RAM size in bytes (default 128 MiB), a multiple of 4 KiB. */
  ramSize?: number;
  io?: HostIo;
  /** What SYS_GET_CMDLINE returns. */
  cmdline?: string;
  /** Nominal speed that turns instruction counts into guest time (default 100 M/s). */
  instructionsPerSecond?: number;
}

/** Why `Machine.run` returned. */
export type RunOutcome =
  | { kind: "exited"; code: number }
  | { kind: "budget" }
  | { kind: "unhandled-trap"; trap: TrapReport };

/** An exception no guest handler could take, described for a one-line error. */
export interface TrapReport {
  cause: number;
  causeName: string;
  pc: number;
  tval: number;
  /** The instruction bits at pc (NaN when not readable) and their disassembly. */
  bits: number;
  disassembly: string;
}

/** Steps per call into the hart: small enough to flush console output promptly. */
const SLICE = 1 << 22;
const STACK_RESERVE = 1 << 20;

/**
 * The `virt` board: one hart, RAM at 0x8000_0000, the boot ROM, the test finisher,
 * a 16550 UART, and semihosting. Runs deterministically: guest time derives from
 * the step count.
 */
export class Machine {
  readonly ram: Ram;
  readonly bus = new AddressSpace();
  readonly hart: Hart;
  readonly uart: Uart16550;
  readonly clock: GuestClock;
  readonly io: HostIo;
  private readonly semihosting: Semihosting;
  private exitCode: number | undefined;
  private imageEnd: number = VIRT.ram.base;
  private consoleBuffer: number[] = [];
  private resetPending = false;

  constructor(options: MachineOptions = {}) {
    const ramSize = options.ramSize ?? DEFAULT_RAM_SIZE;
    if (!Number.isInteger(ramSize) || ramSize < 4096 || ramSize % 4096 !== 0 || ramSize > 0x8000_0000) {
      throw new MachineError(
        "CONFIG_INVALID",
        `RAM size ${ramSize} is invalid: it must be a multiple of 4 KiB between 4 KiB and 2 GiB`,
      );
    }
    this.io = options.io ?? new CapturedIo();
    this.ram = new Ram({ base: VIRT.ram.base, size: ramSize });
    this.bus.addRam("ram", this.ram);
    this.hart = new Hart(this.bus);
    this.hart.attachRam(this.ram);
    this.clock = new GuestClock(() => this.hart.steps, options.instructionsPerSecond);
    this.uart = new Uart16550(
      (byte) => this.consoleBuffer.push(byte),
      (max) => this.io.stdin(max),
    );
    this.bus.addDevice(VIRT.test.base, new SifiveTest((request) => this.onFinisher(request)));
    this.bus.addDevice(VIRT.uart0.base, this.uart);
    this.bus.addRom("mrom", VIRT.mrom.base, new Uint8Array(VIRT.mrom.size));
    this.semihosting = new Semihosting({
      bus: this.bus,
      io: this.io,
      clock: this.clock,
      cmdline: options.cmdline ?? "",
      heapInfo: () => this.heapInfo(),
      exit: (code) => this.finish(code),
    });
    this.hart.pc = VIRT.mrom.base;
  }

  /** The guest's exit status once it has exited. */
  get exited(): number | undefined {
    return this.exitCode;
  }

  private finish(code: number): void {
    this.exitCode = code;
    this.hart.requestStop();
  }

  private onFinisher(request: FinisherRequest): void {
    if (request.kind === "exit") this.finish(request.code);
    else {
      // The hart holds pc in a local while it runs: apply the reset once it has stopped.
      this.resetPending = true;
      this.hart.requestStop();
    }
  }

  /** Puts the hart back at the boot ROM (RAM keeps its contents, as a warm reset). */
  private reset(): void {
    this.resetPending = false;
    this.hart.x.fill(0);
    this.hart.pc = VIRT.mrom.base;
  }

  private heapInfo(): HeapInfo {
    const ramEnd = this.ram.base + this.ram.size;
    const heapBase = Math.ceil(this.imageEnd / 4096) * 4096;
    return { heapBase, heapLimit: ramEnd - STACK_RESERVE, stackBase: ramEnd, stackLimit: ramEnd - STACK_RESERVE };
  }

  /** Loads an ELF executable into RAM and points the boot ROM at its entry. */
  loadElf(bytes: Uint8Array, name = "program"): ElfImage {
    const image = parseElf(bytes, name);
    const ramStart = this.ram.base;
    const ramEnd = this.ram.base + this.ram.size;
    for (const [i, seg] of image.segments.entries()) {
      if (seg.paddr < ramStart || seg.paddr + seg.memSize > ramEnd) {
        throw new MachineError(
          "ELF_SEGMENT_OUTSIDE_RAM",
          `${name}: segment ${i} at 0x${seg.paddr.toString(16)} (${seg.memSize} bytes) lies outside RAM ` +
            `[0x${ramStart.toString(16)}, 0x${ramEnd.toString(16)})`,
        );
      }
    }
    for (const seg of image.segments) {
      const offset = seg.paddr - ramStart;
      this.ram.writeBytes(offset, seg.fileBytes);
      const bss = seg.memSize - seg.fileBytes.length;
      if (bss > 0) this.ram.writeBytes(offset + seg.fileBytes.length, new Uint8Array(bss));
      this.imageEnd = Math.max(this.imageEnd, seg.paddr + seg.memSize);
    }
    const rom = resetRom(image.entry, 0);
    const mrom = this.bus.map.find((r) => r.kind === "rom" && r.name === "mrom");
    if (mrom?.kind === "rom") mrom.bytes.set(rom);
    this.hart.flushDecodeCache();
    return image;
  }

  private flushConsole(): void {
    if (this.consoleBuffer.length === 0) return;
    this.io.stdout(Uint8Array.from(this.consoleBuffer));
    this.consoleBuffer = [];
  }

  /**
   * Runs until the guest exits, `maxSteps` more steps are taken, or a trap has no
   * handler. Deterministic: the outcome depends only on the state and the input.
   */
  run(maxSteps = Number.POSITIVE_INFINITY): RunOutcome {
    const hart = this.hart;
    const stopAt = hart.steps + maxSteps;
    try {
      while (this.exitCode === undefined) {
        const remaining = stopAt - hart.steps;
        if (remaining <= 0) return { kind: "budget" };
        const reason = hart.run(Math.min(remaining, SLICE));
        switch (reason) {
          case StopReason.Semihosting: {
            this.flushConsole();
            const x = hart.x;
            x[10] = this.semihosting.call(x[10]! >>> 0, x[11]! >>> 0);
            break;
          }
          case StopReason.UnhandledTrap:
            return { kind: "unhandled-trap", trap: this.trapReport() };
          default:
            break;
        }
        if (this.resetPending) this.reset();
        this.flushConsole();
      }
      return { kind: "exited", code: this.exitCode };
    } finally {
      this.flushConsole();
    }
  }

  private trapReport(): TrapReport {
    const csr = this.hart.csr;
    const pc = csr.mepc;
    const lo = this.bus.fetch(pc);
    const bits = Number.isNaN(lo) ? Number.NaN : (lo & 3) === 3 ? (lo | (this.bus.fetch(pc + 2) << 16)) >>> 0 : lo;
    return {
      cause: csr.mcause,
      causeName: causeName(csr.mcause),
      pc,
      tval: csr.mtval,
      bits,
      disassembly: Number.isNaN(bits) ? "(not readable)" : disassemble(bits, pc),
    };
  }
}
