import { type BlockFile, readExactly } from "./block-file.js";
import { ImageError } from "./errors.js";

/**
 * Apple UDIF ("DMG") structures: the 512-byte "koly" trailer at the end of the file, the
 * XML property list it points to, and in it the "blkx" resources, each a base64 "mish"
 * block table of chunks. All integers big-endian. See docs/FORMAT.md ("DMG").
 */

export const KOLY_SIZE = 512;
/** Chunk types (BLKXChunkEntry.EntryType). */
export const CHUNK_ZERO = 0x00000000;
export const CHUNK_RAW = 0x00000001;
export const CHUNK_IGNORE = 0x00000002;
export const CHUNK_ADC = 0x80000004;
export const CHUNK_ZLIB = 0x80000005;
export const CHUNK_BZIP2 = 0x80000006;
export const CHUNK_LZFSE = 0x80000007;
export const CHUNK_COMMENT = 0x7ffffffe;
export const CHUNK_TERMINATOR = 0xffffffff;
/** UDIFChecksum type for CRC-32. */
export const CHECKSUM_CRC32 = 2;

/** Largest XML plist read (hdiutil's are a few KiB to a few MiB). */
export const MAX_PLIST_BYTES = 64 * 1024 * 1024;
/** Largest chunk, decoded (qemu's limit too: 64 MiB). */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Most chunks across all tables. */
export const MAX_CHUNKS = 16 * 1024 * 1024;

const UNSUPPORTED: Record<number, string> = {
  [CHUNK_ADC]: "ADC (0x80000004)",
  [CHUNK_BZIP2]: "bzip2 (0x80000006, UDBZ)",
  [CHUNK_LZFSE]: "LZFSE (0x80000007, ULFO)",
};

export interface UdifChecksum {
  type: number;
  /** First 32 bits of the checksum data (all CRC-32 needs). */
  value: number;
}

export interface Koly {
  version: number;
  flags: number;
  dataForkOffset: number;
  dataForkLength: number;
  rsrcForkLength: number;
  segmentCount: number;
  dataChecksum: UdifChecksum;
  xmlOffset: number;
  xmlLength: number;
  masterChecksum: UdifChecksum;
  imageVariant: number;
  sectorCount: number;
}

/** One chunk: `sectorCount` sectors of the disk from `sector`, stored as `type` at `offset`+`length`. */
export interface DmgChunk {
  type: number;
  sector: number;
  sectorCount: number;
  offset: number;
  length: number;
}

export interface BlkxTable {
  name: string;
  firstSector: number;
  sectorCount: number;
  checksum: UdifChecksum;
  chunks: DmgChunk[];
}

const u64 = (v: DataView, at: number): number => {
  const hi = v.getUint32(at);
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER; // beyond 2^53: refused by the range checks
  return hi * 2 ** 32 + v.getUint32(at + 4);
};
const checksum = (v: DataView, at: number): UdifChecksum => ({
  type: v.getUint32(at),
  value: v.getUint32(at + 8),
});

export function readKoly(file: BlockFile): Koly {
  const size = file.size();
  if (size < KOLY_SIZE)
    throw new ImageError("TRUNCATED", `${file.name}: ${size} bytes, too short for a 512-byte DMG trailer`, 0);
  const at = size - KOLY_SIZE;
  const b = readExactly(file, at, KOLY_SIZE, "DMG koly trailer");
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const sig = String.fromCharCode(...b.subarray(0, 4));
  if (sig !== "koly")
    throw new ImageError("BAD_MAGIC", `${file.name}: trailer signature "${sig}", expected "koly"`, at);
  const version = v.getUint32(4);
  const headerSize = v.getUint32(8);
  if (version !== 4 || headerSize !== KOLY_SIZE)
    throw new ImageError(
      "UNSUPPORTED_VERSION",
      `${file.name}: koly version ${version}, header size ${headerSize}; expected 4 and 512`,
      at + 4,
    );
  const k: Koly = {
    version,
    flags: v.getUint32(12),
    dataForkOffset: u64(v, 24),
    dataForkLength: u64(v, 32),
    rsrcForkLength: u64(v, 48),
    segmentCount: v.getUint32(60),
    dataChecksum: checksum(v, 80),
    xmlOffset: u64(v, 216),
    xmlLength: u64(v, 224),
    masterChecksum: checksum(v, 352),
    imageVariant: v.getUint32(488),
    sectorCount: u64(v, 492),
  };
  if (k.segmentCount > 1)
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: segment ${v.getUint32(56)} of a ${k.segmentCount}-segment DMG; join the segments first`,
      at + 56,
    );
  if (k.dataForkOffset + k.dataForkLength > at)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: data fork ${k.dataForkOffset}+${k.dataForkLength} runs past the trailer at ${at}`,
      at + 24,
    );
  if (k.xmlLength === 0)
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: no XML property list (an old DMG with only a resource fork); expected XMLOffset/XMLLength`,
      at + 216,
    );
  if (k.xmlLength > MAX_PLIST_BYTES)
    throw new ImageError(
      "LIMIT_EXCEEDED",
      `${file.name}: XML property list of ${k.xmlLength} bytes, above the ${MAX_PLIST_BYTES}-byte limit`,
      at + 224,
    );
  if (k.xmlOffset + k.xmlLength > at)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: XML property list ${k.xmlOffset}+${k.xmlLength} runs past the trailer at ${at}`,
      at + 216,
    );
  return k;
}

/** Decodes one XML entity-escaped string (plist <string> values). */
function xmlText(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

function base64(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  try {
    return Uint8Array.from(atob(clean), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * The blkx tables of the plist: under resource-fork → blkx, an array of dicts, each with
 * a Name (or CFName) string and a Data blob holding the mish table. Only that much of the
 * plist is read; every other key is ignored.
 */
export function readBlkxTables(file: BlockFile, k: Koly): BlkxTable[] {
  const xmlBytes = readExactly(file, k.xmlOffset, k.xmlLength, "DMG XML property list");
  const xml = new TextDecoder("utf-8", { fatal: false }).decode(xmlBytes);
  const fail = (what: string): never => {
    throw new ImageError("CORRUPT", `${file.name}: XML property list: ${what}`, k.xmlOffset);
  };
  const key = /<key>\s*blkx\s*<\/key>\s*<array>/.exec(xml);
  if (key === null) fail('no "blkx" array (expected resource-fork → blkx)');
  const start = (key as RegExpExecArray).index + (key as RegExpExecArray)[0].length;
  const stop = xml.indexOf("</array>", start);
  if (stop < 0) fail("the blkx array is not closed");
  const body = xml.slice(start, stop);
  const tables: BlkxTable[] = [];
  let chunks = 0;
  const dictRe = /<dict>([\s\S]*?)<\/dict>/g;
  for (let m = dictRe.exec(body); m !== null; m = dictRe.exec(body)) {
    const dict = m[1] as string;
    const data = /<key>\s*Data\s*<\/key>\s*<data>([^<]*)<\/data>/.exec(dict);
    if (data === null) fail(`blkx entry ${tables.length} has no Data`);
    const name =
      /<key>\s*(?:CFName|Name)\s*<\/key>\s*<string>([^<]*)<\/string>/.exec(dict)?.[1] ?? `#${tables.length}`;
    const mish = base64((data as RegExpExecArray)[1] as string);
    if (mish === undefined) fail(`blkx entry ${tables.length} (${xmlText(name)}): Data is not base64`);
    const t = parseMish(file, mish as Uint8Array, xmlText(name), tables.length, k);
    chunks += t.chunks.length;
    if (chunks > MAX_CHUNKS)
      throw new ImageError("LIMIT_EXCEEDED", `${file.name}: more than ${MAX_CHUNKS} chunks`, k.xmlOffset);
    tables.push(t);
  }
  if (tables.length === 0) fail("the blkx array is empty");
  return tables;
}

/** Parses a mish block table; chunk offsets become absolute file offsets. */
function parseMish(file: BlockFile, b: Uint8Array, name: string, index: number, k: Koly): BlkxTable {
  const where = `blkx table ${index} (${name})`;
  const fail = (code: "CORRUPT" | "UNSUPPORTED_FEATURE" | "LIMIT_EXCEEDED", what: string): never => {
    throw new ImageError(code, `${file.name}: ${where}: ${what}`, k.xmlOffset);
  };
  if (b.length < 204) fail("CORRUPT", `${b.length} bytes, expected at least 204 for a mish header`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const sig = String.fromCharCode(...b.subarray(0, 4));
  if (sig !== "mish") fail("CORRUPT", `signature "${sig}", expected "mish"`);
  if (v.getUint32(4) !== 1) fail("CORRUPT", `mish version ${v.getUint32(4)}, expected 1`);
  const firstSector = u64(v, 8);
  const sectorCount = u64(v, 16);
  const dataOffset = u64(v, 24);
  const count = v.getUint32(200);
  if (204 + count * 40 > b.length)
    fail("CORRUPT", `${count} chunks need ${204 + count * 40} bytes, the table has ${b.length}`);
  const chunks: DmgChunk[] = [];
  const limit = file.size() - KOLY_SIZE;
  const tableEnd = firstSector + sectorCount;
  for (let i = 0; i < count; i++) {
    const e = 204 + i * 40;
    const type = v.getUint32(e);
    if (type === CHUNK_COMMENT) continue;
    if (type === CHUNK_TERMINATOR) break;
    const c: DmgChunk = {
      type,
      sector: firstSector + u64(v, e + 8),
      sectorCount: u64(v, e + 16),
      offset: k.dataForkOffset + dataOffset + u64(v, e + 24),
      length: u64(v, e + 32),
    };
    const unsupported = UNSUPPORTED[type];
    if (unsupported !== undefined)
      fail(
        "UNSUPPORTED_FEATURE",
        `chunk ${i} is ${unsupported}-compressed; Amber reads raw (UDRO) and zlib (UDZO) chunks; convert it with hdiutil convert -format UDZO, or read it with dmg2img`,
      );
    if (type !== CHUNK_ZERO && type !== CHUNK_RAW && type !== CHUNK_IGNORE && type !== CHUNK_ZLIB)
      fail("CORRUPT", `chunk ${i} has unknown type 0x${type.toString(16).padStart(8, "0")}`);
    if (c.sectorCount * 512 > MAX_CHUNK_BYTES)
      fail(
        "LIMIT_EXCEEDED",
        `chunk ${i} covers ${c.sectorCount} sectors, above the ${MAX_CHUNK_BYTES}-byte limit`,
      );
    if (c.sector + c.sectorCount > tableEnd)
      fail(
        "CORRUPT",
        `chunk ${i} (sectors ${c.sector}+${c.sectorCount}) runs past the table's end sector ${tableEnd}`,
      );
    if (type === CHUNK_RAW && c.length !== c.sectorCount * 512)
      fail("CORRUPT", `raw chunk ${i} stores ${c.length} bytes for ${c.sectorCount} sectors`);
    if ((type === CHUNK_RAW || type === CHUNK_ZLIB) && c.offset + c.length > limit)
      fail("CORRUPT", `chunk ${i} at ${c.offset}+${c.length} lies past the data, which ends at ${limit}`);
    if (c.sectorCount > 0) chunks.push(c);
  }
  return { name, firstSector, sectorCount, checksum: checksum(v, 64), chunks };
}
