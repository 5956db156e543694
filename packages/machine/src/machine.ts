import type { CheckpointInput, CheckpointReader, SegmentReader } from "@amber/checkpoint";
import { causeName, disassemble, Hart, StopReason } from "@amber/isa";
import { AddressSpace, Ram, type RamBaseline, type RamSnapshot } from "@amber/memory";
import { DEFAULT_RAM_SIZE, VIRT } from "./board-layout.js";
import { writeFdt } from "./device-tree/fdt-writer.js";
import { virtDeviceTree } from "./device-tree/virt-device-tree.js";
import { Clint } from "./devices/clint.js";
import { Plic } from "./devices/plic.js";
import { type FinisherRequest, SifiveTest } from "./devices/sifive-test.js";
import {
  DISK_PAGE,
  diskFingerprint,
  pagesToRanges,
  rangesToPages,
  TrackedDisk,
} from "./devices/tracked-disk.js";
import { Uart16550 } from "./devices/uart16550.js";
import { type DiskBackend, VirtioBlk } from "./devices/virtio-blk.js";
import { type ElfImage, parseElf } from "./elf.js";
import { GuestClock } from "./guest-clock.js";
import { CapturedIo, type HostIo } from "./host-io.js";
import { MachineError } from "./machine-error.js";
import {
  CHECKPOINT_MACHINE,
  CSR_FIELDS,
  type DiskRecord,
  diskSegmentName,
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
  /** Compile hot guest code (default true); false runs the plain interpreter. */
  jit?: boolean;
  /** The compiler's back end: "wasm" (default, where the host allows it) or "js" (see `HartOptions.compiler`). */
  compiler?: "wasm" | "js";
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
   * Most bytes of RAM page copies kept so that an incremental save against the baseline
   * (see `beginSave`) takes the parent's pages from memory instead of decoding them from
   * the parent's file (default 64 MiB; 0 keeps none: same images, slower saves).
   */
  baselineBytes?: number;
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

/** What a restored machine takes from its host; the rest comes from the checkpoint. */
export type RestoreOptions = Pick<MachineOptions, "io" | "jit" | "compiler" | "baselineBytes"> & {
  /**
   * The base of the disk in each virtio slot the image has one in (index = slot; see
   * `Machine.checkpointDisks`), unwritten: it must have the recorded size and fingerprint,
   * the saved pages are put over it (as guest writes: `backend` must shadow them). Its
   * `source`/`format` replace the recorded ones in later saves; `readOnly` and
   * `writesThrough` come from the image.
   */
  disks?: readonly (DiskBackend | MachineDisk | undefined)[];
};

/** A disk a checkpoint holds (see `Machine.checkpointDisks`). */
export interface CheckpointDisk extends Omit<DiskRecord, "written"> {
  slot: number;
  /** How many 4 KiB pages the guest had written (stored in the `disk<slot>` segment). */
  writtenPages: number;
}

/** Who wrote a checkpoint (its header's creator). */
export interface CheckpointCreator {
  name: string;
  version: string;
}

const DEFAULT_CREATOR: CheckpointCreator = { name: "amber", version: "0.1.0" };
const DEFAULT_BASELINE_BYTES = 64 << 20;

/** How `Machine.beginSave` saves. */
export interface SaveOptions {
  /**
   * Save an incremental image on this one (open, with its chain): only the RAM pages that
   * differ from it, XOR-delta against its pages. If it is the machine's baseline
   * (`baselineDigest`: the image it was restored from or last committed), they are the
   * pages written since that image's instant (dirty epochs: nothing else is read or
   * compared); otherwise every page the machine or the parent holds is compared with the
   * parent's.
   */
  parent?: CheckpointReader;
  /** Where the parent lives relative to the new image (stored as its parent hint; the digest decides). */
  parentHint?: string;
  /** Pages the writer reads between two calls of `between` (default 64). */
  every?: number;
  /** Called after every `every` pages read, e.g. to run the guest on for a slice. */
  between?: () => void;
  /**
   * How the image names a disk's base: given the disk's `source` and slot, the name to
   * record (e.g. a path relative to the image, as parent hints are). Default: `source`.
   */
  diskSource?: (source: string, slot: number) => string;
}

/** A save in progress (see `Machine.beginSave`). */
export interface MachineSave {
  /** The image, for `writeCheckpoint` / `writeCheckpointFile`: exactly the machine at `beginSave`. */
  readonly input: CheckpointInput;
  /**
   * "full": no parent; "dirty": incremental on the baseline, the pages written since it;
   * "compare": incremental on another image, the pages whose content differs from its.
   */
  readonly mode: "full" | "dirty" | "compare";
  /** The RAM epoch opened at the save instant: `ram.changedSince(epoch)` lists the pages written since. */
  readonly epoch: number;
  /** Pages (RAM, then disk pages) handed to the writer so far. */
  pagesWritten(): number;
  /** Pages (RAM and disk) the snapshot copied because the guest wrote them before the writer read them. */
  copiedPages(): number;
  /**
   * Tells the machine the image was written (give its digest, the write's result or a
   * reader of it): it becomes the machine's baseline, the parent of the next fast
   * incremental save, and the save ends (`end()` is then a no-op). Call it only after the
   * write succeeded.
   */
  committed(image: string | { digest: string }): void;
  /**
   * Ends the save without committing (the write failed or was abandoned): drops the RAM
   * snapshot; the baseline stays what it was. Idempotent; a no-op after `committed`.
   */
  end(): void;
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

/** A disk's written pages for a save: which (ascending) and their bytes at the instant. */
interface DiskPages {
  pages: () => Iterable<number>;
  readPage: (p: number) => Uint8Array;
}

/** RAM pages for a save: which, their bytes (undefined: none here), the parent's if at hand. */
interface RamPages {
  pages: () => Iterable<number>;
  readPage: (i: number) => Uint8Array | undefined;
  parentPage?: (i: number) => Uint8Array | undefined;
}

/** A copy of `bytes` up to and including its last non-zero byte. */
function usedPrefix(bytes: Uint8Array): Uint8Array {
  let n = bytes.length;
  if ((bytes.byteOffset & 3) === 0 && (n & 3) === 0) {
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, n >>> 2);
    let w = words.length;
    while (w > 0 && words[w - 1] === 0) w--;
    n = w * 4;
  }
  while (n > 0 && bytes[n - 1] === 0) n--;
  return bytes.slice(0, n);
}

function samePage(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const n = a.length >>> 2;
  if ((a.byteOffset & 3) === 0 && (b.byteOffset & 3) === 0 && (a.length & 3) === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, n);
    const y = new Int32Array(b.buffer, b.byteOffset, n);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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
  /** By virtio slot, the attached disks with their written-page tracking. */
  private readonly disks: (TrackedDisk | undefined)[] = [];
  /** The RAM segment this machine was restored from: pages not yet touched are still only there. */
  private restoredRam: SegmentReader | undefined;
  /** The image restored from or last saved (committed), with RAM kept as at its instant. */
  private baseline: { digest: string; ram: RamBaseline } | undefined;
  private readonly baselineBytes: number;
  /** Whether a `beginSave` has not ended yet. */
  private saving = false;

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
    this.ram = new Ram({ base: VIRT.ram.base, size: ramSize, flat });
    this.bus.addRam("ram", this.ram);
    this.bootargs = options.bootargs;
    this.cmdline = options.cmdline ?? "";
    this.baselineBytes = Math.max(0, options.baselineBytes ?? DEFAULT_BASELINE_BYTES);
    this.hart = new Hart(this.bus, {
      time: () => this.clint.mtime(),
      jit: options.jit,
      compiler: options.compiler,
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
        // Up to the last non-zero byte (QEMU's reset code uses 64 of the ROM's 60 KiB).
        mrom: usedPrefix(this.mrom()),
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
      virtio: this.virtio.map((slot, i) => {
        const disk = this.disks[i];
        if (disk === undefined) return undefined;
        return {
          device: slot.saveState(),
          disk: {
            source: disk.source,
            format: disk.format,
            size: disk.size,
            fingerprint: disk.fingerprint(),
            readOnly: this.diskReadOnly[i] === true,
            written: pagesToRanges(disk.written),
          },
        };
      }),
    };
  }

  /**
   * The machine as checkpoint input for `writeCheckpoint` / `writeCheckpointFile`: one
   * section per part (see machine-state.ts) and RAM as the "ram" segment of the pages that
   * hold data. Call it between runs (never from inside `run`); the pages are read while
   * the image is written, so write it before running on. A full image that does not change
   * the baseline: `beginSave` does everything this does and more. Disks are saved as
   * the pages the guest wrote (the `disk<i>` segments) over a reference to their base.
   * Refuses (SAVE_UNSUPPORTED) a machine with host time or a disk that writes through
   * into its base, whose state is partly outside it.
   */
  checkpointInput(creator: CheckpointCreator = DEFAULT_CREATOR): CheckpointInput {
    this.checkSavable();
    const ram = this.ram;
    return this.inputWith(
      creator,
      {
        pages: this.withRestored(() => ram.allocatedPageIndexes()),
        readPage: (i) => ram.page(i),
      },
      this.disks.map((d) => {
        if (d === undefined) return undefined;
        const pages = [...d.written].sort((a, b) => a - b);
        return { pages: () => pages, readPage: (p: number) => d.readPage(p) };
      }),
    );
  }

  /**
   * The digest of the machine's baseline: the image it was restored from or last saved with
   * a committed `beginSave`, whose instant its dirty-page tracking counts from; undefined for
   * a machine that was booted and never saved.
   */
  get baselineDigest(): string | undefined {
    return this.baseline?.digest;
  }

  /**
   * RAM pages written since the baseline's instant (what an incremental save on it would
   * consider); every page holding data for a machine that has no baseline.
   */
  dirtyPages(): number {
    return this.baseline?.ram.writtenPages().length ?? this.ram.allocatedPages;
  }

  /**
   * Starts saving the machine as it is now; the guest may run on while the image is written
   * (save-and-continue), or not run at all (a stopped save): the small state is captured
   * now and RAM (and the pages the guest wrote to each disk) through a copy-on-write
   * snapshot, so `input` is exactly the machine at this instant. The writer reads each page
   * once; `between()`, if given, is called after every `every` pages read (default 64),
   * e.g. to run the machine on for a slice.
   *
   * With `parent`, the image is incremental (see `SaveOptions.parent`): when the parent is
   * the baseline, only the pages written since it are stored, XOR-delta against the
   * baseline's pages kept in memory, and nothing else is compared or read, so the save
   * costs the dirty pages, not the RAM size. After a successful write call `committed`
   * (the image becomes the new baseline; the save ends), else `end()`. One save at a time.
   */
  beginSave(creator: CheckpointCreator = DEFAULT_CREATOR, options: SaveOptions = {}): MachineSave {
    this.checkSavable();
    if (this.saving) {
      throw new MachineError("SAVE_IN_PROGRESS", "a save of this machine is already in progress");
    }
    const parent = options.parent;
    const parentSeg = parent === undefined ? undefined : this.parentSegment(parent);
    const base = this.baseline;
    const mode: MachineSave["mode"] =
      parent === undefined
        ? "full"
        : base !== undefined && base.digest === parent.digest
          ? "dirty"
          : "compare";
    const ram = this.ram;
    const dirty = mode === "dirty" ? base!.ram.writtenPages() : undefined;
    const snapshot = ram.beginSnapshot(dirty);
    const next = ram.keepBaseline(this.baselineBytes);
    // Disks: the pages written since the baseline (dirty: the others are the parent's, which
    // the baseline is) or all the written pages, copied on write until the writer has them.
    const diskSnapshots = this.disks.map((d) => {
      if (d === undefined) return undefined;
      const pages = [...(mode === "dirty" ? d.sinceBaseline : d.written)].sort((a, b) => a - b);
      return { disk: d, pages, snapshot: d.beginSnapshot(pages) };
    });
    this.saving = true;

    const every = Math.max(1, options.every ?? 64);
    const between = options.between;
    let read = 0;
    let written = 0;
    const pace = (): void => {
      if (between !== undefined && read >= every) {
        read = 0;
        between();
      }
    };
    const paced = (indexes: () => Iterable<number>) =>
      function* (): Iterable<number> {
        for (const i of indexes()) {
          pace();
          yield i;
        }
      };

    let segment: RamPages;
    if (parentSeg !== undefined) {
      // Incremental: the pages whose content differs from the parent's, among the pages
      // written since the baseline (dirty) or among every page anyone holds (compare).
      const kept = mode === "dirty" ? base!.ram : undefined;
      segment = this.comparedPages(
        snapshot,
        mode === "dirty" ? () => dirty! : () => this.allHeld(snapshot, parentSeg),
        (i) => kept?.pageAt(i) ?? parentSeg.readPage(i),
        pace,
        () => read++,
        () => written++,
      );
    } else {
      segment = {
        pages: paced(this.withRestored(() => snapshot.pages())),
        readPage: (i) => {
          read++;
          written++;
          return snapshot.readPage(i);
        },
      };
    }
    const disks = diskSnapshots.map((d) =>
      d === undefined
        ? undefined
        : {
            pages: paced(() => d.pages),
            readPage: (p: number) => {
              read++;
              written++;
              return d.snapshot.take(p);
            },
          },
    );
    let input: CheckpointInput;
    try {
      input = this.inputWith(creator, segment, disks, parent, options.parentHint, options.diskSource);
    } catch (e) {
      for (const d of diskSnapshots) d?.disk.endSnapshot(false);
      snapshot.end();
      next.end();
      this.saving = false;
      throw e;
    }

    let open = true;
    const finish = (committed: boolean): void => {
      open = false;
      snapshot.end();
      for (const d of diskSnapshots) d?.disk.endSnapshot(committed);
      this.saving = false;
    };
    return {
      input,
      mode,
      epoch: next.epoch,
      pagesWritten: () => written,
      copiedPages: () =>
        snapshot.copiedPages + diskSnapshots.reduce((n, d) => n + (d?.snapshot.copied() ?? 0), 0),
      committed: (image) => {
        if (!open) throw new MachineError("SAVE_IN_PROGRESS", "a save committed after it ended");
        this.baseline?.ram.end();
        this.baseline = { digest: typeof image === "string" ? image : image.digest, ram: next };
        finish(true);
      },
      end: () => {
        if (!open) return;
        next.end();
        finish(false);
      },
    };
  }

  /** The parent's RAM segment, checked to match this machine's RAM. */
  private parentSegment(parent: CheckpointReader): SegmentReader {
    const seg = parent.findSegment(RAM_SEGMENT);
    const ram = this.ram;
    if (
      parent.header.machine !== CHECKPOINT_MACHINE ||
      seg === undefined ||
      seg.base !== BigInt(ram.base) ||
      seg.size !== ram.size ||
      seg.pageSize !== 4096 ||
      seg.initByte !== ram.initByte
    ) {
      throw new MachineError(
        "CHECKPOINT_INVALID",
        `${parent.name}: cannot be the parent: not a ${CHECKPOINT_MACHINE} image whose "${RAM_SEGMENT}" segment is this machine's RAM (0x${ram.base.toString(16)}, ${ram.size} bytes, 4 KiB pages)`,
      );
    }
    return seg;
  }

  /** Every page the snapshot, the restored image or the parent holds, ascending. */
  private allHeld(snapshot: RamSnapshot, parent: SegmentReader): number[] {
    const all = new Set(snapshot.pages());
    if (this.restoredRam !== undefined) for (const p of this.restoredRam.presentPages()) all.add(p);
    for (const p of parent.presentPages()) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  /**
   * RAM as the pages among `candidates` whose content at the instant differs from the
   * parent's (`parentPage`): each is read once from the snapshot (else the restored image,
   * else the init byte) and compared. Pages outside `candidates` must equal the parent's.
   */
  private comparedPages(
    snapshot: RamSnapshot,
    candidates: () => Iterable<number>,
    parentPage: (i: number) => Uint8Array,
    pace: () => void,
    counted: () => void,
    yielded: () => void,
  ): RamPages {
    const restored = this.restoredRam;
    const fill = new Uint8Array(4096).fill(this.ram.initByte);
    let held = -1;
    let heldBytes: Uint8Array = fill;
    let heldParent: Uint8Array = fill;
    return {
      pages: function* (): Iterable<number> {
        for (const i of candidates()) {
          pace();
          counted();
          const bytes =
            snapshot.readPage(i) ?? (restored?.isPresent(i) === true ? restored.readPage(i) : fill);
          const theirs = parentPage(i);
          if (samePage(bytes, theirs)) continue;
          held = i;
          heldBytes = bytes;
          heldParent = theirs;
          yielded();
          yield i;
        }
      },
      readPage: (i) => (i === held ? heldBytes : undefined),
      parentPage: (i) => (i === held ? heldParent : undefined),
    };
  }

  /** `own` pages plus, for a restored machine, the pages still only in the restored image. */
  private withRestored(own: () => Iterable<number>): () => Iterable<number> {
    const source = this.restoredRam;
    if (source === undefined) return own;
    return () => {
      const all = new Set(own());
      for (const p of source.presentPages()) all.add(p);
      return [...all].sort((a, b) => a - b);
    };
  }

  private checkSavable(): void {
    for (const [i, d] of this.disks.entries()) {
      if (d?.writesThrough === true) {
        throw new MachineError(
          "SAVE_UNSUPPORTED",
          `cannot save a machine whose disk ${i}${d.source === "" ? "" : ` (${d.source})`} writes into its file (opened rw): the image could only refer to a file that no longer holds the saved content; open it without rw (the guest's writes are then kept aside and saved in the image)`,
        );
      }
    }
    if (this.hostTime !== undefined) {
      throw new MachineError("SAVE_UNSUPPORTED", "cannot save a machine whose time follows the host's clock");
    }
  }

  /**
   * Checkpoint input with the sections captured now and RAM from `ram`: `readPage(i)`
   * undefined means the page holds no data here (take it from the restored image, else the
   * init byte).
   */
  private inputWith(
    creator: CheckpointCreator,
    ram: RamPages,
    disks: readonly (DiskPages | undefined)[],
    parent?: CheckpointReader,
    parentHint?: string,
    diskSource?: (source: string, slot: number) => string,
  ): CheckpointInput {
    const source = this.restoredRam;
    const empty = new Uint8Array(4096).fill(this.ram.initByte);
    const state = this.captureState();
    if (diskSource !== undefined) {
      for (const [i, v] of state.virtio.entries())
        if (v !== undefined) v.disk.source = diskSource(v.disk.source, i);
    }
    return {
      machine: CHECKPOINT_MACHINE,
      creator,
      instructionCount: BigInt(this.hart.steps),
      sections: stateToSections(state),
      segments: [
        {
          name: RAM_SEGMENT,
          base: BigInt(this.ram.base),
          size: this.ram.size,
          pageSize: 4096,
          initByte: this.ram.initByte,
          pages: {
            pages: ram.pages,
            readPage: (i: number) =>
              ram.readPage(i) ?? (source?.isPresent(i) === true ? source.readPage(i) : empty),
          },
          parentPage: ram.parentPage,
        },
        ...disks.flatMap((d, i) =>
          d === undefined
            ? []
            : [
                {
                  name: diskSegmentName(i),
                  base: 0n,
                  size: this.disks[i]!.size,
                  pageSize: DISK_PAGE,
                  initByte: 0,
                  pages: d,
                },
              ],
        ),
      ],
      ...(parent === undefined ? {} : { parent, parentHint }),
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
    const disks = Machine.restoredDisks(reader, state, options.disks ?? []);
    const machine = new Machine({
      ramSize: b.ramSize,
      io: options.io,
      jit: options.jit,
      compiler: options.compiler,
      cmdline: b.cmdline,
      bootargs: b.bootargs,
      instructionsPerSecond: b.instructionsPerSecond,
      baselineBytes: options.baselineBytes,
      disks: disks.map((d) => d?.disk),
    });
    machine.ram.setPageSource((i) => (segment.isPresent(i) ? segment.readPage(i) : undefined));
    machine.restoredRam = segment;
    machine.applyState(state);
    // The disks: the base (checked) with the saved pages over it, as the guest left them.
    for (const [i, d] of disks.entries()) {
      const tracked = machine.disks[i];
      if (d === undefined || tracked === undefined) continue;
      tracked.setFingerprint(d.record.fingerprint);
      for (const p of d.pages) tracked.restorePage(p, d.segment.readPage(p));
    }
    // The image restored from is the baseline: RAM is exactly its content at this instant.
    machine.baseline = { digest: reader.digest, ram: machine.ram.keepBaseline(machine.baselineBytes) };
    return machine;
  }

  /**
   * The disks a checkpoint holds, by slot: where their bases were opened from (as recorded:
   * the CLI resolves a relative `source` against the image's directory), their size and
   * fingerprint, which `fromCheckpoint` checks the bases it is given against.
   */
  static checkpointDisks(reader: CheckpointReader): CheckpointDisk[] {
    const state = sectionsToState(reader, VIRT.mrom.size);
    return state.virtio.flatMap((v, slot) => {
      if (v === undefined) return [];
      const { written, ...rest } = v.disk;
      const pages = rangesToPages(written, Math.ceil(v.disk.size / DISK_PAGE))?.length ?? 0;
      return [{ slot, ...rest, writtenPages: pages }];
    });
  }

  /** Checks the bases given for a restore against the image's disk records. */
  private static restoredDisks(
    reader: CheckpointReader,
    state: MachineState,
    given: NonNullable<RestoreOptions["disks"]>,
  ): ({ disk: MachineDisk; record: DiskRecord; pages: number[]; segment: SegmentReader } | undefined)[] {
    for (let i = 0; i < given.length; i++) {
      if (given[i] !== undefined && state.virtio[i] === undefined) {
        throw new MachineError(
          "CHECKPOINT_INVALID",
          `${reader.name}: a disk was given for virtio slot ${i}, which holds none in this image`,
        );
      }
    }
    return state.virtio.map((v, i) => {
      if (v === undefined) return undefined;
      const r = v.disk;
      const what = `${reader.name}: disk ${i}${r.source === "" ? "" : ` (${r.source})`}`;
      const g = given[i];
      if (g === undefined) {
        throw new MachineError(
          "CHECKPOINT_INVALID",
          `${what}: the image holds a disk in virtio slot ${i}; give its base to restore it`,
        );
      }
      const disk: MachineDisk = "backend" in g ? { ...g } : { backend: g };
      const name = disk.source ?? r.source;
      const base = disk.backend;
      if (base.size !== r.size) {
        throw new MachineError(
          "CHECKPOINT_INVALID",
          `${what}: ${name} has ${base.size} bytes, the saved disk's base had ${r.size}: not the disk the image was saved with`,
        );
      }
      const fingerprint = diskFingerprint(base);
      if (fingerprint !== r.fingerprint) {
        throw new MachineError(
          "CHECKPOINT_INVALID",
          `${what}: ${name} has other content than the saved disk's base (fingerprint ${fingerprint}; expected ${r.fingerprint}): it was changed or is another disk`,
        );
      }
      const pages = rangesToPages(r.written, Math.ceil(r.size / DISK_PAGE));
      const segment = reader.findSegment(diskSegmentName(i));
      if (
        pages === undefined ||
        segment === undefined ||
        segment.size !== r.size ||
        segment.pageSize !== DISK_PAGE
      ) {
        throw new MachineError(
          "CHECKPOINT_INVALID",
          `${what}: no valid "${diskSegmentName(i)}" segment of ${r.size} bytes in 4 KiB pages with the written pages listed`,
        );
      }
      return {
        disk: {
          backend: base,
          readOnly: r.readOnly,
          source: name,
          format: disk.format ?? r.format,
          writesThrough: disk.writesThrough,
        },
        record: r,
        pages,
        segment,
      };
    });
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
    for (const [i, v] of s.virtio.entries()) if (v !== undefined) this.virtio[i]?.loadState(v.device);
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
  private readonly diskReadOnly: boolean[] = [];

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

  private trapReport(): TrapReport {
    const csr = this.hart.csr;
    const pc = csr.mepc;
    const bits = this.instructionAt(pc);
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
