import type { BlockFile } from "./block-file.js";
import type { BudgetMember, MemoryBudget } from "./memory-budget.js";

/**
 * The pages one image keeps in memory: a cache of clean pages (merged reads) and the
 * dirty pages of shadowed writes. Dirty pages evicted by the budget move to a spill file
 * slot and are read and updated there from then on.
 */
export class PageStore implements BudgetMember {
  private readonly clean = new Map<number, Uint8Array>();
  private readonly dirty = new Map<number, Uint8Array>();
  private readonly spilled = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private spill: BlockFile | undefined;
  private slots = 0;

  constructor(
    private readonly pageSize: number,
    private readonly budget: MemoryBudget,
  ) {
    budget.join(this);
  }

  get dirtyCount(): number {
    return this.dirty.size + this.spilled.size;
  }

  get spilledCount(): number {
    return this.spilled.size;
  }

  isDirty(page: number): boolean {
    return this.dirty.has(page) || this.spilled.has(page);
  }

  /** Dirty page numbers in ascending order. */
  dirtyPages(): number[] {
    const pages = [...this.dirty.keys(), ...this.spilled.keys()];
    return pages.sort((a, b) => a - b);
  }

  getDirty(page: number): Uint8Array | undefined {
    const inMemory = this.dirty.get(page);
    if (inMemory !== undefined) return inMemory;
    const slot = this.spilled.get(page);
    if (slot === undefined || this.spill === undefined) return undefined;
    return this.spill.read(slot * this.pageSize, this.pageSize).slice();
  }

  /** Stores a whole dirty page (the store keeps `data`; the caller must not reuse it). */
  putDirty(page: number, data: Uint8Array): void {
    const slot = this.spilled.get(page);
    if (slot !== undefined && this.spill !== undefined) {
      this.spill.write(slot * this.pageSize, data);
      return;
    }
    this.dropCleanPage(page);
    if (this.dirty.has(page)) {
      this.dirty.set(page, data);
      return;
    }
    this.budget.acquire(this.pageSize);
    this.dirty.set(page, data);
  }

  getClean(page: number): Uint8Array | undefined {
    const p = this.clean.get(page);
    if (p !== undefined) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.clean.delete(page);
      this.clean.set(page, p);
    }
    return p;
  }

  putClean(page: number, data: Uint8Array): void {
    if (this.clean.has(page)) return;
    this.budget.acquire(this.pageSize);
    this.clean.set(page, data);
  }

  dropCleanPage(page: number): void {
    if (this.clean.delete(page)) this.budget.release(this.pageSize);
  }

  dropClean(bytes: number): number {
    let freed = 0;
    for (const page of this.clean.keys()) {
      if (freed >= bytes) break;
      this.clean.delete(page);
      this.budget.release(this.pageSize);
      freed += this.pageSize;
    }
    return freed;
  }

  spillDirty(bytes: number): number {
    let freed = 0;
    for (const [page, data] of this.dirty) {
      if (freed >= bytes) break;
      this.spill ??= this.budget.newSpillFile();
      const slot = this.freeSlots.pop() ?? this.slots++;
      this.spill.write(slot * this.pageSize, data);
      this.spilled.set(page, slot);
      this.dirty.delete(page);
      this.budget.release(this.pageSize);
      freed += this.pageSize;
    }
    return freed;
  }

  /** Forgets all dirty pages (after they were saved or committed, or to discard them). */
  clearDirty(): void {
    this.budget.release(this.dirty.size * this.pageSize);
    this.dirty.clear();
    for (const slot of this.spilled.values()) this.freeSlots.push(slot);
    this.spilled.clear();
  }

  clearClean(): void {
    this.budget.release(this.clean.size * this.pageSize);
    this.clean.clear();
  }

  close(): void {
    this.clearDirty();
    this.clearClean();
    this.spill?.close();
    this.spill = undefined;
    this.budget.leave(this);
  }
}
