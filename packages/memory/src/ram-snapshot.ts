import { MemoryError } from "./memory-error.js";
import { PAGE_SIZE } from "./page.js";

/** Page states in a snapshot. */
const ABSENT = 0;
const LIVE = 1;
const COPIED = 2;
const READ = 3;

/**
 * RAM frozen at one instant while the guest runs on (see `Ram.beginSnapshot`). Pages that
 * held no data at the instant (never written, or still only in a lazy-restore page source)
 * read as undefined, even if allocated later: the caller takes them from the page source.
 */
export class RamSnapshot {
  /** Each page's state (a whole snapshot), or only the listed pages' (see `only`). */
  private readonly dense: Uint8Array | undefined;
  private readonly sparse: Map<number, number> | undefined;
  private readonly copies = new Map<number, Uint8Array>();
  private readonly indexes: number[] = [];
  private readonly live: ReadonlyArray<Uint8Array | undefined>;
  private ended = false;
  /** Pages copied because the guest wrote them before they were read. */
  copiedPages = 0;

  /**
   * @internal Made by `Ram.beginSnapshot`. With `only` (the pages written since a baseline)
   * it costs those pages, not the RAM size: their states are kept in a map.
   */
  constructor(
    pageCount: number,
    live: ReadonlyArray<Uint8Array | undefined>,
    private readonly onEnd: () => void,
    only?: readonly number[],
  ) {
    this.live = live;
    if (only !== undefined) {
      this.dense = undefined;
      const sparse = new Map<number, number>();
      this.sparse = sparse;
      let last = -1;
      for (const i of only) {
        if (!Number.isInteger(i) || i <= last || i >= pageCount) {
          throw new MemoryError("REGION_INVALID", `snapshot page ${i} out of order or outside RAM`);
        }
        last = i;
        if (live[i] !== undefined) {
          sparse.set(i, LIVE);
          this.indexes.push(i);
        }
      }
      return;
    }
    const dense = new Uint8Array(pageCount);
    this.dense = dense;
    this.sparse = undefined;
    for (let i = 0; i < live.length; i++) {
      if (live[i] !== undefined) {
        dense[i] = LIVE;
        this.indexes.push(i);
      }
    }
  }

  private stateOf(index: number): number {
    return (this.dense !== undefined ? this.dense[index] : this.sparse!.get(index)) ?? ABSENT;
  }

  private setState(index: number, state: number): void {
    if (this.dense !== undefined) this.dense[index] = state;
    else this.sparse!.set(index, state);
  }

  /** How many pages held data at the instant. */
  get pageCount(): number {
    return this.indexes.length;
  }

  /** Indexes of the pages that held data at the instant, ascending. */
  pages(): number[] {
    return this.indexes.slice();
  }

  /**
   * Page `index`'s bytes at the instant, or undefined if it held no data then. Each page is
   * read once: the bytes may be the live page, valid until the guest runs again.
   */
  readPage(index: number): Uint8Array | undefined {
    if (this.ended) throw new MemoryError("REGION_INVALID", "RAM snapshot read after end()");
    const s = this.stateOf(index);
    if (s === ABSENT) return undefined;
    if (s === READ) throw new MemoryError("REGION_INVALID", `RAM snapshot page ${index} read twice`);
    this.setState(index, READ);
    if (s === COPIED) {
      const copy = this.copies.get(index)!;
      this.copies.delete(index);
      return copy;
    }
    return this.live[index]!;
  }

  /**
   * @internal Called by the RAM before a write to a page (`copy`: the page's current bytes,
   * if the RAM already copied them for a baseline; the snapshot only reads them).
   */
  beforeWrite(index: number, copy?: Uint8Array): void {
    if (this.stateOf(index) !== LIVE) return;
    this.copies.set(index, copy ?? this.live[index]!.slice());
    this.setState(index, COPIED);
    this.copiedPages++;
  }

  /** Ends the snapshot: drops the copies; the RAM stops copying pages. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.copies.clear();
    this.dense?.fill(ABSENT);
    this.sparse?.clear();
    this.onEnd();
  }
}

/**
 * RAM as it was at one instant, kept for as long as it is needed (see `Ram.keepBaseline`):
 * a page written since the instant has its bytes of the instant here, copied just before
 * its first write. Used to XOR-delta an incremental image against its parent without
 * reading the parent back. The copies are never written to.
 */
export class RamBaseline {
  /** The epoch opened at the instant: `ram.changedSince(epoch)` lists the pages written since. */
  readonly epoch: number;
  private readonly kept = new Map<number, Uint8Array>();
  /** Pages written since the instant, in the order of their first write. */
  private written: number[] = [];
  private bytes = 0;
  private ended = false;
  /** Pages written since the instant whose bytes were not kept (over `maxBytes`). */
  missedPages = 0;

  /** @internal Made by `Ram.keepBaseline`. */
  constructor(
    epoch: number,
    private readonly maxBytes: number,
    private readonly onEnd: (b: RamBaseline) => void,
  ) {
    this.epoch = epoch;
  }

  /** Bytes of page copies held. */
  get keptBytes(): number {
    return this.bytes;
  }

  /**
   * Page `index`'s bytes at the instant if it was written since and they were kept; undefined
   * if it was not written since (its bytes are the RAM's own) or they were not kept.
   */
  pageAt(index: number): Uint8Array | undefined {
    return this.kept.get(index);
  }

  /** @internal Whether another page copy fits. */
  wants(): boolean {
    return !this.ended && this.bytes + PAGE_SIZE <= this.maxBytes;
  }

  /**
   * Pages written since the instant, ascending: `ram.changedSince(epoch)` without scanning
   * the whole RAM (the cost is the number of pages written).
   */
  writtenPages(): number[] {
    return this.written.slice().sort((a, b) => a - b);
  }

  /** @internal The RAM is about to write page `index` for the first time since the instant. */
  keep(index: number, bytes: Uint8Array | undefined, cost: number): void {
    if (this.ended) return;
    this.written.push(index);
    if (bytes === undefined || this.bytes + cost > this.maxBytes) {
      this.missedPages++;
      return;
    }
    this.kept.set(index, bytes);
    this.bytes += cost;
  }

  /** Drops the copies; the RAM stops keeping pages for this baseline. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.kept.clear();
    this.written = [];
    this.bytes = 0;
    this.onEnd(this);
  }
}
