import { type FlatLayout, flatLayout } from "./flat-memory.js";
import { MemoryError } from "./memory-error.js";
import { PAGE_SHIFT, PAGE_SIZE } from "./page.js";
import { RamBaseline, RamSnapshot } from "./ram-snapshot.js";

export { RamBaseline, RamSnapshot };

export interface RamOptions {
  /** Physical address of the first byte. */
  base: number;
  /** Size in bytes; a multiple of the page size. */
  size: number;
  /** The value every never-written byte reads as (default 0). */
  initByte?: number;
  /**
   * Lay RAM out flat in one `WebAssembly.Memory` (see `flat`) when the host can
   * (default false: one buffer per page). A hart compiling to WebAssembly needs it; it
   * costs a memory reservation (a few milliseconds the first time in a process).
   * "lazy": one buffer per page until `makeFlat()` is first called (a hart's WebAssembly
   * compiler calls it when code first gets hot), which moves the pages into the memory,
   * so a machine that has not run hot code yet pays neither the reservation nor the
   * garbage collection V8 starts for so much external memory.
   */
  flat?: boolean | "lazy";
}

/**
 * Pages lazily flat RAM holds in separate buffers at most (1 MiB): a machine restored from an
 * image touches a few before its code gets hot, one loaded with a program may write more.
 */
const LAZY_FLAT_PAGES = 256;

/** Pages per chunk of the last-written epochs (4 KiB of them: 16 MiB of RAM). */
const WRITTEN_SHIFT = 10;
const WRITTEN_CHUNK = 1 << WRITTEN_SHIFT;

/**
 * Guest RAM: pages allocated on first write, so untouched RAM costs only its page
 * table. Every page remembers the epoch it was last written in; `changedSince(E)`
 * lists the pages written in epoch E or later, the basis of incremental images.
 *
 * The page arrays and `fastWrite` are public so a hart can reach RAM without a call
 * per access (it matches `@amber/isa`'s `RamWindow` structurally). Every page holding data
 * has its byte view in `pages8`; its 16- and 32-bit views come on its first `read` or
 * `write` (see `addViews`), and `fastWrite` is 1 only for a page that has all three.
 */
export class Ram {
  readonly base: number;
  readonly size: number;
  readonly initByte: number;
  readonly pageCount: number;
  readonly pages8: (Uint8Array | undefined)[];
  readonly pages16: (Uint16Array | undefined)[];
  readonly pages32: (Int32Array | undefined)[];
  readonly fastWrite: Uint8Array;
  /**
   * RAM in one `WebAssembly.Memory`, pages being views into it (undefined where the host
   * cannot, or `flat: false`). Lets a hart compile guest code to WebAssembly.
   */
  flat: FlatLayout | undefined;
  /** With `flat`: 1 where a load may read the memory directly (see `updateFastRead`). */
  private fastRead: Uint8Array;
  /** Whether `makeFlat` may still lay RAM out flat (option flat: "lazy"). */
  private flatLater: boolean;
  /**
   * RAM made flat after the fact keeps `fastWrite` (harts hold it) and mirrors its flags here,
   * in the memory, where compiled WebAssembly reads them: 1 where a store may go straight to
   * the memory (allocated, not watched, already written in this epoch), whether or not the page
   * has the views `fastWrite` also requires (see `touch`).
   */
  private flatFastWrite: Uint8Array | undefined;
  private readonly watched: Uint8Array;
  /**
   * Epoch in which each page was last written (0 = never written), in chunks of
   * WRITTEN_CHUNK pages made at their first write: a machine pays for the pages it writes,
   * not for its RAM size (one array for 256 MiB was 256 KiB to zero at every start).
   */
  private readonly writtenIn: (Uint32Array | undefined)[];
  private epochNumber = 1;
  private allocated = 0;
  private readonly initWord: number;
  /** Where never-written pages come from on first touch (lazy restore); undefined: the init byte. */
  private pageSource: ((index: number) => Uint8Array | undefined) | undefined;
  /** The copy-on-write snapshot in progress, if any. */
  private snapshot: RamSnapshot | undefined;
  /** Baselines keeping the bytes pages held before their first write since their instant. */
  private baselines: RamBaseline[] = [];
  /** Set by `allocate`: the page came from neither the page source nor a write (init pattern). */
  private allocatedBlank = false;
  /** A page of the init pattern, shared by baselines for pages that held no data (never written). */
  private blankPage: Uint8Array | undefined;

  constructor(options: RamOptions) {
    const { base, size } = options;
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new MemoryError("REGION_INVALID", `RAM size ${size} is not a positive multiple of ${PAGE_SIZE}`);
    }
    if (!Number.isInteger(base) || base < 0 || base % PAGE_SIZE !== 0 || base + size > 2 ** 32) {
      throw new MemoryError(
        "REGION_INVALID",
        `RAM at 0x${base.toString(16)} of ${size} bytes does not fit in 32 bits`,
      );
    }
    this.base = base;
    this.size = size;
    this.initByte = (options.initByte ?? 0) & 0xff;
    this.initWord = Math.imul(this.initByte, 0x01010101);
    this.pageCount = size / PAGE_SIZE;
    // The page arrays grow up to the highest page allocated so far: a page beyond their
    // length reads as undefined, like an unallocated one, and a machine costs what it
    // touches, not its RAM size (three 64 Ki-entry arrays per 256 MiB took ≈ 5 ms at every
    // start). They are holey from the start (see `grow`), so their element kind never changes.
    this.pages8 = holeyArray();
    this.pages16 = holeyArray();
    this.pages32 = holeyArray();
    this.flat = options.flat === true ? flatLayout(size) : undefined;
    this.flatLater = options.flat === "lazy";
    const buffer = this.flat?.memory.buffer;
    this.fastWrite =
      buffer === undefined
        ? new Uint8Array(this.pageCount)
        : new Uint8Array(buffer, this.flat!.fastWriteOffset, this.pageCount);
    this.fastRead =
      buffer === undefined
        ? new Uint8Array(0)
        : new Uint8Array(buffer, this.flat!.fastReadOffset, this.pageCount);
    this.updateFastRead();
    this.watched = new Uint8Array(this.pageCount);
    this.writtenIn = [];
    for (let c = 0; c < this.pageCount; c += WRITTEN_CHUNK) this.writtenIn.push(undefined);
  }

  /** The current dirty epoch. */
  get epoch(): number {
    return this.epochNumber;
  }

  /** Pages that hold data (written, or brought in from the page source). */
  get allocatedPages(): number {
    return this.allocated;
  }

  /** Starts a new epoch and returns its number; writes from now on belong to it. */
  openEpoch(): number {
    this.epochNumber++;
    // Only allocated pages (below the page arrays' length) are ever fast to write: a save's
    // pause costs the pages RAM holds, not its size.
    const held = this.pages8.length;
    this.fastWrite.fill(0, 0, held);
    this.flatFastWrite?.fill(0, 0, held);
    return this.epochNumber;
  }

  /**
   * A copy-on-write snapshot of RAM as it is now: the guest may run on while the snapshot
   * is read, and `snapshot.readPage(i)` still gives page i's bytes at this instant. Opens a
   * new epoch so every page's next write goes through `write`/`writeBytes` (the hart's fast
   * path stops at `fastWrite`), where a page the snapshot has not read yet is copied first.
   * One snapshot at a time; `end()` it when done.
   */
  beginSnapshot(only?: readonly number[]): RamSnapshot {
    if (this.snapshot !== undefined) {
      throw new MemoryError("REGION_INVALID", "a RAM snapshot is already in progress");
    }
    const snapshot = new RamSnapshot(
      this.pageCount,
      this.pages8,
      () => {
        if (this.snapshot === snapshot) this.snapshot = undefined;
      },
      only,
    );
    this.snapshot = snapshot;
    this.openEpoch();
    return snapshot;
  }

  /**
   * Starts a baseline: RAM as it is now, kept as copies of the pages written from now on,
   * each taken just before its first write (`RamBaseline.pageAt`). Opens a new epoch, so
   * `changedSince(baseline.epoch)` lists exactly the pages written since. Copies stop once
   * they hold `maxBytes` (default unbounded); later first writes are only counted. Several
   * baselines may be kept at once (they share copies); `end()` each when done.
   */
  keepBaseline(maxBytes = Number.POSITIVE_INFINITY): RamBaseline {
    const epoch = this.openEpoch();
    const baseline = new RamBaseline(epoch, maxBytes, (b) => {
      this.baselines = this.baselines.filter((x) => x !== b);
    });
    this.baselines = [...this.baselines, baseline];
    return baseline;
  }

  /** Indexes of the pages written in `epoch` or later, ascending. */
  changedSince(epoch: number): number[] {
    const out: number[] = [];
    const chunks = this.writtenIn;
    for (let c = 0; c < chunks.length; c++) {
      const w = chunks[c];
      if (w === undefined) continue;
      const first = c * WRITTEN_CHUNK;
      for (let i = 0; i < w.length; i++) if (w[i]! >= epoch) out.push(first + i);
    }
    return out;
  }

  /** Indexes of every page that has been written at least once, ascending. */
  allocatedPageIndexes(): number[] {
    return this.changedSince(1);
  }

  /**
   * Called for every write to a watched page that does not come from the hart's own
   * store path (device DMA, loaders, semihosting), so a hart can drop code it decoded.
   */
  onWatchedWrite: ((offset: number, length: number) => void) | undefined;

  watch(page: number): void {
    this.watched[page] = 1;
    this.fastWrite[page] = 0;
    if (this.flatFastWrite !== undefined) this.flatFastWrite[page] = 0;
  }

  /**
   * Lays RAM out flat now if it was made with flat: "lazy" (once; the pages held so far
   * move into the memory, the page arrays then hold views into it); returns the layout, or
   * undefined when RAM is not flat and cannot be (the host refused the memory, or RAM was
   * made with flat: false). Call it between accesses: views of pages taken before (e.g.
   * `page(i)`) are the old copies afterwards.
   */
  makeFlat(): FlatLayout | undefined {
    if (this.flat !== undefined || !this.flatLater) return this.flat;
    this.flatLater = false;
    const flat = flatLayout(this.size);
    if (flat === undefined) return undefined;
    const buffer = flat.memory.buffer;
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < this.pages8.length; i++) {
      const p = this.pages8[i];
      if (p === undefined) continue;
      const at = flat.ramOffset + i * PAGE_SIZE;
      bytes.set(p, at);
      this.pages8[i] = new Uint8Array(buffer, at, PAGE_SIZE);
      if (this.pages32[i] === undefined) continue; // its views come when first needed
      this.pages16[i] = new Uint16Array(buffer, at, PAGE_SIZE / 2);
      this.pages32[i] = new Int32Array(buffer, at, PAGE_SIZE / 4);
    }
    this.flatFastWrite = new Uint8Array(buffer, flat.fastWriteOffset, this.pageCount);
    this.flatFastWrite.set(this.fastWrite);
    this.fastRead = new Uint8Array(buffer, flat.fastReadOffset, this.pageCount);
    this.flat = flat;
    this.updateFastRead();
    return flat;
  }

  /**
   * The page's bytes if it holds data (written, or brought in from the page source),
   * else undefined (it reads as the init pattern, or is still only in the page source).
   */
  page(index: number): Uint8Array | undefined {
    return this.pages8[index];
  }

  /**
   * Sets where never-allocated pages come from: `source(index)` is asked once, when the
   * page is first read or written, and its bytes (a whole page, or undefined for the init
   * pattern) are copied in. A page brought in by a read counts as allocated but not as
   * written (`changedSince` does not list it). Used by lazy restore.
   */
  setPageSource(source: ((index: number) => Uint8Array | undefined) | undefined): void {
    this.pageSource = source;
    this.updateFastRead();
  }

  /**
   * Whether a load may read every page straight from the flat memory (see `updateFastRead`):
   * no page source and init byte 0. Compiled code then checks loads against RAM's bounds only.
   */
  get loadsDirect(): boolean {
    return this.pageSource === undefined && this.initByte === 0;
  }

  /**
   * With `flat`, which pages a load may read straight from the memory: those holding
   * data, and all others too when never-written bytes read as zero without allocating
   * anything (no page source, init byte 0): the memory's untouched bytes are zero.
   */
  private updateFastRead(): void {
    if (this.fastRead.length === 0) return;
    if (this.pageSource === undefined && this.initByte === 0) this.fastRead.fill(1);
    else {
      this.fastRead.fill(0);
      const pages = this.pages8;
      for (let i = 0; i < pages.length; i++) if (pages[i] !== undefined) this.fastRead[i] = 1;
    }
  }

  /** Allocates page `index` with its initial contents (the page source's, else the init byte). */
  private allocate(index: number): Uint8Array {
    // Lazily flat RAM that already holds many pages goes flat now: moving them later would
    // leave their old buffers to the host's allocator, which keeps freed memory resident.
    if (this.flatLater && this.allocated >= LAZY_FLAT_PAGES) this.makeFlat();
    const flat = this.flat;
    let buffer: ArrayBufferLike;
    let at = 0;
    if (flat === undefined) buffer = new ArrayBuffer(PAGE_SIZE);
    else {
      // The page's bytes in the flat memory are still zero: nothing writes there unallocated.
      buffer = flat.memory.buffer;
      at = flat.ramOffset + index * PAGE_SIZE;
      this.fastRead[index] = 1;
    }
    const p = new Uint8Array(buffer, at, PAGE_SIZE);
    const from = this.pageSource?.(index);
    if (from !== undefined) {
      if (from.length !== PAGE_SIZE) {
        throw new MemoryError("REGION_INVALID", `page source gave ${from.length} bytes for page ${index}`);
      }
      p.set(from);
    } else if (this.initByte !== 0) p.fill(this.initByte);
    this.allocatedBlank = from === undefined;
    if (index >= this.pages8.length) this.grow([this.pages8], index + 1);
    this.pages8[index] = p;
    this.allocated++;
    return p;
  }

  /**
   * Gives page `index` (allocated: `p` is its bytes) its 16- and 32-bit views, if it has none
   * yet. A page gets them on its first access through `read` or `write` (the hart's slow
   * paths), not when it is allocated: pages only loaders, restores or devices wrote
   * (`writeBytes`) hold one view instead of three (≈ 200 bytes of V8 heap less per page,
   * and far fewer objects surviving into the old generation while RAM fills, which is what
   * grew V8's young generation). The hart's fast paths find such a page missing from
   * `pages16`/`pages32` and take the slow path once.
   */
  private addViews(index: number, p: Uint8Array): void {
    if (this.pages32[index] !== undefined) return;
    if (index >= this.pages32.length) this.grow([this.pages16, this.pages32], index + 1);
    this.pages16[index] = new Uint16Array(p.buffer, p.byteOffset, PAGE_SIZE / 2);
    this.pages32[index] = new Int32Array(p.buffer, p.byteOffset, PAGE_SIZE / 4);
  }

  /**
   * Extends page arrays with undefined to `length` entries (at least doubling, up to the
   * page count), in place (harts hold them). Setting the length allocates the new backing
   * store once; pushing one entry at a time reallocated it every 1.5× and left the copies
   * to the garbage collector: the device tree at the top of 256 MiB of RAM cost ≈ 5 MiB
   * resident instead of the three 512 KiB arrays. `pages8` grows with the pages allocated,
   * `pages16` and `pages32` with the pages given views (`addViews`): a page beyond their
   * length reads as undefined there, as one without views, so the device tree at the top of
   * RAM, which a bare-metal guest never reads through the hart, lengthens only `pages8`
   * (at 256 MiB of RAM, 0.8 MB of V8 heap less; at 1 GiB, 3 MB).
   */
  private grow(arrays: readonly unknown[][], length: number): void {
    const target = Math.min(this.pageCount, Math.max(length, arrays[0]!.length * 2, 64));
    for (const a of arrays) {
      const from = a.length;
      if (from >= target) continue;
      a.length = target;
      a.fill(undefined, from);
    }
  }

  /** The page for reading: allocated from the page source if it has one, else undefined. */
  private readable(index: number): Uint8Array | undefined {
    const p = this.pages8[index];
    if (p !== undefined || this.pageSource === undefined) return p;
    return this.allocate(index);
  }

  /** Makes chunk `c` of `writtenIn` (the last one holds only the pages RAM has). */
  private writtenChunk(c: number): Uint32Array {
    const w = new Uint32Array(Math.min(WRITTEN_CHUNK, this.pageCount - c * WRITTEN_CHUNK));
    this.writtenIn[c] = w;
    return w;
  }

  /**
   * Page `index` about to be written: allocated, its old bytes given to the snapshot and the
   * baselines, its epoch set. With `views` (writes from `write`, the hart's slow path) it
   * gets its 16- and 32-bit views and may be written directly from now on (`fastWrite`,
   * which requires all three views); without (`writeBytes`), a page that has no views yet
   * stays off the fast path until its first `write`. In RAM made flat after the fact
   * (`makeFlat`), the flags compiled WebAssembly reads (`flatFastWrite`) need no views: they
   * are set at once, and a page only compiled code writes never gets the two wider views
   * (≈ 230 bytes of V8 heap per page: 8 % of the RAM a guest touches); the views come with
   * the page's next write through `write` (the hart's interpreter or its JS compiler), or its
   * first `read`.
   */
  private touch(index: number, views: boolean): Uint8Array {
    let p = this.pages8[index];
    let blank = false;
    if (p === undefined) {
      p = this.allocate(index);
      blank = this.allocatedBlank;
    }
    // Before the page changes: what the snapshot and the baselines keep of it.
    const copy = this.baselines.length === 0 ? undefined : this.keepForBaselines(index, p, blank);
    this.snapshot?.beforeWrite(index, copy);
    const chunk = index >>> WRITTEN_SHIFT;
    const w = this.writtenIn[chunk] ?? this.writtenChunk(chunk);
    w[index & (WRITTEN_CHUNK - 1)] = this.epochNumber;
    const writable = this.watched[index] === 1 ? 0 : 1;
    const flatFast = this.flatFastWrite;
    let fast = writable;
    if (fast === 1 && this.pages32[index] === undefined) {
      // RAM made flat after the fact: compiled WebAssembly stores into the memory, needing no
      // views, so its flag is set below while the page stays without views; a write that
      // still comes this way once that flag is set is the hart's own (views) path.
      if (views && (flatFast === undefined || flatFast[index] === 1)) this.addViews(index, p);
      else fast = 0;
    }
    this.fastWrite[index] = fast;
    if (flatFast !== undefined) flatFast[index] = writable;
    return p;
  }

  /**
   * Gives every baseline that has not seen page `index` written since its instant the page's
   * bytes as they are now (one copy shared by all, the shared init page for a blank page).
   * Returns the copy, if one was made.
   */
  private keepForBaselines(index: number, p: Uint8Array, blank: boolean): Uint8Array | undefined {
    const since = this.writtenIn[index >>> WRITTEN_SHIFT]?.[index & (WRITTEN_CHUNK - 1)] ?? 0;
    let copy: Uint8Array | undefined;
    for (const b of this.baselines) {
      if (since >= b.epoch) continue;
      if (blank) {
        if (this.blankPage === undefined) {
          this.blankPage = new Uint8Array(PAGE_SIZE);
          if (this.initByte !== 0) this.blankPage.fill(this.initByte);
        }
        b.keep(index, this.blankPage, 0);
      } else {
        if (copy === undefined && b.wants()) copy = p.slice();
        b.keep(index, copy, PAGE_SIZE);
      }
    }
    return copy;
  }

  /** Whether [offset, offset+size) lies inside this RAM (offsets relative to `base`). */
  contains(offset: number, size: number): boolean {
    return offset >= 0 && offset + size <= this.size;
  }

  /** Reads `size` bytes at `offset` (relative to base), little-endian, zero-extended. */
  read(offset: number, size: 1 | 2 | 4): number {
    const index = offset >>> PAGE_SHIFT;
    const within = offset & (PAGE_SIZE - 1);
    if (within + size <= PAGE_SIZE) {
      const p = this.readable(index);
      if (p === undefined)
        return size === 4 ? this.initWord >>> 0 : this.initWord & (size === 1 ? 0xff : 0xffff);
      if (this.pages32[index] === undefined) this.addViews(index, p); // the hart reads it directly next time
      if (size === 1) return p[within]!;
      if (size === 2) return p[within]! | (p[within + 1]! << 8);
      return (p[within]! | (p[within + 1]! << 8) | (p[within + 2]! << 16) | (p[within + 3]! << 24)) >>> 0;
    }
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.read(offset + i, 1);
    return v >>> 0;
  }

  /** Writes the low `size` bytes of `value` at `offset`, little-endian. */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    const within = offset & (PAGE_SIZE - 1);
    if (within + size <= PAGE_SIZE) {
      const index = offset >>> PAGE_SHIFT;
      const p = this.touch(index, true);
      if (this.watched[index] === 1) this.onWatchedWrite?.(offset, size);
      p[within] = value;
      if (size >= 2) p[within + 1] = value >>> 8;
      if (size === 4) {
        p[within + 2] = value >>> 16;
        p[within + 3] = value >>> 24;
      }
      return;
    }
    for (let i = 0; i < size; i++) this.write(offset + i, 1, value >>> (8 * i));
  }

  /** Copies `data` into RAM at `offset` (loaders, restore). */
  writeBytes(offset: number, data: Uint8Array): void {
    if (!this.contains(offset, data.length)) {
      throw new MemoryError(
        "OUT_OF_RANGE",
        `${data.length} bytes at RAM offset ${offset} exceed RAM of ${this.size}`,
      );
    }
    let done = 0;
    while (done < data.length) {
      const at = offset + done;
      const within = at & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - within, data.length - done);
      const index = at >>> PAGE_SHIFT;
      this.touch(index, false).set(data.subarray(done, done + n), within);
      if (this.watched[index] === 1) this.onWatchedWrite?.(at, n);
      done += n;
    }
  }

  /**
   * Drops page `index`'s content: afterwards it reads as the init pattern, like a page never
   * written, so a full image omits it (free page reporting, a balloon). A page holding
   * anything else is rewritten through the write path (snapshot copy, baselines, dirty epoch,
   * watched-page notice), so incremental saves and save-and-continue see the change; a page
   * already blank is left alone, not dirtied. A page still only in the page source (lazy
   * restore) is brought in first. Its host memory is not given back. Returns whether the
   * page held anything.
   */
  discardPage(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.pageCount) {
      throw new MemoryError("OUT_OF_RANGE", `page ${index} is outside RAM of ${this.pageCount} pages`);
    }
    const p = this.readable(index);
    if (p === undefined) return false;
    const words = this.pages32[index] ?? new Int32Array(p.buffer, p.byteOffset, PAGE_SIZE / 4);
    const fill = this.initWord;
    let blank = true;
    for (let i = 0; i < words.length; i++) {
      if (words[i] !== fill) {
        blank = false;
        break;
      }
    }
    if (blank) return false;
    this.touch(index, false).fill(this.initByte);
    if (this.watched[index] === 1) this.onWatchedWrite?.(index * PAGE_SIZE, PAGE_SIZE);
    return true;
  }

  /** Copies `length` bytes from RAM at `offset`; never-written bytes read as the init pattern. */
  readBytes(offset: number, length: number): Uint8Array {
    if (!this.contains(offset, length)) {
      throw new MemoryError(
        "OUT_OF_RANGE",
        `${length} bytes at RAM offset ${offset} exceed RAM of ${this.size}`,
      );
    }
    const out = new Uint8Array(length);
    if (this.initByte !== 0) out.fill(this.initByte);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const within = at & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - within, length - done);
      const p = this.readable(at >>> PAGE_SHIFT);
      if (p !== undefined) out.set(p.subarray(within, within + n), done);
      done += n;
    }
    return out;
  }
}

/**
 * An empty array of V8's holey element kind, the kind `grow` gives the page arrays when it
 * sets their length: made so from the start, every page array has one element kind, and the
 * hart's page loads see one shape.
 */
function holeyArray<T>(): (T | undefined)[] {
  const a = new Array<T | undefined>(1);
  a.length = 0;
  return a;
}
