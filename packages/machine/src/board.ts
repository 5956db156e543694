import type { SegmentReader } from "@amber/checkpoint";
import { Hart, TDATA1_RESET } from "@amber/isa";
import { AddressSpace, Ram, type RamBaseline } from "@amber/memory";
import { DEFAULT_RAM_SIZE, VIRT } from "./board-layout.js";
import { Clint } from "./devices/clint.js";
import { Plic } from "./devices/plic.js";
import { type FinisherRequest, SifiveTest } from "./devices/sifive-test.js";
import type { DiskBaseline } from "./devices/tracked-disk.js";
import { TrackedDisk } from "./devices/tracked-disk.js";
import { Uart16550 } from "./devices/uart16550.js";
import { VirtioBalloon } from "./devices/virtio-balloon.js";
import { type DiskBackend, VirtioBlk } from "./devices/virtio-blk.js";
import { GuestClock } from "./guest-clock.js";
import { CapturedIo, type HostIo } from "./host-io.js";
import { MachineError } from "./machine-error.js";
import { type HeapInfo, Semihosting } from "./semihosting.js";

export interface MachineOptions {
  /** RAM size in bytes (default 128 MiB), a multiple of 4 KiB. */
  ramSize?: number;
  io?: HostIo;
  /** What SYS_GET_CMDLINE returns. */
  cmdline?: string;
  /** Nominal speed that turns instruction counts into guest time (default 100 M/s). */
  instructionsPerSecond?: number;
  /** Kernel command line placed in the device tree's /chosen/bootargs. */
  bootargs?: string;
  /** Compile hot guest code (default true); false runs the plain interpreter. */
  jit?: boolean;
  /** The compiler's back end: "wasm" (default, where the host allows it) or "js" (see `HartOptions.compiler`). */
  compiler?: "wasm" | "js";
  /** Let the wasm back end compile on a worker thread (default false; see `HartOptions.compileInBackground`). */
  compileInBackground?: boolean;
  /**
   * Take guest time from the host's clock instead of from instructions, for interactive
   * use: an idle guest then sleeps in `wfi` instead of racing through timer ticks.
   * Runs are no longer deterministic. `now` is in milliseconds; `sleep` may return early.
   */
  hostTime?: { now(): number; sleep(ms: number): void };
  /**
   * Block devices in the virtio-mmio slots, disk i at 0x1000_1000 + i·0x1000 on PLIC
   * source 1+i (QEMU virt's wiring); at most 8. The other slots (and undefined entries)
   * are empty, as on QEMU. See `MachineDisk` for what a machine with disks needs to be saved.
   */
  disks?: readonly (DiskBackend | MachineDisk | undefined)[];
  /**
   * A virtio memory balloon with free page reporting in the last virtio slot (`BALLOON_SLOT`:
   * 0x1000_8000, PLIC source 8, where QEMU puts the first `-device` on virt), which a disk
   * then cannot use. Pages the guest reports free are dropped (they read as zero), so saved
   * images omit them. A saved machine keeps it (restore needs no option).
   */
  balloon?: boolean;
  /**
   * Most bytes of RAM page copies kept so that an incremental save against the baseline
   * (see `beginSave`) takes the parent's pages from memory instead of decoding them from
   * the parent's file (default 64 MiB; 0 keeps none: same images, slower saves).
   */
  baselineBytes?: number;
  /**
   * Once this machine has run 100,000 steps (a guest that runs that long is likely to run
   * much longer), run a small built-in program once per process (and per back end) on a
   * throwaway machine, so V8 optimises the interpreter once instead of again each time
   * the guest meets a new path (default true; see `warmUpOnce`). The machine itself is unaffected:
   * same steps, output and state either way.
   */
  warmUp?: boolean;
}

/**
 * A disk in a virtio slot. A machine with disks can be saved: the image records the base
 * (`source`, `format`, its size and content fingerprint) and stores the pages the guest
 * wrote since the disk was attached, so `backend` must hold the base's content, unwritten,
 * when the machine is built, and keep the guest's writes somewhere other than the base
 * (as `@amber/image` does for a disk opened without `writable`).
 */
export interface MachineDisk {
  backend: DiskBackend;
  readOnly?: boolean;
  /** Where the base comes from (e.g. its path), recorded in saves to find it again. */
  source?: string;
  /** The base's format ("raw", "qcow2", "amber"), recorded in saves. */
  format?: string;
  /**
   * The backend writes into the base itself (e.g. a disk opened rw): a save could only
   * refer to a base that no longer holds the saved content, so such a machine cannot be saved.
   */
  writesThrough?: boolean;
}

/** A disk in a virtio slot, as `attachedDisks` reports it. */
export interface AttachedDisk {
  slot: number;
  backend: DiskBackend;
  source: string;
  format: string;
  size: number;
  readOnly: boolean;
  /** 4 KiB pages the guest wrote since the disk was attached (a restored world's included). */
  writtenPages: number;
}

export const DEFAULT_BASELINE_BYTES = 64 << 20;

/** Longest wait for input in one go when the guest has nothing else to do. */
const INPUT_WAIT_MS = 50;
/** CLINT timer frequency, QEMU virt's `timebase-frequency`. */
export const TIMEBASE_HZ = 10_000_000;
/** PLIC source number of the UART on QEMU's virt. */
export const UART_IRQ = 10;
/** PLIC source of virtio-mmio slot 0 on QEMU's virt (slot i uses 1+i). */
export const VIRTIO_IRQ = 1;
/** The virtio slot of the balloon (`MachineOptions.balloon`): the last, 0x1000_8000. */
export const BALLOON_SLOT = 7;
const MIP_MSIP = 3;
const MIP_MTIP = 7;
const MIP_MEIP = 11;
const MIP_SEIP = 9;

/**
 * The `virt` board wired up: one hart, RAM at 0x8000_0000, the boot ROM, the test
 * finisher, CLINT, PLIC, a 16550 UART, the virtio-mmio slots and semihosting, with what
 * the devices tell the hart (interrupts, idling in `wfi`, exit and reset requests).
 * Loading, running and saving build on it (see `Machine`).
 */
export class Board {
  readonly ram: Ram;
  readonly bus = new AddressSpace();
  readonly hart: Hart;
  readonly uart: Uart16550;
  readonly clint: Clint;
  readonly plic: Plic;
  readonly clock: GuestClock;
  /** Cycles spent idle in `wfi` (guest time passes, no instruction runs). */
  idleCycles = 0;
  /**
   * Asked before a `wfi` that only the timer can end skips ahead to it (deterministic time:
   * `cycles` idle cycles at once). False defers the skip: `run` reports the guest "stuck"
   * with `timerHeld` set, a later `canLeaveWait` asks again, and the next `run` (a step, a
   * continue after an interrupt) settles the `wfi` first as if never held. So a host that can
   * wait without blocking (the gdb server) paces an idle guest to the wall clock instead of
   * running its timer ticks back to back, and the guest sees the same: the skip happens at
   * the same step with the same length, and input that came meanwhile is taken at that step
   * (as it would have been there). Undefined (the default): always skip at once.
   */
  idleGate: ((cycles: number) => boolean) | undefined;
  /** Whether the guest waits in a `wfi` whose skip to the timer `idleGate` deferred (not a wait for input). */
  timerHeld = false;
  protected readonly hostTime: MachineOptions["hostTime"];
  readonly io: HostIo;
  protected readonly semihosting: Semihosting;
  protected exitCode: number | undefined;
  protected imageEnd: number = VIRT.ram.base;
  protected consoleBuffer: number[] = [];
  protected readonly bootargs: string | undefined;
  protected fdtAddress = 0;
  protected initrd: { start: number; end: number } | undefined;
  protected resetPending = false;
  /** The back end to warm up (`MachineOptions.warmUp`), undefined once done or when off. */
  protected warmUpPending: Pick<MachineOptions, "jit" | "compiler"> | undefined;
  /** The step count at which to look again whether to warm up (set by the first run). */
  protected warmUpAt = -1;
  /** Where the window the warm-up looks at began: `hart.steps` and `hart.compiledSteps` then. */
  protected warmUpWindow = { steps: 0, compiled: 0, until: 0 };
  protected cmdline: string;
  /** By virtio slot, the attached disks with their written-page tracking. */
  protected readonly disks: (TrackedDisk | undefined)[] = [];
  /** The RAM segment this machine was restored from: pages not yet touched are still only there. */
  protected restoredRam: SegmentReader | undefined;
  /** The image restored from or last saved (committed), with RAM kept as at its instant. */
  protected baseline: { digest: string; ram: RamBaseline } | undefined;
  protected readonly baselineBytes: number;
  /** Whether a `beginSave` has not ended yet. */
  protected saving = false;

  constructor(options: MachineOptions = {}) {
    const ramSize = options.ramSize ?? DEFAULT_RAM_SIZE;
    if (!Number.isInteger(ramSize) || ramSize < 4096 || ramSize % 4096 !== 0 || ramSize > 0x8000_0000) {
      throw new MachineError(
        "CONFIG_INVALID",
        `RAM size ${ramSize} is invalid: it must be a multiple of 4 KiB between 4 KiB and 2 GiB`,
      );
    }
    this.io = options.io ?? new CapturedIo();
    // Flat RAM (one WebAssembly.Memory) for the hart's WebAssembly back end.
    const flat = options.jit !== false && options.compiler !== "js";
    // Made flat when the compiler first needs it: a machine costs what it runs.
    this.ram = new Ram({ base: VIRT.ram.base, size: ramSize, flat: flat ? "lazy" : false });
    this.bus.addRam("ram", this.ram);
    this.bootargs = options.bootargs;
    this.cmdline = options.cmdline ?? "";
    this.baselineBytes = Math.max(0, options.baselineBytes ?? DEFAULT_BASELINE_BYTES);
    if (options.warmUp === false) this.warmUpAt = Number.POSITIVE_INFINITY;
    else this.warmUpPending = { jit: options.jit, compiler: options.compiler };
    this.hart = new Hart(this.bus, {
      time: () => this.clint.mtime(),
      jit: options.jit,
      compiler: options.compiler,
      compileInBackground: options.compileInBackground,
    });
    this.hart.attachRam(this.ram);
    const ips = options.instructionsPerSecond ?? 100_000_000;
    const host = options.hostTime;
    this.hostTime = host;
    const started = host?.now() ?? 0;
    this.clock = new GuestClock(
      host === undefined
        ? () => this.hart.liveSteps + this.idleCycles
        : () => Math.floor(((host.now() - started) * ips) / 1000),
      ips,
    );
    this.clint = new Clint(
      () => this.clock.ticks(TIMEBASE_HZ),
      () => this.interruptsChanged(),
    );
    this.plic = new Plic((context, level) => {
      this.hart.csr.setPending(context === 0 ? MIP_MEIP : MIP_SEIP, level);
      this.hart.requestStop();
    });
    this.uart = new Uart16550(
      (byte) => this.consoleBuffer.push(byte),
      (max) => this.io.stdin(max),
      (level) => this.plic.setLevel(UART_IRQ, level),
    );
    this.bus.addDevice(VIRT.test.base, new SifiveTest((request) => this.onFinisher(request)));
    this.bus.addDevice(VIRT.clint.base, this.clint);
    this.bus.addDevice(VIRT.plic.base, this.plic);
    this.bus.addDevice(VIRT.uart0.base, this.uart);
    this.attachVirtio(options.disks ?? [], options.balloon === true);
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

  protected mrom(): Uint8Array {
    const mrom = this.bus.map.find((r) => r.kind === "rom" && r.name === "mrom");
    if (mrom?.kind !== "rom") throw new Error("the board has no boot ROM");
    return mrom.bytes;
  }

  /**
   * The virtio-mmio slots by index: block devices (empty ones read as QEMU's: magic,
   * version 2, device id 0); undefined at `BALLOON_SLOT` when the balloon is there.
   */
  readonly virtio: (VirtioBlk | undefined)[] = [];
  /** The memory balloon (`MachineOptions.balloon`), if the board has one. */
  balloon: VirtioBalloon | undefined;
  protected readonly diskReadOnly: boolean[] = [];

  protected attachVirtio(disks: NonNullable<MachineOptions["disks"]>, balloon: boolean): void {
    if (disks.length > VIRT.virtio.count) {
      throw new MachineError(
        "CONFIG_INVALID",
        `${disks.length} disks: the virt board has ${VIRT.virtio.count} virtio slots`,
      );
    }
    if (balloon && disks[BALLOON_SLOT] !== undefined) {
      throw new MachineError(
        "CONFIG_INVALID",
        `a disk in virtio slot ${BALLOON_SLOT}, which the balloon takes: at most ${BALLOON_SLOT} disks with a balloon`,
      );
    }
    // Device DMA goes through Ram.readBytes/writeBytes so that dirty-page tracking sees it.
    const dma = {
      read: (address: number, length: number) => {
        const offset = address - this.ram.base;
        return this.ram.contains(offset, length) ? this.ram.readBytes(offset, length) : undefined;
      },
      write: (address: number, data: Uint8Array) => {
        const offset = address - this.ram.base;
        if (!this.ram.contains(offset, data.length)) return false;
        this.ram.writeBytes(offset, data);
        return true;
      },
      discard: (address: number, length: number) => {
        const offset = address - this.ram.base;
        if (!this.ram.contains(offset, length)) return undefined;
        // The 4 KiB pages wholly inside the range.
        const first = Math.ceil(offset / 4096);
        const end = Math.floor((offset + length) / 4096);
        let dropped = 0;
        for (let p = first; p < end; p++) if (this.ram.discardPage(p)) dropped++;
        return dropped;
      },
    };
    for (let i = 0; i < VIRT.virtio.count; i++) {
      if (balloon && i === BALLOON_SLOT) {
        this.disks.push(undefined);
        this.diskReadOnly.push(false);
        this.virtio.push(undefined);
        this.balloon = new VirtioBalloon(`virtio${i}`, dma, (level) =>
          this.plic.setLevel(VIRTIO_IRQ + i, level),
        );
        this.bus.addDevice(VIRT.virtio.base + i * VIRT.virtio.size, this.balloon);
        continue;
      }
      const given = disks[i];
      const d: MachineDisk | undefined =
        given === undefined ? undefined : "backend" in given ? given : { backend: given };
      const tracked =
        d === undefined
          ? undefined
          : new TrackedDisk(d.backend, d.source ?? "", d.format ?? "", d.writesThrough === true);
      this.disks.push(tracked);
      this.diskReadOnly.push(d?.readOnly === true);
      const readOnly = d?.readOnly === true;
      const irq = (level: boolean) => this.plic.setLevel(VIRTIO_IRQ + i, level);
      const slot = new VirtioBlk(`virtio${i}`, tracked, dma, irq, { readOnly });
      this.virtio.push(slot);
      this.bus.addDevice(VIRT.virtio.base + i * VIRT.virtio.size, slot);
    }
  }

  /** The disks' content now, by slot, kept until each is ended (for a time line going back). */
  keepDiskBaselines(): (DiskBaseline | undefined)[] {
    return this.disks.map((d) => d?.keepBaseline());
  }

  /**
   * The attached disks, for monitors and tools: the slot, the backend the machine reads and
   * writes (e.g. an `@amber/image` Image, with its layers and snoop hooks), where it came
   * from, and how many 4 KiB pages the guest has written since it was attached.
   */
  attachedDisks(): AttachedDisk[] {
    return this.disks.flatMap((d, slot) =>
      d === undefined
        ? []
        : [
            {
              slot,
              backend: d.base,
              source: d.source,
              format: d.format,
              size: d.size,
              readOnly: this.diskReadOnly[slot] === true,
              writtenPages: d.written.size,
            },
          ],
    );
  }

  /** Whether the guest has asked for its command line (semihosting SYS_GET_CMDLINE). */
  get commandLineRead(): boolean {
    return this.semihosting.cmdlineRead;
  }

  /**
   * Replaces the command line (argv[0] and the arguments, space-separated) that
   * SYS_GET_CMDLINE gives, e.g. for a saved world resumed with other arguments before the
   * guest asked for them. Saved with the machine.
   */
  setCommandLine(text: string): void {
    this.cmdline = text;
    this.semihosting.setCommandLine(text);
  }

  /** The command line SYS_GET_CMDLINE gives. */
  get commandLine(): string {
    return this.cmdline;
  }

  /** The guest's exit status once it has exited. */
  get exited(): number | undefined {
    return this.exitCode;
  }

  /** CLINT state changed: bring MSIP/MTIP up to date and let the hart see it at once. */
  protected interruptsChanged(): void {
    this.syncClint();
    this.hart.requestStop();
  }

  protected syncClint(): void {
    this.hart.csr.setPending(MIP_MSIP, this.clint.msip !== 0);
    this.hart.csr.setPending(MIP_MTIP, this.clint.timerPending());
  }

  /** Cycles until the CLINT timer fires (Infinity if it is not armed or already pending). */
  protected cyclesUntilTimer(): number {
    const delta = this.clint.mtimecmp - this.clint.mtime();
    if (delta <= 0 || this.clint.mtimecmp >= Number.MAX_SAFE_INTEGER) return Number.POSITIVE_INFINITY;
    return this.clock.cyclesUntil(TIMEBASE_HZ, delta);
  }

  /**
   * The hart executed `wfi`. If nothing pending is enabled, let guest time pass until
   * the timer fires (unless `idleGate` defers it; not when `ungated`); with no timer armed
   * and no input to come, the guest is stuck.
   */
  protected idle(ungated = false): boolean {
    const csr = this.hart.csr;
    this.timerHeld = false;
    if ((csr.mip & csr.mie) !== 0) return true;
    this.uart.receive();
    if ((csr.mip & csr.mie) !== 0) return true;
    const until = this.cyclesUntilTimer();
    if (this.hostTime !== undefined) {
      // Host time: wait for the timer or for input, a few milliseconds at a time.
      const ms = Number.isFinite(until) ? (until * 1000) / this.clock.instructionsPerSecond : 10;
      this.hostTime.sleep(Math.min(10, Math.max(0, ms)));
      this.syncClint();
      return true;
    }
    if (Number.isFinite(until) && (csr.mie & (1 << MIP_MTIP)) !== 0) {
      if (!ungated && this.idleGate !== undefined && !this.idleGate(until)) {
        this.timerHeld = true;
        return false;
      }
      this.idleCycles += until;
      this.syncClint();
      return true;
    }
    // Only input can wake the guest: wait for it while it may still come (guest time stands still).
    const uart = this.uart;
    if (uart.receiveInterruptEnabled && !uart.inputEnded && this.io.waitForInput !== undefined) {
      this.io.waitForInput(INPUT_WAIT_MS);
      return true;
    }
    return false;
  }

  protected finish(code: number): void {
    this.exitCode = code;
    this.hart.requestStop();
  }

  protected onFinisher(request: FinisherRequest): void {
    if (request.kind === "exit") this.finish(request.code);
    else {
      // The hart holds pc in a local while it runs: apply the reset once it has stopped.
      this.resetPending = true;
      this.hart.requestStop();
    }
  }

  /** Puts the hart back at the boot ROM (RAM keeps its contents, as a warm reset). */
  protected reset(): void {
    this.resetPending = false;
    this.hart.x.fill(0);
    this.hart.pc = VIRT.mrom.base;
    // The debug triggers come back disarmed, as QEMU resets them.
    const triggers = this.hart.csr.triggers;
    triggers.load(
      0,
      triggers.tdata1.map(() => TDATA1_RESET),
      triggers.tdata2.map(() => 0),
    );
    this.hart.csr.onTranslationChange();
  }

  /** What QEMU's SYS_HEAPINFO reports: heap from the image end up to the device tree, stack below it. */
  protected heapInfo(): HeapInfo {
    const top = this.fdtAddress !== 0 ? this.fdtAddress : this.ram.base + this.ram.size;
    return { heapBase: this.imageEnd, heapLimit: top, stackBase: top, stackLimit: this.imageEnd };
  }

  /**
   * Hands the console output gathered so far to the host now (it is otherwise handed over
   * at the end of a run slice): a monitor printing between guest output (a disk trace) calls
   * it first, so the two appear in the order they happened.
   */
  flushConsole(): void {
    if (this.consoleBuffer.length === 0) return;
    this.io.stdout(Uint8Array.from(this.consoleBuffer));
    this.consoleBuffer = [];
  }

  /**
   * The instruction at physical `address` (16 bits when compressed, else 32), or NaN when
   * it is not in RAM or ROM. Reads have no side effects.
   */
  instructionAt(address: number): number {
    const pc = address >>> 0;
    const lo = this.bus.fetch(pc);
    if (Number.isNaN(lo) || (lo & 3) !== 3) return lo;
    return (lo | (this.bus.fetch(pc + 2) << 16)) >>> 0;
  }
}
