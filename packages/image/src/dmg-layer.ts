import type { BlockFile } from "./block-file.js";
import { crc32 } from "./crc32.js";
import {
  type BlkxTable,
  CHECKSUM_CRC32,
  CHUNK_RAW,
  CHUNK_ZLIB,
  type DmgChunk,
  KOLY_SIZE,
  type Koly,
  readBlkxTables,
  readKoly,
} from "./dmg-format.js";
import { ImageError } from "./errors.js";
import type { Layer } from "./layer.js";
import { deflateHost } from "./zlib-host.js";

const SECTOR = 512;
/** Bytes read ahead inside a raw chunk. */
const READ_WINDOW = 256 * 1024;

/** Whether the file ends with a DMG (UDIF) trailer. */
export function isDmg(file: BlockFile): boolean {
  const size = file.size();
  if (size < KOLY_SIZE) return false;
  const t = file.read(size - KOLY_SIZE, 4);
  return t[0] === 0x6b && t[1] === 0x6f && t[2] === 0x6c && t[3] === 0x79; // "koly"
}

/**
 * An Apple UDIF disk image (.dmg) as a read-only layer: raw (UDRO) and zlib (UDZO) chunks,
 * zero-fill and ignored chunks (read as zeros), comments and terminators skipped. ADC,
 * bzip2 and LZFSE chunks are refused at open with one line. The disk is every blkx table's
 * sectors, at the sectors each table names (sectors no chunk covers read as zeros).
 * The last decoded chunk is cached (chunks are typically 1 MiB).
 */
export class DmgLayer implements Layer {
  readonly format = "dmg" as const;
  readonly name: string;
  readonly size: number;
  readonly grain = 4096;
  readonly writable = false;
  readonly koly: Koly;
  readonly tables: BlkxTable[];
  /** All chunks holding sectors, by first sector. */
  private readonly chunks: DmgChunk[];
  private cachedChunk = -1;
  private cachedData: Uint8Array | undefined;
  /** Read-ahead inside raw chunks: a copy of the file's bytes from `windowAt`. */
  private window = new Uint8Array(0);
  private windowAt = -1;
  /** The chunk the last lookup found: sequential reads hit it or the next one. */
  private lastFound = 0;

  constructor(readonly file: BlockFile) {
    this.name = file.name;
    this.koly = readKoly(file);
    this.tables = readBlkxTables(file, this.koly);
    this.chunks = this.tables.flatMap((t) => t.chunks).sort((a, b) => a.sector - b.sector);
    let end = 0;
    for (const c of this.chunks) {
      if (c.sector < end)
        throw new ImageError(
          "CORRUPT",
          `${file.name}: chunk at sector ${c.sector} overlaps the one before it (which ends at sector ${end})`,
          this.koly.xmlOffset,
        );
      end = c.sector + c.sectorCount;
    }
    const declared = this.koly.sectorCount;
    if (declared !== 0 && declared < end)
      throw new ImageError(
        "CORRUPT",
        `${file.name}: trailer says ${declared} sectors, but chunks reach sector ${end}`,
        file.size() - KOLY_SIZE + 492,
      );
    this.size = Math.max(declared, end) * SECTOR;
  }

  /** Index of the chunk holding `sector`, or -1 for a gap. */
  private find(sector: number): number {
    const cs = this.chunks;
    for (let guess = this.lastFound; guess <= this.lastFound + 1; guess++) {
      const c = cs[guess];
      if (c !== undefined && sector >= c.sector && sector < c.sector + c.sectorCount) {
        this.lastFound = guess;
        return guess;
      }
    }
    let lo = 0;
    let hi = cs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = cs[mid] as DmgChunk;
      if (sector < c.sector) hi = mid - 1;
      else if (sector >= c.sector + c.sectorCount) lo = mid + 1;
      else {
        this.lastFound = mid;
        return mid;
      }
    }
    return -1;
  }

  /** Index of the first chunk starting after `sector` (chunks.length if none). */
  private firstAfter(sector: number): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.chunks[mid] as DmgChunk).sector > sector) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  has(offset: number): boolean {
    return offset < this.size;
  }

  /** Decodes a zlib chunk (the whole chunk: its sectors' bytes, exactly). */
  private decode(index: number): Uint8Array {
    if (this.cachedChunk === index) return this.cachedData as Uint8Array;
    const c = this.chunks[index] as DmgChunk;
    const want = c.sectorCount * SECTOR;
    const stored = this.file.read(c.offset, c.length);
    const where = `${this.name}: zlib chunk at sector ${c.sector} (stored at ${c.offset}+${c.length})`;
    const cmf = stored[0] ?? 0;
    const flg = stored[1] ?? 0;
    if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0 || (flg & 0x20) !== 0)
      throw new ImageError(
        "CORRUPT",
        `${where}: no zlib header (found ${cmf.toString(16)} ${flg.toString(16)}, expected 78 xx)`,
        c.offset,
      );
    const z = deflateHost();
    let out: Uint8Array;
    try {
      out =
        z.inflateSync !== undefined
          ? z.inflateSync(stored, { maxOutputLength: want })
          : z.inflateRawSync(stored.subarray(2), { maxOutputLength: want });
    } catch (e) {
      throw new ImageError(
        "CORRUPT",
        `${where}: does not inflate (${(e as Error).message.split("\n")[0]})`,
        c.offset,
      );
    }
    if (out.length !== want)
      throw new ImageError(
        "CORRUPT",
        `${where}: inflates to ${out.length} bytes, expected ${want}`,
        c.offset,
      );
    this.cachedChunk = index;
    this.cachedData = out;
    return out;
  }

  read(offset: number, length: number): Uint8Array {
    // Fast path (every page of a sequential read): one chunk holds it all; no copy.
    const first = this.find(Math.floor(offset / SECTOR));
    if (first >= 0) {
      const c = this.chunks[first] as DmgChunk;
      const inChunk = offset - c.sector * SECTOR;
      if (inChunk + length <= c.sectorCount * SECTOR) {
        if (c.type === CHUNK_ZLIB) return this.decode(first).subarray(inChunk, inChunk + length);
        if (c.type === CHUNK_RAW) {
          // Read ahead inside the chunk: one file read per window, not per page.
          const at = c.offset + inChunk;
          if (at >= this.windowAt && at + length <= this.windowAt + this.window.length)
            return this.window.subarray(at - this.windowAt, at - this.windowAt + length);
          const n = Math.max(length, Math.min(READ_WINDOW, c.offset + c.length - at));
          const got = this.file.read(at, n);
          if (got.length === n) {
            this.window = got.slice();
            this.windowAt = at;
            return this.window.subarray(0, length);
          }
        }
      }
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const sector = Math.floor(pos / SECTOR);
      const i = this.find(sector);
      if (i < 0) {
        // A gap: zeros up to the next chunk.
        const nextChunk = this.chunks[this.firstAfter(sector)];
        const stop =
          nextChunk === undefined ? offset + length : Math.min(offset + length, nextChunk.sector * SECTOR);
        done += stop - pos;
        continue;
      }
      const c = this.chunks[i] as DmgChunk;
      const inChunk = pos - c.sector * SECTOR;
      const n = Math.min(length - done, c.sectorCount * SECTOR - inChunk);
      if (c.type === CHUNK_RAW) {
        const got = this.file.read(c.offset + inChunk, n);
        if (got.length !== n)
          throw new ImageError(
            "TRUNCATED",
            `${this.name}: raw chunk at sector ${c.sector} is cut short`,
            c.offset,
          );
        out.set(got, done);
      } else if (c.type === CHUNK_ZLIB) {
        out.set(this.decode(i).subarray(inChunk, inChunk + n), done);
      }
      done += n;
    }
    return out;
  }

  /** Runs of stored data (raw and zlib chunks), 4 KiB-aligned and merged. */
  *extents(): Iterable<[number, number]> {
    let start = -1;
    let end = -1;
    for (const c of this.chunks) {
      if (c.type !== CHUNK_RAW && c.type !== CHUNK_ZLIB) continue;
      const s = Math.floor((c.sector * SECTOR) / this.grain) * this.grain;
      const e = Math.min(
        this.size,
        Math.ceil(((c.sector + c.sectorCount) * SECTOR) / this.grain) * this.grain,
      );
      if (start >= 0 && s <= end) end = Math.max(end, e);
      else {
        if (start >= 0) yield [start, end - start];
        start = s;
        end = e;
      }
    }
    if (start >= 0) yield [start, end - start];
  }

  /**
   * Checks the CRC-32 checksums hdiutil writes: each blkx table's over its decoded sectors,
   * and the trailer's data fork checksum over the stored data fork. Returns one message per
   * mismatch (other checksum types are skipped).
   */
  verify(): string[] {
    const problems: string[] = [];
    for (const t of this.tables) {
      if (t.checksum.type !== CHECKSUM_CRC32) continue;
      let crc = 0;
      const step = 1 << 20;
      const start = t.firstSector * SECTOR;
      const end = Math.min(this.size, (t.firstSector + t.sectorCount) * SECTOR);
      for (let at = start; at < end; at += step) crc = crc32(this.read(at, Math.min(step, end - at)), crc);
      if (crc !== t.checksum.value)
        problems.push(
          `${this.name}: blkx table "${t.name}": CRC-32 of its data is ${crc.toString(16)}, the table says ${t.checksum.value.toString(16)}`,
        );
    }
    const k = this.koly;
    if (k.dataChecksum.type === CHECKSUM_CRC32) {
      let crc = 0;
      const step = 1 << 20;
      for (let at = 0; at < k.dataForkLength; at += step)
        crc = crc32(this.file.read(k.dataForkOffset + at, Math.min(step, k.dataForkLength - at)), crc);
      if (crc !== k.dataChecksum.value)
        problems.push(
          `${this.name}: data fork CRC-32 is ${crc.toString(16)}, the trailer says ${k.dataChecksum.value.toString(16)}`,
        );
    }
    return problems;
  }

  fileSize(): number {
    return this.file.size();
  }

  sync(): void {}

  close(): void {
    this.file.close();
  }
}
