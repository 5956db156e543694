import type { CheckpointInput, CheckpointReader, SegmentReader } from "@amber/checkpoint";
import { causeName, disassemble, Hart, StopReason } from "@amber/isa";
import { AddressSpace, Ram } from "@amber/memory";
import { DEFAULT_RAM_SIZE, VIRT } from "./board-layout.js";
import { writeFdt } from "./device-tree/fdt-writer.js";
import { virtDeviceTree } from "./device-tree/virt-device-tree.js";
import { Clint } from "./devices/clint.js";
import { Plic } from "./devices/plic.js";
import { type FinisherRequest, SifiveTest } from "./devices/sifive-test.js";
import { Uart16550 } from "./devices/uart16550.js";
import { type DiskBackend, VirtioBlk } from "./devices/virtio-blk.js";
import { type ElfImage, parseElf } from "./elf.js";
import { GuestClock } from "./guest-clock.js";
import { CapturedIo, type HostIo } from "./host-io.js";
import { MachineError } from "./machine-error.js";
import {
  CHECKPOINT_MACHINE,
  CSR_FIELDS,
  type MachineState,
  RAM_SEGMENT,
  sectionsToState,
  stateToSections,
} from "./machine-state.js";
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
  /** Kernel command line placed in the device tree's /chosen/bootargs. */
  bootargs?: string;
  /** Compile hot guest code to JavaScript (default true); false runs the plain interpreter. */
  jit?: boolean;
  /**
   * Take guest time from the host's clock instead of from instructions, for interactive
   * use: an idle guest then sleeps in `wfi` instead of racing through timer ticks.
   * Runs are no longer deterministic. `now` is in milliseconds; `sleep` may return early.
   */
  hostTime?: { now(): number; sleep(ms: number): void };
  /**
   * Block devices in the virtio-mmio slots, disk i at 0x1000_1000 + i·0x1000 on PLIC
   * source 1+i (QEMU virt's wiring); at most 8. The other slots are empty, as on QEMU.
   */
  disks?: readonly (DiskBackend | { backend: DiskBackend; readOnly?: boolean })[];
}

/** What a restored machine takes from its host; the rest comes from the checkpoint. */
export type RestoreOptions = Pick<MachineOptions, "io" | "jit">;

/** Who wrote a checkpoint (its header's creator). */
export interface CheckpointCreator {
  name: string;
  version: string;
}

/** Why `Machine.run` returned. */
export type RunOutcome =
  | { kind: "exited"; code: number }
  | { kind: "budget" }
  | { kind: "unhandled-trap"; trap: TrapReport }
  /** `wfi` with no interrupt that could ever arrive: enabled sources all idle, no input. */
  | { kind: "stuck"; pc: number };

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
/** Steps between looks at the timer when guest time follows the host's clock. */
const HOST_TIME_SLICE = 1 << 16;
/** CLINT timer frequency, QEMU virt's `timebase-frequency`. */
export const TIMEBASE_HZ = 10_000_000;
/** PLIC source number of the UART on QEMU's virt. */
const UART_IRQ = 10;
/** PLIC source of virtio-mmio slot 0 on QEMU's virt (slot i uses 1+i). */
const VIRTIO_IRQ = 1;
const MIP_MSIP = 3;
const MIP_MTIP = 7;
const MIP_MEIP = 11;
const MIP_SEIP = 9;

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
  readonly clint: Clint;
  readonly plic: Plic;
  readonly clock: GuestClock;
  /** Cycles spent idle in `wfi` (guest time passes, no instruction runs). */
  idleCycles = 0;
  private readonly hostTime: MachineOptions["hostTime"];
  readonly io: HostIo;
  private readonly semihosting: Semihosting;
  private exitCode: number | undefined;
  private imageEnd: number = VIRT.ram.base;
  private consoleBuffer: number[] = [];
  private readonly bootargs: string | undefined;
  private fdtAddress = 0;
  private initrd: { start: number; end: number } | undefined;
  private resetPending = false;
  private readonly cmdline: string;
  private readonly diskCount: number;
  /** The RAM segment this machine was restored from: pages not yet touched are still only there. */
  private restoredRam: SegmentReader | undefined;

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
    this.bootargs = options.bootargs;
    this.cmdline = options.cmdline ?? "";
    this.diskCount = options.disks?.length ?? 0;
    this.hart = new Hart(this.bus, { time: () => this.clint.mtime(), jit: options.jit });
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
    this.attachVirtio(options.disks ?? []);
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

  /** The whole state but RAM, as plain values (see machine-state.ts). */
  captureState(): MachineState {
    const hart = this.hart;
    const csr = hart.csr;
    const csrState = {} as MachineState["csr"];
    for (const k of CSR_FIELDS) csrState[k] = csr[k];
    csrState.pmpcfg = csr.pmp.cfg.slice();
    csrState.pmpaddr = csr.pmp.addr.slice();
    return {
      board: {
        ramSize: this.ram.size,
        cmdline: this.cmdline,
        bootargs: this.bootargs,
        instructionsPerSecond: this.clock.instructionsPerSecond,
        exitCode: this.exitCode,
        resetPending: this.resetPending,
        idleCycles: this.idleCycles,
        imageEnd: this.imageEnd,
        fdtAddress: this.fdtAddress,
        initrd: this.initrd === undefined ? undefined : { ...this.initrd },
        mrom: this.mrom().slice(),
      },
      hart: {
        x: hart.x.slice(),
        pc: hart.pc,
        priv: csr.priv,
        steps: hart.steps,
        traps: hart.traps,
        reservation: hart.reservation,
        reserved: hart.reserved,
      },
      csr: csrState,
      clint: this.clint.saveState(),
      plic: this.plic.saveState(),
      uart: this.uart.saveState(),
      semihosting: this.semihosting.saveState(),
    };
  }

  /**
   * The machine as checkpoint input for `writeCheckpoint` / `writeCheckpointFile`: one
   * section per part (see machine-state.ts) and RAM as the "ram" segment of the pages that
   * hold data. Call it between runs (never from inside `run`); the pages are read while
   * the image is written, so write it before running on. Refuses (SAVE_UNSUPPORTED) a
   * machine with virtio disks or host time, whose state is partly outside it.
   */
  checkpointInput(creator: CheckpointCreator = { name: "amber", version: "0.1.0" }): CheckpointInput {
    this.checkSavable();
    const ram = this.ram;
    return this.inputWith(
      creator,
      () => ram.allocatedPageIndexes(),
      (i) => ram.page(i),
    );
  }

  /**
   * Starts saving while the guest runs on (save-and-continue): the small state is captured
   * now, RAM through a copy-on-write snapshot, so `input` is exactly the machine at this
   * instant however far the machine runs before (or while) the image is written. The
   * writer reads each page once; `between()`, if given, is called after every `every`
   * pages read (default 64), e.g. to run the machine on for a slice. Call `end()` after
   * writing (or on failure) to drop the page copies.
   */
  beginSave(
    creator: CheckpointCreator = { name: "amber", version: "0.1.0" },
    options: { every?: number; between?: () => void } = {},
  ): { input: CheckpointInput; end(): void; copiedPages(): number } {
    this.checkSavable();
    const snapshot = this.ram.beginSnapshot();
    const every = Math.max(1, options.every ?? 64);
    const between = options.between;
    let read = 0;
    const input = this.inputWith(
      creator,
      () => snapshot.pages(),
      (i) => {
        const bytes = snapshot.readPage(i);
        read++;
        return bytes;
      },
      between === undefined
        ? undefined
        : () => {
            if (read >= every) {
              read = 0;
              between();
            }
          },
    );
    return { input, end: () => snapshot.end(), copiedPages: () => snapshot.copiedPages };
  }

  private checkSavable(): void {
    if (this.diskCount > 0) {
      throw new MachineError(
        "SAVE_UNSUPPORTED",
        "cannot save a machine with virtio disks attached (not supported yet)",
      );
    }
    if (this.hostTime !== undefined) {
      throw new MachineError("SAVE_UNSUPPORTED", "cannot save a machine whose time follows the host's clock");
    }
  }

  /**
   * Checkpoint input with the sections captured now and RAM from `ownPages`/`ownPage`
   * (pages holding data; undefined: take it from the restored image, else the init byte).
   * `beforePage`, if given, is called before each page index is handed to the writer, so
   * only after the previous page's bytes have been consumed.
   */
  private inputWith(
    creator: CheckpointCreator,
    ownPages: () => number[],
    ownPage: (i: number) => Uint8Array | undefined,
    beforePage?: () => void,
  ): CheckpointInput {
    const ram = this.ram;
    const source = this.restoredRam;
    const sorted = (): number[] => {
      const own = ownPages();
      if (source === undefined) return own;
      const all = new Set(own);
      for (const p of source.presentPages()) all.add(p);
      return [...all].sort((a, b) => a - b);
    };
    const pages =
      beforePage === undefined
        ? sorted
        : function* (): Iterable<number> {
            for (const i of sorted()) {
              beforePage();
              yield i;
            }
          };
    const empty = new Uint8Array(4096);
    return {
      machine: CHECKPOINT_MACHINE,
      creator,
      instructionCount: BigInt(this.hart.steps),
      sections: stateToSections(this.captureState()),
      segments: [
        {
          name: RAM_SEGMENT,
          base: BigInt(ram.base),
          size: ram.size,
          pageSize: 4096,
          initByte: ram.initByte,
          pages: {
            pages,
            readPage: (i: number) => ownPage(i) ?? source?.readPage(i) ?? empty,
          },
        },
      ],
    };
  }

  /**
   * A machine in exactly the state `reader` holds: running it on gives what the saved
   * machine would have given. RAM is read lazily, each page on first touch, so `reader`
   * must stay open while the machine runs.
   */
  static fromCheckpoint(reader: CheckpointReader, options: RestoreOptions = {}): Machine {
    const state = sectionsToState(reader, VIRT.mrom.size);
    const segment = reader.findSegment(RAM_SEGMENT);
    const b = state.board;
    if (
      segment === undefined ||
      segment.base !== BigInt(VIRT.ram.base) ||
      segment.size !== b.ramSize ||
      segment.pageSize !== 4096
    ) {
      throw new MachineError(
        "CHECKPOINT_INVALID",
        `${reader.name}: no "${RAM_SEGMENT}" segment of ${b.ramSize} bytes at 0x${VIRT.ram.base.toString(16)} in 4 KiB pages`,
      );
    }
    const machine = new Machine({
      ramSize: b.ramSize,
      io: options.io,
      jit: options.jit,
      cmdline: b.cmdline,
      bootargs: b.bootargs,
      instructionsPerSecond: b.instructionsPerSecond,
    });
    machine.ram.setPageSource((i) => (segment.isPresent(i) ? segment.readPage(i) : undefined));
    machine.restoredRam = segment;
    machine.applyState(state);
    return machine;
  }

  private applyState(s: MachineState): void {
    const b = s.board;
    this.exitCode = b.exitCode;
    this.resetPending = b.resetPending;
    this.idleCycles = b.idleCycles;
    this.imageEnd = b.imageEnd;
    this.fdtAddress = b.fdtAddress;
    this.initrd = b.initrd;
    this.mrom().set(b.mrom);
    const hart = this.hart;
    const csr = hart.csr;
    for (const k of CSR_FIELDS) csr[k] = s.csr[k];
    csr.pmp.load(s.csr.pmpcfg, s.csr.pmpaddr);
    csr.priv = s.hart.priv;
    hart.x.set(s.hart.x);
    hart.x[0] = 0;
    hart.pc = s.hart.pc | 0;
    hart.steps = s.hart.steps;
    hart.traps = s.hart.traps;
    hart.reservation = s.hart.reservation;
    hart.reserved = s.hart.reserved;
    this.clint.loadState(s.clint);
    this.plic.loadState(s.plic);
    this.uart.loadState(s.uart);
    this.semihosting.loadState(s.semihosting);
    // Caches are rebuilt from the restored state: decoded code, compiled regions, translation.
    hart.flushDecodeCache();
    csr.onTranslationChange();
  }

  private mrom(): Uint8Array {
    const mrom = this.bus.map.find((r) => r.kind === "rom" && r.name === "mrom");
    if (mrom?.kind !== "rom") throw new Error("the board has no boot ROM");
    return mrom.bytes;
  }

  /** The eight virtio-mmio slots (empty ones read as QEMU's: magic, version 2, device id 0). */
  readonly virtio: VirtioBlk[] = [];

  private attachVirtio(disks: NonNullable<MachineOptions["disks"]>): void {
    if (disks.length > VIRT.virtio.count) {
      throw new MachineError(
        "CONFIG_INVALID",
        `${disks.length} disks: the virt board has ${VIRT.virtio.count} virtio slots`,
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
    };
    for (let i = 0; i < VIRT.virtio.count; i++) {
      const d = disks[i];
      const backend = d === undefined ? undefined : "backend" in d ? d.backend : d;
      const readOnly = d !== undefined && "backend" in d ? d.readOnly : false;
      const irq = (level: boolean) => this.plic.setLevel(VIRTIO_IRQ + i, level);
      const slot = new VirtioBlk(`virtio${i}`, backend, dma, irq, { readOnly });
      this.virtio.push(slot);
      this.bus.addDevice(VIRT.virtio.base + i * VIRT.virtio.size, slot);
    }
  }

  /** The guest's exit status once it has exited. */
  get exited(): number | undefined {
    return this.exitCode;
  }

  /** CLINT state changed: bring MSIP/MTIP up to date and let the hart see it at once. */
  private interruptsChanged(): void {
    this.syncClint();
    this.hart.requestStop();
  }

  private syncClint(): void {
    this.hart.csr.setPending(MIP_MSIP, this.clint.msip !== 0);
    this.hart.csr.setPending(MIP_MTIP, this.clint.timerPending());
  }

  /** Cycles until the CLINT timer fires (Infinity if it is not armed or already pending). */
  private cyclesUntilTimer(): number {
    const delta = this.clint.mtimecmp - this.clint.mtime();
    if (delta <= 0 || this.clint.mtimecmp >= Number.MAX_SAFE_INTEGER) return Number.POSITIVE_INFINITY;
    return this.clock.cyclesUntil(TIMEBASE_HZ, delta);
  }

  /**
   * The hart executed `wfi`. If nothing pending is enabled, let guest time pass until
   * the timer fires; with no timer armed and no input to come, the guest is stuck.
   */
  private idle(): boolean {
    const csr = this.hart.csr;
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
      this.idleCycles += until;
      this.syncClint();
      return true;
    }
    return false;
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

  /** What QEMU's SYS_HEAPINFO reports: heap from the image end up to the device tree, stack below it. */
  private heapInfo(): HeapInfo {
    const top = this.fdtAddress !== 0 ? this.fdtAddress : this.ram.base + this.ram.size;
    return { heapBase: this.imageEnd, heapLimit: top, stackBase: top, stackLimit: this.imageEnd };
  }

  /** Loads an ELF executable into RAM and points the boot ROM at its entry. */
  loadElf(bytes: Uint8Array, name = "program"): ElfImage {
    const image = parseElf(bytes, name);
    this.placeSegments(image, name);
    this.finishBoot(image.entry);
    return image;
  }

  /**
   * Boots a kernel as QEMU's `-kernel K [-bios F] [-initrd I]` does: firmware (ELF or
   * raw) at the start of RAM, the kernel (ELF or raw Image) at the next 4 MiB boundary
   * after it (or at the start of RAM without firmware), the initrd halfway into RAM
   * (at most 128 MiB after the kernel), the device tree at the top. The boot ROM jumps
   * to the firmware, or straight to the kernel.
   */
  loadKernel(
    kernel: Uint8Array,
    options: {
      firmware?: Uint8Array;
      initrd?: Uint8Array;
      names?: { kernel?: string; firmware?: string; initrd?: string };
    } = {},
  ): void {
    const names = { kernel: "kernel", firmware: "firmware", initrd: "initrd", ...options.names };
    let entry: number;
    let kernelStart = this.ram.base;
    if (options.firmware !== undefined) {
      entry = this.placeImage(options.firmware, this.ram.base, names.firmware);
      kernelStart = Math.ceil(this.imageEnd / (4 << 20)) * (4 << 20);
      this.placeImage(kernel, kernelStart, names.kernel);
    } else {
      entry = this.placeImage(kernel, kernelStart, names.kernel);
      kernelStart = entry;
    }
    if (options.initrd !== undefined) {
      const start = kernelStart + Math.min(this.ram.size / 2, 128 << 20);
      this.placeBytes(options.initrd, start, names.initrd);
      this.initrd = { start, end: start + options.initrd.length };
    }
    this.finishBoot(entry);
  }

  /** Places an ELF (by its segments) or a raw binary at `rawAddress`; returns its entry. */
  private placeImage(bytes: Uint8Array, rawAddress: number, name: string): number {
    if (
      bytes.length >= 4 &&
      bytes[0] === 0x7f &&
      bytes[1] === 0x45 &&
      bytes[2] === 0x4c &&
      bytes[3] === 0x46
    ) {
      const image = parseElf(bytes, name);
      this.placeSegments(image, name);
      return image.entry;
    }
    this.placeBytes(bytes, rawAddress, name);
    return rawAddress;
  }

  private placeBytes(bytes: Uint8Array, address: number, name: string): void {
    this.checkInRam(address, bytes.length, `${name}: ${bytes.length} bytes at 0x${address.toString(16)}`);
    this.ram.writeBytes(address - this.ram.base, bytes);
    this.imageEnd = Math.max(this.imageEnd, address + bytes.length);
  }

  private checkInRam(address: number, length: number, what: string): void {
    const ramStart = this.ram.base;
    const ramEnd = this.ram.base + this.ram.size;
    if (address < ramStart || address + length > ramEnd) {
      throw new MachineError(
        "OUTSIDE_RAM",
        `${what} lies outside RAM [0x${ramStart.toString(16)}, 0x${ramEnd.toString(16)})`,
      );
    }
  }

  private placeSegments(image: ElfImage, name: string): void {
    for (const [i, seg] of image.segments.entries()) {
      this.checkInRam(
        seg.paddr,
        seg.memSize,
        `${name}: segment ${i} at 0x${seg.paddr.toString(16)} (${seg.memSize} bytes)`,
      );
    }
    for (const seg of image.segments) {
      const offset = seg.paddr - this.ram.base;
      this.ram.writeBytes(offset, seg.fileBytes);
      const bss = seg.memSize - seg.fileBytes.length;
      if (bss > 0) this.ram.writeBytes(offset + seg.fileBytes.length, new Uint8Array(bss));
      this.imageEnd = Math.max(this.imageEnd, seg.paddr + seg.memSize);
    }
  }

  /** Writes the device tree and points the boot ROM at `entry`. */
  private finishBoot(entry: number): void {
    const rom = resetRom(entry, this.placeDeviceTree());
    this.mrom().set(rom);
    this.hart.flushDecodeCache();
  }

  /**
   * Writes the board's device tree where QEMU puts it (the top of RAM, 2 MiB-aligned
   * below the end, or right below the end for small RAM); returns its address.
   */
  private placeDeviceTree(): number {
    const fdt = writeFdt(
      virtDeviceTree({
        ramBase: this.ram.base,
        ramSize: this.ram.size,
        bootargs: this.bootargs,
        initrd: this.initrd,
        timebaseHz: TIMEBASE_HZ,
        isa: "rv32imac_zicsr_zifencei",
        uartIrq: UART_IRQ,
        virtio: { count: VIRT.virtio.count, firstIrq: VIRTIO_IRQ },
      }),
    );
    const end = this.ram.base + this.ram.size;
    const aligned = Math.floor((end - fdt.length) / (2 << 20)) * (2 << 20);
    const at =
      aligned >= this.ram.base + this.ram.size / 2 ? aligned : Math.floor((end - fdt.length) / 16) * 16;
    this.ram.writeBytes(at - this.ram.base, fdt);
    this.fdtAddress = at;
    return at;
  }

  /** Address of the device tree handed to the guest in a1 (0 before a program is loaded). */
  get deviceTreeAddress(): number {
    return this.fdtAddress;
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
        this.syncClint();
        // Deterministic time: stop exactly where the timer fires. Host time cannot be
        // predicted in steps, so look at the timer often instead.
        const untilTimer =
          this.hostTime === undefined ? Math.max(1, this.cyclesUntilTimer()) : HOST_TIME_SLICE;
        const reason = hart.run(Math.min(remaining, SLICE, untilTimer));
        switch (reason) {
          case StopReason.Semihosting: {
            this.flushConsole();
            const x = hart.x;
            x[10] = this.semihosting.call(x[10]! >>> 0, x[11]! >>> 0);
            break;
          }
          case StopReason.UnhandledTrap:
            return { kind: "unhandled-trap", trap: this.trapReport() };
          case StopReason.WaitForInterrupt:
            if (!this.idle()) return { kind: "stuck", pc: hart.pc };
            break;
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
    const bits = Number.isNaN(lo)
      ? Number.NaN
      : (lo & 3) === 3
        ? (lo | (this.bus.fetch(pc + 2) << 16)) >>> 0
        : lo;
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
