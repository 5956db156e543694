import type { BlockFile } from "./block-file.js";
import { MemoryBlockFile } from "./block-file.js";

/** What a budget asks of each page store it governs. */
export interface BudgetMember {
  /** Drops clean (re-readable) pages; returns bytes freed. */
  dropClean(bytes: number): number;
  /** Moves dirty pages to its spill file; returns bytes freed. */
  spillDirty(bytes: number): number;
}

export interface MemoryBudgetOptions {
  /** Bytes of page data all images sharing this budget may hold in memory. Default: unlimited. */
  limitBytes?: number;
  /** Makes a temporary file for dirty pages past the limit (Node: a file in os.tmpdir()). */
  spillFile?: () => BlockFile;
}

/**
 * A memory limit shared by every open image that uses it (Simics' image memory limit).
 * Before a store adds a page it asks for room: past the limit, clean pages are dropped
 * first (they can be read again), then dirty pages spill to a temporary file. Room is made
 * before the page is added, so `usedBytes` never exceeds the limit.
 */
export class MemoryBudget {
  readonly limitBytes: number;
  private used = 0;
  private peak = 0;
  private readonly members = new Set<BudgetMember>();
  private readonly spillFactory: () => BlockFile;

  constructor(options: MemoryBudgetOptions = {}) {
    this.limitBytes = options.limitBytes ?? Number.POSITIVE_INFINITY;
    this.spillFactory = options.spillFile ?? (() => new MemoryBlockFile(undefined, "spill"));
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Highest `usedBytes` seen since creation. */
  get peakBytes(): number {
    return this.peak;
  }

  join(member: BudgetMember): void {
    this.members.add(member);
  }

  leave(member: BudgetMember): void {
    this.members.delete(member);
  }

  newSpillFile(): BlockFile {
    return this.spillFactory();
  }

  /** Makes room for `bytes` more, then counts them as used. */
  acquire(bytes: number): void {
    let over = this.used + bytes - this.limitBytes;
    if (over > 0) {
      for (const m of this.members) {
        if (over <= 0) break;
        over -= m.dropClean(over);
      }
      for (const m of this.members) {
        if (over <= 0) break;
        over -= m.spillDirty(over);
      }
    }
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
