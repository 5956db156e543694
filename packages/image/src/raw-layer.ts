import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { Layer } from "./layer.js";

/** A part of the logical space a raw layer maps: [start, start+size) ← file[fileOffset...]. */
export interface RawRange {
  start: number;
  size: number;
  fileOffset: number;
}

/**
 * A raw file, or parts of one, mapped into the logical space (Simics image files are
 * lists of such ranges). Every byte of a mapped range is present; bytes past the file's
 * end read as zero, as a sparse raw file would.
 */
export class RawLayer implements Layer {
  readonly format = "raw" as const;
  readonly grain: number;
  readonly size: number;
  readonly name: string;
  private readonly ranges: RawRange[];

  constructor(
    private readonly file: BlockFile,
    options: { size?: number; ranges?: RawRange[]; grain?: number } = {},
  ) {
    this.name = file.name;
    const size = options.size ?? file.size();
    this.size = size;
    this.ranges = (options.ranges ?? [{ start: 0, size, fileOffset: 0 }])
      .filter((r) => r.size > 0)
      .sort((a, b) => a.start - b.start);
    // The largest power of two (≤ 4 KiB) that every interior range boundary is a multiple of.
    let grain = options.grain ?? 4096;
    for (const r of this.ranges) {
      for (const edge of [r.start, r.start + r.size]) {
        while (edge < size && grain > 512 && edge % grain !== 0) grain /= 2;
      }
    }
    this.grain = grain;
    let end = 0;
    for (const r of this.ranges) {
      if (r.start < end || r.start + r.size > size || r.fileOffset < 0) {
        throw new ImageError(
          "INVALID_ARGUMENT",
          `${this.name}: raw range ${r.start}+${r.size} overlaps or exceeds ${size}`,
        );
      }
      if (r.start % this.grain !== 0 || (r.start + r.size < size && r.size % this.grain !== 0)) {
        throw new ImageError(
          "INVALID_ARGUMENT",
          `${this.name}: raw range ${r.start}+${r.size} is not ${this.grain}-aligned`,
        );
      }
      end = r.start + r.size;
    }
  }

  get writable(): boolean {
    return this.file.writable;
  }

  private rangeOf(offset: number): RawRange | undefined {
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = rs[mid];
      if (offset < r.start) hi = mid - 1;
      else if (offset >= r.start + r.size) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  has(offset: number): boolean {
    return this.rangeOf(offset) !== undefined;
  }

  read(offset: number, length: number): Uint8Array {
    const r = this.rangeOf(offset);
    if (r === undefined) throw new ImageError("OUT_OF_RANGE", `${this.name}: ${offset} is not mapped`);
    const got = this.file.read(r.fileOffset + offset - r.start, length);
    if (got.length === length) return got;
    const out = new Uint8Array(length);
    out.set(got);
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    const r = this.rangeOf(offset);
    if (r === undefined) throw new ImageError("OUT_OF_RANGE", `${this.name}: ${offset} is not mapped`);
    this.file.write(r.fileOffset + offset - r.start, data);
  }

  *extents(): Iterable<[number, number]> {
    for (const r of this.ranges) yield [r.start, r.size];
  }

  fileSize(): number {
    return this.file.size();
  }

  sync(): void {
    this.file.sync?.();
  }

  close(): void {
    this.file.close();
  }
}
