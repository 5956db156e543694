import type { BlockFile } from "@amber/image";
import type { Descriptor } from "./world.js";

/**
 * A read-only random-access file assembled from content-addressed chunks, fetched on first
 * touch: the `BlockFile` the checkpoint reader already reads images through, so a world in
 * a registry is read by the same reader as a world on disk. `load(i)` returns chunk i's
 * bytes, already checked against its digest (from a cache or the registry); the file keeps
 * the last `keep` chunks in memory.
 */
export class ChunkedFile implements BlockFile {
  readonly writable = false;
  private readonly held = new Map<number, Uint8Array>();
  private readonly total: number;
  /** Chunks loaded so far (each counted once per load). */
  loads = 0;

  constructor(
    readonly name: string,
    readonly chunks: readonly Descriptor[],
    readonly chunkSize: number,
    private readonly load: (index: number, chunk: Descriptor, offset: number) => Uint8Array,
    private readonly keep = 32,
  ) {
    this.total = chunks.reduce((n, c) => n + c.size, 0);
  }

  size(): number {
    return this.total;
  }

  /** Chunk `i`, loading it on first touch. */
  chunk(i: number): Uint8Array {
    let bytes = this.held.get(i);
    if (bytes !== undefined) {
      this.held.delete(i);
      this.held.set(i, bytes);
      return bytes;
    }
    const d = this.chunks[i]!;
    bytes = this.load(i, d, i * this.chunkSize);
    this.loads++;
    this.held.set(i, bytes);
    if (this.held.size > this.keep) this.held.delete(this.held.keys().next().value!);
    return bytes;
  }

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.total, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((end - 1) / this.chunkSize);
    if (first === last) {
      const c = this.chunk(first);
      const at = offset - first * this.chunkSize;
      return c.subarray(at, at + (end - offset));
    }
    const out = new Uint8Array(end - offset);
    for (let i = first; i <= last; i++) {
      const c = this.chunk(i);
      const from = Math.max(offset, i * this.chunkSize);
      const to = Math.min(end, i * this.chunkSize + c.length);
      out.set(c.subarray(from - i * this.chunkSize, to - i * this.chunkSize), from - offset);
    }
    return out;
  }

  write(): void {
    throw new Error(`${this.name}: a world in a registry is read-only`);
  }

  close(): void {
    this.held.clear();
  }
}
