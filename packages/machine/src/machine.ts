import type { CheckpointReader, SegmentReader } from "@amber/checkpoint";
import type { MachineDisk, MachineOptions } from "./board.js";
import { VIRT } from "./board-layout.js";
import { DISK_PAGE, diskFingerprint, rangesToPages } from "./devices/tracked-disk.js";
import type { DiskBackend } from "./devices/virtio-blk.js";
import { MachineError } from "./machine-error.js";
import { CSR_FIELDS, type DiskRecord, type MachineState } from "./machine-state.js";
import { RamPrefetch } from "./ram-prefetch.js";
import { SavingBoard } from "./saving.js";
import { sectionsToState } from "./state-from-sections.js";
import { diskSegmentName, RAM_SEGMENT } from "./state-sections.js";

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

/**
 * The state `checkpointDisks` decoded from a reader, taken (once) by the `fromCheckpoint`
 * that usually follows it, so a resume decodes and hash-checks the sections once.
 */
const decodedStates = new WeakMap<CheckpointReader, MachineState>();

function stateOf(reader: CheckpointReader): MachineState {
  const state = decodedStates.get(reader);
  if (state === undefined) return sectionsToState(reader, VIRT.mrom.size);
  decodedStates.delete(reader);
  return state;
}

/** A disk a checkpoint holds (see `Machine.checkpointDisks`). */
export interface CheckpointDisk extends Omit<DiskRecord, "written"> {
  slot: number;
  /** How many 4 KiB pages the guest had written (stored in the `disk<slot>` segment). */
  writtenPages: number;
}

/**
 * The `virt` board: one hart, RAM at 0x8000_0000, the boot ROM, the test finisher,
 * a 16550 UART, and semihosting. Runs deterministically: guest time derives from
 * the step count. Built in layers, one file each: the wiring (board.ts), loading programs
 * (board-loading.ts), the run loop (run-loop.ts), saving (saving.ts) and, here, restoring
 * a machine from a checkpoint.
 */
export class Machine extends SavingBoard {
  /**
   * A machine in exactly the state `reader` holds: running it on gives what the saved
   * machine would have given. RAM is read lazily, each page on first touch, so `reader`
   * must stay open while the machine runs.
   */
  static fromCheckpoint(reader: CheckpointReader, options: RestoreOptions = {}): Machine {
    const state = stateOf(reader);
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
      balloon: state.balloon !== undefined,
    });
    // A view of the page: RAM copies it into its own page at once (see SegmentReader.pageView).
    machine.ram.setPageSource((i) => (segment.isPresent(i) ? segment.pageView(i) : undefined));
    machine.restoredRam = segment;
    // Code compiled to WebAssembly loads faster once RAM has no page source: load the rest
    // of RAM while the guest runs (see RamPrefetch).
    if (machine.hart.compilerBackend === "wasm")
      machine.prefetch = new RamPrefetch(machine.ram, segment, machine.hart);
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
    decodedStates.set(reader, state); // for the fromCheckpoint that usually follows
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

  /**
   * Puts back the whole state but RAM as `captureState` gave it (the state is copied, so it
   * can be loaded again). RAM is the caller's to put back: in-memory snapshots for reverse
   * execution keep it as `RamBaseline`s (see debug/time-line.ts).
   */
  loadState(state: MachineState): void {
    this.flushConsole();
    this.applyState(structuredClone(state));
  }

  protected applyState(s: MachineState): void {
    const b = s.board;
    this.exitCode = b.exitCode;
    this.resetPending = b.resetPending;
    this.idleCycles = b.idleCycles;
    // A deferred skip to the timer belongs to the instant left, not to this one.
    this.timerHeld = false;
    this.imageEnd = b.imageEnd;
    this.fdtAddress = b.fdtAddress;
    this.initrd = b.initrd;
    const rom = this.mrom();
    rom.set(b.mrom);
    rom.fill(0, b.mrom.length); // past the bytes kept, the ROM reads as zero
    const hart = this.hart;
    const csr = hart.csr;
    for (const k of CSR_FIELDS) csr[k] = s.csr[k];
    csr.pmp.load(s.csr.pmpcfg, s.csr.pmpaddr);
    csr.triggers.load(s.csr.tselect, s.csr.tdata1, s.csr.tdata2);
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
    if (s.balloon !== undefined) this.balloon?.loadState(s.balloon);
    // Caches are rebuilt from the restored state: decoded code, compiled regions, translation.
    hart.flushDecodeCache();
    csr.onTranslationChange();
  }
}
