import { type BlockFile, readExactly } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { Layer } from "./layer.js";
import { isFilledWith } from "./page-source.js";
import {
  batEntries,
  batIndex,
  chunkRatio,
  HEADER_OFFSETS,
  MAX_BAT_BYTES,
  MiB,
  PAYLOAD_FULLY_PRESENT,
  PAYLOAD_NOT_PRESENT,
  PAYLOAD_PARTIALLY_PRESENT,
  PAYLOAD_UNDEFINED,
  PAYLOAD_UNMAPPED,
  PAYLOAD_ZERO,
  type Region,
  randomGuid,
  readCurrentHeader,
  readMetadata,
  readRegions,
  serializeHeader,
  VHDX_SIGNATURE,
  type VhdxHeader,
  type VhdxMetadata,
  ZERO_GUID,
} from "./vhdx-format.js";
import { applyReplay, ReplayedFile, readLogReplay } from "./vhdx-log.js";

const STATE_NAMES: Record<number, string> = {
  [PAYLOAD_NOT_PRESENT]: "not present",
  [PAYLOAD_UNDEFINED]: "undefined",
  [PAYLOAD_ZERO]: "zero",
  [PAYLOAD_UNMAPPED]: "unmapped",
  [PAYLOAD_FULLY_PRESENT]: "fully present",
  [PAYLOAD_PARTIALLY_PRESENT]: "partially present",
};

/** Bytes read ahead inside a block (see `read`). */
const READ_WINDOW = 256 * 1024;
/** Bytes copied at a time when a new block is filled from the layers below. */
const FILL_CHUNK = MiB;

/** Whether a file starts with VHDX's file type identifier. */
export function isVhdx(head: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (head[i] !== VHDX_SIGNATURE.charCodeAt(i)) return false;
  return true;
}

/**
 * A fixed or dynamic VHDX file as a layer. Payload blocks the BAT marks fully present are
 * read from the file; zero, unmapped and undefined blocks read as zeros; not-present
 * blocks come from the layers below (zeros in a standalone file). Opened writable, a write
 * to a block not in the file appends a 1 MiB-aligned block, fills it, syncs, then writes
 * the BAT entry; the first write regenerates FileWriteGuid and DataWriteGuid in both
 * headers (sequence number + 1, + 2), as the spec asks. A log to replay is replayed (into
 * the file when writable, else in memory). Differencing files (HasParent) are refused.
 */
export class VhdxLayer implements Layer {
  readonly format = "vhdx" as const;
  readonly name: string;
  readonly size: number;
  readonly grain: number;
  readonly writable: boolean;
  readonly metadata: VhdxMetadata;
  header: VhdxHeader;
  readonly bat: Region;
  private readonly ratio: number;
  private readonly blocks: number;
  private readonly states: Uint8Array;
  /** File offset of each payload block in MiB (0 when not in the file). */
  private readonly offsetsMiB: Float64Array;
  private fileEnd: number;
  private modified = false;
  /** Read-ahead: a copy of the file's bytes from `windowAt`. */
  private window = new Uint8Array(0);
  private windowAt = -1;

  /** The file as read: with a log to replay and a read-only open, a view with the log applied. */
  readonly file: BlockFile;
  /** Log entries replayed when the file was opened (0: the log was empty). */
  readonly replayedLogEntries: number = 0;

  constructor(file: BlockFile, options: { writable?: boolean } = {}) {
    this.name = file.name;
    this.file = file;
    const head = readExactly(file, 0, 8, "VHDX file type identifier");
    if (!isVhdx(head))
      throw new ImageError(
        "BAD_MAGIC",
        `${file.name}: file type identifier "${String.fromCharCode(...head)}", expected "${VHDX_SIGNATURE}"`,
        0,
      );
    this.header = readCurrentHeader(file);
    const h = this.header;
    const writable = (options.writable ?? false) && file.writable;
    if (h.logGuid !== ZERO_GUID) {
      // A log to replay: into the file when opened writable (then the LogGuid is cleared in
      // both headers), else in memory, leaving the file as it is (qemu refuses that case).
      const replay = readLogReplay(file, h, HEADER_OFFSETS[h.slot]);
      if (replay !== undefined) {
        this.replayedLogEntries = replay.entries;
        if (writable) applyReplay(file, replay);
        else file = this.file = new ReplayedFile(file, replay);
      }
      if (writable) this.writeHeaders({ ...h, logGuid: ZERO_GUID });
    }
    const regions = readRegions(file);
    this.bat = regions.bat;
    const m = readMetadata(file, regions.metadata);
    this.metadata = m;
    if (m.hasParent)
      throw new ImageError(
        "UNSUPPORTED_FEATURE",
        `${file.name}: a differencing VHDX (HasParent): Amber reads fixed and dynamic VHDX only; qemu-img convert -O vhdx makes a standalone copy`,
        regions.metadata.fileOffset,
      );
    this.size = m.virtualSize;
    this.grain = m.blockSize;
    this.ratio = chunkRatio(m.blockSize, m.logicalSectorSize);
    this.blocks = Math.ceil(m.virtualSize / m.blockSize);
    const entries = batEntries(this.blocks, this.ratio);
    if (entries * 8 > Math.min(this.bat.length, MAX_BAT_BYTES))
      throw new ImageError(
        entries * 8 > MAX_BAT_BYTES ? "LIMIT_EXCEEDED" : "CORRUPT",
        `${file.name}: ${this.blocks} blocks need a ${entries * 8}-byte BAT; the BAT region holds ${this.bat.length} (limit ${MAX_BAT_BYTES})`,
        this.bat.fileOffset,
      );
    const batBytes = readExactly(file, this.bat.fileOffset, entries * 8, "VHDX BAT");
    const bv = new DataView(batBytes.buffer, batBytes.byteOffset, batBytes.length);
    this.states = new Uint8Array(this.blocks);
    this.offsetsMiB = new Float64Array(this.blocks);
    const fileSize = file.size();
    const reserved: [number, number, string][] = [
      [0, MiB, "the headers"],
      [h.logOffset, h.logLength, "the log"],
      ...regions.all.map((r): [number, number, string] => [r.fileOffset, r.length, `region ${r.guid}`]),
    ];
    const used = new Set<number>();
    let end = fileSize;
    for (let b = 0; b < this.blocks; b++) {
      const at = batIndex(b, this.ratio) * 8;
      const lo = bv.getUint32(at, true);
      const hi = bv.getUint32(at + 4, true);
      const state = lo & 7;
      const where = this.bat.fileOffset + at;
      if (STATE_NAMES[state] === undefined || state === PAYLOAD_PARTIALLY_PRESENT)
        throw new ImageError(
          "CORRUPT",
          `${file.name}: BAT entry of block ${b} has state ${state}${state === PAYLOAD_PARTIALLY_PRESENT ? " (partially present, only valid in a differencing file)" : ""}; expected 0, 1, 2, 3 or 6`,
          where,
        );
      this.states[b] = state;
      if (state !== PAYLOAD_FULLY_PRESENT) continue;
      const mib = hi * 4096 + (lo >>> 20);
      const off = mib * MiB;
      const need = Math.min(m.blockSize, m.virtualSize - b * m.blockSize);
      if (off + need > fileSize)
        throw new ImageError(
          "CORRUPT",
          `${file.name}: BAT entry of block ${b} points to ${off}+${need}, past the end of the ${fileSize}-byte file`,
          where,
        );
      for (const [rs, rl, what] of reserved)
        if (off < rs + rl && rs < off + m.blockSize)
          throw new ImageError(
            "CORRUPT",
            `${file.name}: BAT entry of block ${b} points to ${off}, inside ${what} (${rs}+${rl})`,
            where,
          );
      if (used.has(mib))
        throw new ImageError(
          "CORRUPT",
          `${file.name}: BAT entry of block ${b} points to ${off}, which an earlier block already uses`,
          where,
        );
      used.add(mib);
      this.offsetsMiB[b] = mib;
      end = Math.max(end, off + m.blockSize);
    }
    for (const [rs, rl] of reserved) end = Math.max(end, rs + rl);
    this.fileEnd = Math.ceil(end / MiB) * MiB;
    this.writable = writable;
  }

  /** The state of payload block `b` (see PAYLOAD_*), for info and map. */
  blockState(b: number): number {
    return this.states[b] as number;
  }

  /** Where payload block `b` lies in the file (undefined unless fully present). */
  blockOffset(b: number): number | undefined {
    return this.states[b] === PAYLOAD_FULLY_PRESENT ? (this.offsetsMiB[b] as number) * MiB : undefined;
  }

  /** "fixed" when every block is in the file, "dynamic" otherwise (VHDX itself does not record it). */
  get subformat(): "fixed" | "dynamic" {
    return this.states.every((s) => s === PAYLOAD_FULLY_PRESENT) ? "fixed" : "dynamic";
  }

  has(offset: number): boolean {
    return this.states[Math.floor(offset / this.grain)] !== PAYLOAD_NOT_PRESENT;
  }

  read(offset: number, length: number): Uint8Array {
    const b = Math.floor(offset / this.grain);
    if (this.states[b] !== PAYLOAD_FULLY_PRESENT) return new Uint8Array(length);
    const blockAt = (this.offsetsMiB[b] as number) * MiB;
    const at = blockAt + (offset - b * this.grain);
    if (at >= this.windowAt && at + length <= this.windowAt + this.window.length)
      return this.window.subarray(at - this.windowAt, at - this.windowAt + length);
    // Read ahead up to READ_WINDOW bytes of this block: sequential page reads then cost one
    // file read per window instead of one per page.
    const blockEnd = blockAt + Math.min(this.grain, this.size - b * this.grain);
    const n = Math.max(length, Math.min(READ_WINDOW, blockEnd - at));
    const got = this.file.read(at, n);
    const bytes = got.length === n ? got.slice() : new Uint8Array(n);
    if (got.length !== n) bytes.set(got);
    this.window = bytes;
    this.windowAt = at;
    return bytes.subarray(0, length);
  }

  write(offset: number, data: Uint8Array, below: (offset: number, length: number) => Uint8Array): void {
    if (!this.writable) throw new ImageError("READ_ONLY", `${this.name} was opened read-only`);
    const b = Math.floor(offset / this.grain);
    const inBlock = offset - b * this.grain;
    if (inBlock + data.length > this.grain)
      throw new ImageError("INVALID_ARGUMENT", "a VHDX write must stay inside one block");
    this.markModified();
    if (this.states[b] !== PAYLOAD_FULLY_PRESENT) this.allocate(b, below);
    const at = (this.offsetsMiB[b] as number) * MiB + inBlock;
    this.file.write(at, data);
    // Keep the read-ahead window what the file holds.
    const s = Math.max(at, this.windowAt);
    const e = Math.min(at + data.length, this.windowAt + this.window.length);
    if (s < e) this.window.set(data.subarray(s - at, e - at), s - this.windowAt);
  }

  /**
   * Gives block `b` space at the end of the file: extends the file (zeros), copies in what
   * the layers below hold for a not-present block, syncs, and only then writes the BAT
   * entry, so a crash leaves the old entry pointing where it did (the new space is a leak).
   */
  private allocate(b: number, below: (offset: number, length: number) => Uint8Array): void {
    const at = this.fileEnd;
    const bs = this.grain;
    this.fileEnd += bs;
    if (this.file.truncate !== undefined) this.file.truncate(this.fileEnd);
    else this.file.write(this.fileEnd - 1, new Uint8Array(1));
    if (this.states[b] === PAYLOAD_NOT_PRESENT) {
      const start = b * bs;
      const stop = Math.min(this.size, start + bs);
      for (let o = start; o < stop; o += FILL_CHUNK) {
        const chunk = below(o, Math.min(FILL_CHUNK, stop - o));
        if (!isFilledWith(chunk, 0)) this.file.write(at + (o - start), chunk);
      }
    }
    this.file.sync?.();
    const mib = at / MiB;
    const entry = new Uint8Array(8);
    const ev = new DataView(entry.buffer);
    ev.setUint32(0, (PAYLOAD_FULLY_PRESENT | ((mib % 4096) << 20)) >>> 0, true);
    ev.setUint32(4, Math.floor(mib / 4096), true);
    this.file.write(this.bat.fileOffset + batIndex(b, this.ratio) * 8, entry);
    this.states[b] = PAYLOAD_FULLY_PRESENT;
    this.offsetsMiB[b] = mib;
  }

  /**
   * Before the first change: new FileWriteGuid and DataWriteGuid, written to the older
   * header slot with the sequence number + 1, synced, then to the other slot with + 2, so
   * at every moment one valid header exists.
   */
  private markModified(): void {
    if (this.modified) return;
    this.modified = true;
    this.writeHeaders({
      ...this.header,
      fileWriteGuid: randomGuid(),
      dataWriteGuid: randomGuid(),
      logGuid: ZERO_GUID,
    });
  }

  /** Writes `next` to the non-current slot (sequence + 1), syncs, then to the other (+ 2). */
  private writeHeaders(next: VhdxHeader): void {
    for (let i = 0; i < 2; i++) {
      const slot = (this.header.slot + 1) % 2;
      const h = { ...next, slot, sequenceNumber: this.header.sequenceNumber + 1n };
      this.file.write(HEADER_OFFSETS[slot], serializeHeader(h));
      this.file.sync?.();
      this.header = h;
    }
  }

  *extents(): Iterable<[number, number]> {
    for (let b = 0; b < this.blocks; b++) {
      if (this.states[b] === PAYLOAD_NOT_PRESENT) continue;
      const start = b * this.grain;
      yield [start, Math.min(this.grain, this.size - start)];
    }
  }

  fileSize(): number {
    return this.file.size();
  }

  sync(): void {
    this.file.sync?.();
  }

  close(): void {
    if (this.writable) this.sync();
    this.file.close();
  }
}
