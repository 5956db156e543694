import { type BlockFile, readExactly } from "./block-file.js";
import { crc32c } from "./crc32.js";
import { ImageError } from "./errors.js";
import { MiB, readGuid, type VhdxHeader } from "./vhdx-format.js";

/**
 * The VHDX log (MS-VHDX 2.3): a circular buffer of entries, each a 64-byte header
 * ("loge", CRC-32C over the whole entry, sequence number, Tail, LogGuid), descriptors
 * ("desc" for a 4 KiB sector write, "zero" for a run of zeros) and one "data" sector per
 * data descriptor. Replay finds the active sequence — the chain of valid entries with
 * consecutive sequence numbers whose head's Tail points to its first entry, the one with
 * the highest head sequence number — and applies its writes in order. With no valid
 * sequence the log is empty.
 */

const SECTOR = 4096;
/** Logs larger than this are refused before they are scanned. */
const MAX_LOG_BYTES = 256 * MiB;

/** A write the log holds: `data` at `offset`, or `zeroLength` zero bytes there. */
export interface LogWrite {
  offset: number;
  data?: Uint8Array;
  zeroLength?: number;
}

export interface LogReplay {
  writes: LogWrite[];
  /** The file must be at least this long after replay (the entry's LastFileOffset). */
  lastFileOffset: number;
  entries: number;
}

interface Entry {
  pos: number;
  length: number;
  tail: number;
  seq: bigint;
  writes: LogWrite[];
  lastFileOffset: number;
}

const u64 = (v: DataView, at: number): number => v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
const sig = (b: Uint8Array, at: number): string => String.fromCharCode(...b.subarray(at, at + 4));

/** Reads `length` bytes of the circular log from `pos` (wrapping at its end). */
function readLog(log: Uint8Array, pos: number, length: number): Uint8Array {
  if (pos + length <= log.length) return log.subarray(pos, pos + length);
  const out = new Uint8Array(length);
  const first = log.length - pos;
  out.set(log.subarray(pos), 0);
  out.set(log.subarray(0, length - first), first);
  return out;
}

/** Parses and validates the entry at `pos`; undefined if it is not a valid entry of this log. */
function parseEntry(log: Uint8Array, pos: number, logGuid: string, fileSize: number): Entry | undefined {
  const head = log.subarray(pos, pos + 64);
  if (sig(head, 0) !== "loge") return undefined;
  const hv = new DataView(head.buffer, head.byteOffset, 64);
  const length = hv.getUint32(8, true);
  const tail = hv.getUint32(12, true);
  const count = hv.getUint32(24, true);
  if (length === 0 || length % SECTOR !== 0 || length > log.length) return undefined;
  if (tail % SECTOR !== 0 || tail >= log.length) return undefined;
  if (readGuid(head, 32) !== logGuid) return undefined;
  const descSectors = Math.ceil((64 + count * 32) / SECTOR);
  const entry = readLog(log, pos, length).slice();
  const v = new DataView(entry.buffer);
  const stored = v.getUint32(4, true);
  v.setUint32(4, 0, true);
  if (crc32c(entry) !== stored) return undefined;
  const seq = v.getBigUint64(16, true);
  const writes: LogWrite[] = [];
  let dataSector = descSectors;
  for (let i = 0; i < count; i++) {
    const d = 64 + i * 32;
    if (d + 32 > length) return undefined;
    const kind = sig(entry, d);
    const fileOffset = u64(v, d + 16);
    if (v.getBigUint64(d + 24, true) !== seq || fileOffset % SECTOR !== 0) return undefined;
    if (kind === "zero") {
      const zeroLength = u64(v, d + 8);
      if (zeroLength % SECTOR !== 0 || fileOffset + zeroLength > 2 ** 52) return undefined;
      writes.push({ offset: fileOffset, zeroLength });
    } else if (kind === "desc") {
      const at = dataSector * SECTOR;
      if (at + SECTOR > length || sig(entry, at) !== "data") return undefined;
      const high = v.getUint32(at + 4, true);
      const low = v.getUint32(at + 4092, true);
      if ((BigInt(high) << 32n) + BigInt(low) !== seq) return undefined;
      const data = new Uint8Array(SECTOR);
      data.set(entry.subarray(d + 8, d + 16), 0); // LeadingBytes
      data.set(entry.subarray(at + 8, at + 4092), 8);
      data.set(entry.subarray(d + 4, d + 8), 4092); // TrailingBytes
      writes.push({ offset: fileOffset, data });
      dataSector++;
    } else return undefined;
  }
  const lastFileOffset = u64(v, 56);
  if (lastFileOffset > Math.max(fileSize, 0) + 64 * 1024 * MiB) return undefined;
  return { pos, length, tail, seq, writes, lastFileOffset };
}

/** Finds and decodes the active sequence of the log `header` names; undefined when the log is empty. */
export function readLogReplay(file: BlockFile, header: VhdxHeader, headerAt: number): LogReplay | undefined {
  const { logOffset, logLength } = header;
  if (logLength > MAX_LOG_BYTES)
    throw new ImageError(
      "LIMIT_EXCEEDED",
      `${file.name}: a ${logLength}-byte VHDX log, above the ${MAX_LOG_BYTES}-byte limit`,
      headerAt + 68,
    );
  if (logLength === 0 || logLength % MiB !== 0 || logOffset % MiB !== 0 || logOffset < MiB)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: log at ${logOffset}+${logLength}: expected 1 MiB-aligned, a non-zero multiple of 1 MiB, past the headers`,
      headerAt + 68,
    );
  const log = readExactly(file, logOffset, logLength, "VHDX log");
  const size = file.size();
  const valid = new Map<number, Entry>();
  for (let pos = 0; pos < logLength; pos += SECTOR) {
    const e = parseEntry(log, pos, header.logGuid, size);
    if (e !== undefined) valid.set(pos, e);
  }
  let best: Entry[] | undefined;
  for (const start of valid.values()) {
    const chain = [start];
    let cur = start;
    for (;;) {
      if (cur.tail === start.pos && (best === undefined || cur.seq > (best[best.length - 1] as Entry).seq))
        best = chain.slice();
      const next = valid.get((cur.pos + cur.length) % logLength);
      if (next === undefined || next.seq !== cur.seq + 1n || chain.length >= valid.size) break;
      chain.push(next);
      cur = next;
    }
  }
  if (best === undefined) return undefined;
  return {
    writes: best.flatMap((e) => e.writes),
    lastFileOffset: (best[best.length - 1] as Entry).lastFileOffset,
    entries: best.length,
  };
}

/**
 * A read-only view of a file with a log's writes applied in memory: what the file holds
 * after replay, without changing it (a read-only open of a file with a log to replay).
 */
export class ReplayedFile implements BlockFile {
  readonly writable = false;
  readonly name: string;
  private readonly length: number;

  constructor(
    private readonly file: BlockFile,
    private readonly replay: LogReplay,
  ) {
    this.name = file.name;
    this.length = Math.max(file.size(), replay.lastFileOffset);
  }

  size(): number {
    return this.length;
  }

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.length, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    out.set(this.file.read(offset, end - offset));
    // Later writes win: apply in log order.
    for (const w of this.replay.writes) {
      const wl = w.data?.length ?? (w.zeroLength as number);
      const s = Math.max(offset, w.offset);
      const e = Math.min(end, w.offset + wl);
      if (s >= e) continue;
      if (w.data !== undefined) out.set(w.data.subarray(s - w.offset, e - w.offset), s - offset);
      else out.fill(0, s - offset, e - offset);
    }
    return out;
  }

  write(): void {
    throw new ImageError("READ_ONLY", `${this.name} is read-only`);
  }

  close(): void {
    this.file.close();
  }
}

/** Applies a replay to the file itself (writable opens), extending it as the log says, then syncs. */
export function applyReplay(file: BlockFile, replay: LogReplay): void {
  for (const w of replay.writes) {
    if (w.data !== undefined) file.write(w.offset, w.data);
    else {
      const zeros = new Uint8Array(Math.min(w.zeroLength as number, MiB));
      for (let at = 0; at < (w.zeroLength as number); at += zeros.length)
        file.write(w.offset + at, zeros.subarray(0, Math.min(zeros.length, (w.zeroLength as number) - at)));
    }
  }
  if (file.size() < replay.lastFileOffset) {
    if (file.truncate !== undefined) file.truncate(replay.lastFileOffset);
    else file.write(replay.lastFileOffset - 1, new Uint8Array(1));
  }
  file.sync?.();
}
