import { ImageError } from "./errors.js";
import type { Layer } from "./layer.js";
import { MemoryBudget } from "./memory-budget.js";
import type { PageSource } from "./page-source.js";
import { PageStore } from "./page-store.js";

/**
 * A modification seen by a snoop (`Image.snoop`): where, how long, and which layer took
 * it — an index into `layers`, or `layers.length` for a shadowed write (kept in memory
 * above the top layer; what a saved diff layer would hold). No data is copied.
 */
export interface ImageWrite {
  offset: number;
  length: number;
  layer: number;
}

export interface ImageOptions {
  /** Logical size in bytes. Default: the top layer's size. */
  size?: number;
  /** Page size of the dirty/cache bookkeeping. Default min(4096, smallest layer grain). */
  pageSize?: number;
  /** Byte that never-written bytes read as. Default 0. */
  initByte?: number;
  /** Keep merged pages read from layers in memory (counted against the budget). */
  cacheReads?: boolean;
  /** The memory limit shared with other images. Default: a private, unlimited one. */
  budget?: MemoryBudget;
  /** Refuse writes altogether. Default false: writes are allowed (shadowed or through). */
  readOnly?: boolean;
}

/**
 * A flat logical byte space made of an ordered list of layers, lowest first. Reads take
 * each page from the topmost layer that holds it (else the init pattern). Writes go to the
 * top layer when it is writable; otherwise they are shadowed: kept as dirty pages in
 * memory (spilling past the budget), the files untouched, until saved as a diff layer.
 */
export class Image {
  readonly size: number;
  readonly pageSize: number;
  readonly initByte: number;
  readonly layers: readonly Layer[];
  readonly budget: MemoryBudget;
  /** Writes go into the top layer's file rather than into dirty pages. */
  readonly writeThrough: boolean;
  private readonly store: PageStore;
  private readonly cacheReads: boolean;
  private readonly readOnly: boolean;
  private readonly initPage: Uint8Array;
  private closed = false;
  private readonly snoops = new Set<(write: ImageWrite) => void>();

  constructor(layers: readonly Layer[], options: ImageOptions = {}) {
    this.layers = layers;
    const top = layers[layers.length - 1];
    const size = options.size ?? top?.size;
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new ImageError("INVALID_ARGUMENT", "an image needs a size or at least one layer");
    }
    this.size = size;
    const minGrain = Math.min(4096, ...layers.map((l) => l.grain));
    const pageSize = options.pageSize ?? minGrain;
    if (!Number.isInteger(Math.log2(pageSize)) || pageSize < 512 || pageSize > minGrain) {
      throw new ImageError("INVALID_ARGUMENT", `page size ${pageSize}: a power of two, 512..${minGrain}`);
    }
    this.pageSize = pageSize;
    const initByte = options.initByte ?? 0;
    if (!Number.isInteger(initByte) || initByte < 0 || initByte > 255) {
      throw new ImageError("INVALID_ARGUMENT", `init byte ${initByte}: 0..255`);
    }
    this.initByte = initByte;
    this.initPage = new Uint8Array(pageSize).fill(initByte);
    this.budget = options.budget ?? new MemoryBudget();
    this.store = new PageStore(pageSize, this.budget);
    this.cacheReads = options.cacheReads ?? false;
    this.readOnly = options.readOnly ?? false;
    this.writeThrough = (top?.writable ?? false) && top?.write !== undefined && !this.readOnly;
  }

  get pageCount(): number {
    return Math.ceil(this.size / this.pageSize);
  }

  get dirtyPageCount(): number {
    return this.store.dirtyCount;
  }

  get spilledPageCount(): number {
    return this.store.spilledCount;
  }

  /** Dirty (shadowed, unsaved) page numbers, ascending. */
  dirtyPages(): number[] {
    return this.store.dirtyPages();
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new ImageError("INVALID_ARGUMENT", "image is closed");
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new ImageError("OUT_OF_RANGE", `${offset}+${length} is outside the ${this.size}-byte image`);
    }
  }

  /** Merged content of page `page` from layers[0..count-1]; may be a view the caller must not change. */
  private compose(page: number, count: number): Uint8Array {
    const at = page * this.pageSize;
    const length = Math.min(this.pageSize, this.size - at);
    for (let i = count - 1; i >= 0; i--) {
      const layer = this.layers[i];
      if (at < layer.size && layer.has(at)) {
        const bytes = layer.read(at, Math.min(length, layer.size - at));
        if (bytes.length === this.pageSize) return bytes;
        const padded = this.initPage.slice();
        padded.set(bytes);
        return padded;
      }
    }
    return this.initPage;
  }

  /** The page as the guest sees it (dirty, cached or merged); do not modify the result. */
  private pageView(page: number): Uint8Array {
    const dirty = this.store.getDirty(page);
    if (dirty !== undefined) return dirty;
    if (this.cacheReads) {
      const cached = this.store.getClean(page);
      if (cached !== undefined) return cached;
      const merged = this.compose(page, this.layers.length);
      const copy = merged === this.initPage ? merged.slice() : merged.slice();
      this.store.putClean(page, copy);
      return copy;
    }
    return this.compose(page, this.layers.length);
  }

  /** A copy of one whole page. */
  readPage(page: number): Uint8Array {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new ImageError("OUT_OF_RANGE", `page ${page} is outside 0..${this.pageCount - 1}`);
    }
    return this.pageView(page).slice();
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length);
    this.readInto(offset, out);
    return out;
  }

  readInto(offset: number, out: Uint8Array): void {
    this.check(offset, out.length);
    const ps = this.pageSize;
    let done = 0;
    while (done < out.length) {
      const pos = offset + done;
      const page = Math.floor(pos / ps);
      const inPage = pos - page * ps;
      const n = Math.min(ps - inPage, out.length - done);
      const view = this.pageView(page);
      out.set(n === ps ? view : view.subarray(inPage, inPage + n), done);
      done += n;
    }
  }

  write(offset: number, data: Uint8Array): void {
    this.check(offset, data.length);
    if (this.readOnly) throw new ImageError("READ_ONLY", "image was opened read-only");
    const ps = this.pageSize;
    const top = this.layers[this.layers.length - 1];
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const page = Math.floor(pos / ps);
      const inPage = pos - page * ps;
      const n = Math.min(ps - inPage, data.length - done);
      const chunk = data.subarray(done, done + n);
      if (this.writeThrough && top.write !== undefined) {
        top.write(pos, chunk, (o, l) => this.readLayers(o, l, this.layers.length - 1));
        this.store.dropCleanPage(page);
      } else {
        let target = this.store.getDirty(page);
        if (target === undefined) target = this.compose(page, this.layers.length).slice();
        target.set(chunk, inPage);
        this.store.putDirty(page, target);
      }
      done += n;
    }
    if (this.snoops.size > 0) {
      const layer = this.writeThrough ? this.layers.length - 1 : this.layers.length;
      for (const snoop of this.snoops) snoop({ offset, length: data.length, layer });
    }
  }

  /**
   * Calls `listener` after every write (Simics' snoop hooks): offset, length and the layer
   * that took it; the data is not copied. Returns a function that removes the listener.
   */
  snoop(listener: (write: ImageWrite) => void): () => void {
    this.snoops.add(listener);
    return () => this.snoops.delete(listener);
  }

  /** Bytes of layers[0..count-1]: what a copy-on-write into layer `count` must start from. */
  private readLayers(offset: number, length: number, count: number): Uint8Array {
    const out = new Uint8Array(length);
    const ps = this.pageSize;
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const page = Math.floor(pos / ps);
      const inPage = pos - page * ps;
      const n = Math.min(ps - inPage, length - done);
      if (pos >= this.size) {
        out.fill(this.initByte, done, done + n);
      } else {
        const view = this.compose(page, count);
        out.set(view.subarray(inPage, inPage + n), done);
      }
      done += n;
    }
    return out;
  }

  /** Forgets the shadowed writes. */
  discardChanges(): void {
    this.store.clearDirty();
  }

  /** Dirty pages after they have been stored elsewhere (e.g. a diff layer was saved). */
  markClean(): void {
    this.store.clearDirty();
  }

  /** The dirty pages, for a diff layer over this image's layers. */
  dirtySource(): PageSource {
    return {
      size: this.size,
      pageSize: this.pageSize,
      initByte: this.initByte,
      pages: () => this.store.dirtyPages(),
      readPage: (p) => this.pageView(p),
    };
  }

  /** Every page any layer holds or a write touched: the content of a flattened image. */
  contentSource(): PageSource {
    return {
      size: this.size,
      pageSize: this.pageSize,
      initByte: this.initByte,
      pages: () => this.presentPages(),
      readPage: (p) => this.pageView(p),
    };
  }

  /** Pages held by layers[from..] (and the dirty ones), ascending. */
  presentPages(from = 0): Iterable<number> {
    const ps = this.pageSize;
    const spans: [number, number][] = [];
    for (const layer of this.layers.slice(from)) {
      for (const [start, length] of layer.extents()) {
        const end = Math.min(start + length, this.size);
        if (end > start) spans.push([Math.floor(start / ps), Math.ceil(end / ps)]);
      }
    }
    for (const p of this.store.dirtyPages()) spans.push([p, p + 1]);
    spans.sort((a, b) => a[0] - b[0]);
    return (function* () {
      let next = 0;
      for (const [s, e] of spans) {
        for (let p = Math.max(s, next); p < e; p++) yield p;
        if (e > next) next = e;
      }
    })();
  }

  /** Writes what the top layer (and dirty pages) hold into the layer below it, then drops them. */
  commitTopInto(): number {
    if (this.layers.length < 2)
      throw new ImageError("INVALID_ARGUMENT", "commit needs a layer below the top");
    const base = this.layers[this.layers.length - 2];
    if (!base.writable || base.write === undefined) {
      throw new ImageError("READ_ONLY", `${base.name} (the layer to commit into) is not writable`);
    }
    let pages = 0;
    const belowBase = (o: number, l: number) => this.readLayers(o, l, this.layers.length - 2);
    for (const p of this.presentPages(this.layers.length - 1)) {
      const at = p * this.pageSize;
      const data = this.pageView(p).subarray(0, Math.min(this.pageSize, this.size - at));
      base.write(at, data, belowBase);
      pages++;
    }
    base.sync();
    return pages;
  }

  sync(): void {
    for (const l of this.layers) if (l.writable) l.sync();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.close();
    for (const l of this.layers) l.close();
  }
}
