import type { DiskBackend } from "./virtio-blk.js";

/** Unit in which a disk's writes are tracked and saved (the `disk<i>` segment's page size). */
export const DISK_PAGE = 4096;
/** Disks up to this size are fingerprinted whole; larger ones by samples (see `diskFingerprint`). */
export const FINGERPRINT_FULL_LIMIT = 16 << 20;
const FINGERPRINT_EDGE = 1 << 20;
const FINGERPRINT_SAMPLES = 64;

/**
 * A disk as the machine sees it: the host's backend plus the set of 4 KiB pages the guest
 * wrote since the disk was attached (or the pages a restored image says were written), so
 * that a save stores only those pages and refers to the base for the rest. Writes still go
 * to the backend (e.g. `@amber/image`'s shadowed dirty pages); the backend must hold the
 * base content, unwritten, when it is attached.
 *
 * During a save, pages the save will read are copied before the guest overwrites them
 * (copy-on-write), so the saved disk is the disk at the save instant.
 */
export class TrackedDisk implements DiskBackend {
  readonly size: number;
  /** Pages written since attach (restored ones included). */
  readonly written = new Set<number>();
  /** Pages written since the machine's baseline (the image restored from or last committed). */
  sinceBaseline = new Set<number>();
  /** While a save is open: pages written since its instant (the next baseline's dirty set). */
  sinceInstant: Set<number> | undefined;
  private cow: { pending: Set<number>; frozen: Map<number, Uint8Array> } | undefined;
  private fingerprintValue: string | undefined;
  /** Instants kept for going back in time (see `keepBaseline`). */
  private baselines: DiskBaseline[] = [];

  constructor(
    readonly base: DiskBackend,
    readonly source: string,
    readonly format: string,
    readonly writesThrough: boolean,
  ) {
    this.size = base.size;
  }

  get pageCount(): number {
    return Math.ceil(this.size / DISK_PAGE);
  }

  read(offset: number, length: number): Uint8Array {
    return this.base.read(offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    // The base's fingerprint is taken before its first change (see `fingerprint`).
    if (this.fingerprintValue === undefined) this.fingerprintValue = diskFingerprint(this.base);
    const first = Math.floor(offset / DISK_PAGE);
    const last = Math.floor((offset + data.length - 1) / DISK_PAGE);
    const cow = this.cow;
    for (let p = first; p <= last; p++) {
      if (cow?.pending.has(p) === true && !cow.frozen.has(p)) cow.frozen.set(p, this.readPage(p));
      for (const b of this.baselines) if (!b.pages.has(p)) b.pages.set(p, this.readPage(p));
      this.written.add(p);
      this.sinceBaseline.add(p);
      this.sinceInstant?.add(p);
    }
    this.base.write(offset, data);
  }

  sync(): void {
    this.base.sync?.();
  }

  /**
   * Keeps the disk as it is now, for as long as the baseline is not ended: each page's
   * bytes before its first write since (a journal of undo pages), so that `restore` can
   * put the disk back at this instant. A time line keeps one per snapshot.
   */
  keepBaseline(): DiskBaseline {
    const b = new DiskBaseline(this);
    this.baselines.push(b);
    return b;
  }

  /** @internal Stops keeping `b` (see `DiskBaseline.end`). */
  dropBaseline(b: DiskBaseline): void {
    this.baselines = this.baselines.filter((x) => x !== b);
  }

  /** Page `p` as it is now, 4096 bytes (zeros past the end of the disk). */
  readPage(p: number): Uint8Array {
    const at = p * DISK_PAGE;
    const n = Math.min(DISK_PAGE, this.size - at);
    if (n === DISK_PAGE) return this.base.read(at, n);
    const page = new Uint8Array(DISK_PAGE);
    page.set(this.base.read(at, n));
    return page;
  }

  /** Puts a page restored from an image back (counted as written, not as written since the baseline). */
  restorePage(p: number, bytes: Uint8Array): void {
    const at = p * DISK_PAGE;
    this.base.write(at, bytes.subarray(0, Math.min(DISK_PAGE, this.size - at)));
    this.written.add(p);
  }

  /**
   * The base's content fingerprint (see `diskFingerprint`), taken before the guest's first
   * write or given by a restore that checked it.
   */
  fingerprint(): string {
    this.fingerprintValue ??= diskFingerprint(this.base);
    return this.fingerprintValue;
  }

  setFingerprint(value: string): void {
    this.fingerprintValue = value;
  }

  /**
   * Starts a copy-on-write snapshot of `pages` (the pages a save will read): until `endSnapshot`,
   * a write to one of them first keeps its content. `take(p)` gives the page at the instant,
   * once (the copy is dropped then).
   */
  beginSnapshot(pages: Iterable<number>): { take: (p: number) => Uint8Array; copied: () => number } {
    const cow = { pending: new Set(pages), frozen: new Map<number, Uint8Array>() };
    this.cow = cow;
    this.sinceInstant = new Set();
    let copied = 0;
    return {
      take: (p) => {
        const frozen = cow.frozen.get(p);
        if (frozen !== undefined) {
          copied++;
          cow.frozen.delete(p);
        }
        cow.pending.delete(p);
        return frozen ?? this.readPage(p);
      },
      copied: () => copied,
    };
  }

  /** Ends the snapshot; `committed`: the save's instant becomes the baseline. */
  endSnapshot(committed: boolean): void {
    if (committed && this.sinceInstant !== undefined) this.sinceBaseline = this.sinceInstant;
    this.sinceInstant = undefined;
    this.cow = undefined;
  }
}

/**
 * A disk's content at one instant (`TrackedDisk.keepBaseline`): the pages written since,
 * as they were before their first write. `restore` writes them back; `end` stops keeping.
 */
export class DiskBaseline {
  /** By page: its bytes at the instant (only pages written since are here). */
  readonly pages = new Map<number, Uint8Array>();

  constructor(private readonly disk: TrackedDisk) {}

  /** Bytes of page copies kept. */
  get keptBytes(): number {
    return this.pages.size * DISK_PAGE;
  }

  /** Puts the disk back as it was at the instant (the copies are used up: `end` it after). */
  restore(): void {
    const disk = this.disk;
    // The baseline's own writes must not journal into itself or the others being restored.
    this.end();
    for (const [p, bytes] of this.pages) {
      disk.write(p * DISK_PAGE, bytes.subarray(0, Math.min(DISK_PAGE, disk.size - p * DISK_PAGE)));
    }
    this.pages.clear();
  }

  end(): void {
    this.disk.dropBaseline(this);
  }
}

/** Sorted page numbers as [first, count] pairs. */
export function pagesToRanges(pages: Iterable<number>): Uint32Array {
  const sorted = [...pages].sort((a, b) => a - b);
  const out: number[] = [];
  for (const p of sorted) {
    const n = out.length;
    if (n > 0 && out[n - 2]! + out[n - 1]! === p) out[n - 1]!++;
    else out.push(p, 1);
  }
  return Uint32Array.from(out);
}

/** The pages of [first, count] pairs, ascending; undefined if they are not ascending and inside `pageCount`. */
export function rangesToPages(ranges: Uint32Array, pageCount: number): number[] | undefined {
  if (ranges.length % 2 !== 0) return undefined;
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const first = ranges[i]!;
    const count = ranges[i + 1]!;
    if (count === 0 || first < next || first + count > pageCount) return undefined;
    for (let p = first; p < first + count; p++) out.push(p);
    next = first + count;
  }
  return out;
}

/**
 * A fingerprint of a disk's content, cheap enough to take when a disk is attached or
 * checked on restore: "amber-fp1:" then 32 hex digits of a 128-bit non-cryptographic hash
 * (four 32-bit multiply-rotate lanes over little-endian words, as xxHash32's rounds) of the
 * size and of the bytes covered. Disks up to 16 MiB are covered whole; larger ones by
 * their first and last MiB and 64 evenly spaced 4 KiB pages in between ("sampled": a change
 * elsewhere goes unnoticed). It detects a wrong or rebuilt base disk, not a malicious one.
 */
export function diskFingerprint(disk: Pick<DiskBackend, "size" | "read">): string {
  const h = new LaneHash();
  h.word(disk.size >>> 0);
  h.word(Math.floor(disk.size / 2 ** 32));
  for (const [start, length] of fingerprintRanges(disk.size)) {
    for (let at = start; at < start + length; at += 1 << 16) {
      h.bytes(disk.read(at, Math.min(1 << 16, start + length - at)));
    }
  }
  return `amber-fp1:${h.hex()}`;
}

/** The byte ranges `diskFingerprint` covers, ascending and disjoint. */
export function fingerprintRanges(size: number): [number, number][] {
  if (size <= FINGERPRINT_FULL_LIMIT) return [[0, size]];
  const ranges: [number, number][] = [[0, FINGERPRINT_EDGE]];
  const tail = size - FINGERPRINT_EDGE;
  const span = tail - FINGERPRINT_EDGE;
  for (let k = 0; k < FINGERPRINT_SAMPLES; k++) {
    const at =
      FINGERPRINT_EDGE + Math.floor((span * (k + 0.5)) / FINGERPRINT_SAMPLES / DISK_PAGE) * DISK_PAGE;
    const prev = ranges[ranges.length - 1]!;
    const length = Math.min(DISK_PAGE, tail - at);
    if (length > 0 && at >= prev[0] + prev[1]) ranges.push([at, length]);
  }
  ranges.push([tail, FINGERPRINT_EDGE]);
  return ranges;
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;

class LaneHash {
  private readonly lanes = Int32Array.of(P1 + P2, P2, 0, -P1);
  private lane = 0;
  private count = 0;
  private tail: number[] = [];

  word(w: number): void {
    const l = this.lanes;
    const i = this.lane;
    let acc = (l[i]! + Math.imul(w | 0, P2)) | 0;
    acc = (acc << 13) | (acc >>> 19);
    l[i] = Math.imul(acc, P1);
    this.lane = (i + 1) & 3;
    this.count++;
  }

  bytes(b: Uint8Array): void {
    let i = 0;
    if (this.tail.length > 0) {
      while (this.tail.length < 4 && i < b.length) this.tail.push(b[i++]!);
      if (this.tail.length < 4) return;
      const t = this.tail;
      this.word(t[0]! | (t[1]! << 8) | (t[2]! << 16) | (t[3]! << 24));
      this.tail = [];
    }
    const words = (b.length - i) >>> 2;
    if (((b.byteOffset + i) & 3) === 0) {
      const view = new Int32Array(b.buffer, b.byteOffset + i, words);
      for (let k = 0; k < words; k++) this.word(view[k]!);
    } else {
      for (let k = 0; k < words; k++) {
        const o = i + 4 * k;
        this.word(b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24));
      }
    }
    for (let o = i + 4 * words; o < b.length; o++) this.tail.push(b[o]!);
  }

  hex(): string {
    const tail = this.tail;
    if (tail.length > 0)
      this.word(tail[0]! | ((tail[1] ?? 0) << 8) | ((tail[2] ?? 0) << 16) | (tail.length << 24));
    const out: string[] = [];
    for (let i = 0; i < 4; i++) {
      let h = (this.lanes[i]! ^ Math.imul(this.count, P3) ^ this.lanes[(i + 1) & 3]!) | 0;
      h ^= h >>> 15;
      h = Math.imul(h, P2);
      h ^= h >>> 13;
      h = Math.imul(h, P3);
      h ^= h >>> 16;
      h = Math.imul(h ^ this.lanes[(i + 2) & 3]!, P4);
      h ^= h >>> 16;
      out.push((h >>> 0).toString(16).padStart(8, "0"));
    }
    return out.join("");
  }
}
