import type { CheckpointInput, CheckpointReader, SegmentReader } from "@amber/checkpoint";
import type { RamSnapshot } from "@amber/memory";
import { DISK_PAGE, pagesToRanges } from "./devices/tracked-disk.js";
import { MachineError } from "./machine-error.js";
import { CSR_FIELDS, type MachineState } from "./machine-state.js";
import { RunningBoard } from "./run-loop.js";
import { CHECKPOINT_MACHINE, diskSegmentName, RAM_SEGMENT, stateToSections } from "./state-sections.js";

/** Who wrote a checkpoint (its header's creator). */
export interface CheckpointCreator {
  name: string;
  version: string;
}

const DEFAULT_CREATOR: CheckpointCreator = { name: "amber", version: "0.1.0" };

/** Room for the state sections, tables and header in an image's size hint (`CheckpointInput.sizeHint`). */
const STATE_BYTES = 256 * 1024;

/** The codec of the machine's saves: none, the fastest (see inputWith). */
export const SAVE_CODEC = "none";

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

/** The running board plus saving: its state as checkpoint input, full or incremental. */
export class SavingBoard extends RunningBoard {
  /** The whole state but RAM, as plain values (see machine-state.ts). */
  captureState(): MachineState {
    const hart = this.hart;
    const csr = hart.csr;
    const csrState = {} as MachineState["csr"];
    for (const k of CSR_FIELDS) csrState[k] = csr[k];
    csrState.pmpcfg = csr.pmp.cfg.slice();
    csrState.pmpaddr = csr.pmp.addr.slice();
    csrState.tselect = csr.triggers.select;
    csrState.tdata1 = csr.triggers.tdata1.slice();
    csrState.tdata2 = csr.triggers.tdata2.slice();
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
      balloon: this.balloon?.saveState(),
      virtio: this.virtio.map((slot, i) => {
        const disk = this.disks[i];
        if (disk === undefined) return undefined;
        return {
          device: slot!.saveState(),
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
   * section per part (see state-sections.ts) and RAM as the "ram" segment of the pages that
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
    // At most the pages handed over, whole (a restored machine's full or compared save: unknown).
    const ramPages =
      mode === "dirty"
        ? dirty!.length
        : mode === "full" && this.restoredRam === undefined
          ? snapshot.pageCount
          : undefined;
    const diskBytes = diskSnapshots.reduce(
      (n, d) => n + (d === undefined ? 0 : d.pages.length * DISK_PAGE),
      0,
    );
    let input: CheckpointInput;
    try {
      input = {
        ...this.inputWith(creator, segment, disks, parent, options.parentHint, options.diskSource),
        sizeHint: ramPages === undefined ? undefined : ramPages * 4096 + diskBytes + STATE_BYTES,
      };
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
  protected parentSegment(parent: CheckpointReader): SegmentReader {
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
  protected allHeld(snapshot: RamSnapshot, parent: SegmentReader): number[] {
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
  protected comparedPages(
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
  protected withRestored(own: () => Iterable<number>): () => Iterable<number> {
    const source = this.restoredRam;
    if (source === undefined) return own;
    return () => {
      const all = new Set(own());
      for (const p of source.presentPages()) all.add(p);
      return [...all].sort((a, b) => a - b);
    };
  }

  protected checkSavable(): void {
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
  protected inputWith(
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
      // Save fast, compress later: pages stored as they are (`amber compact` recompresses
      // the image to zstd later, keeping its digest). Override with `{ ...input, codec }`.
      codec: SAVE_CODEC,
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
}
