import { type BlockFile, readExactly } from "./block-file.js";
import { crc32c } from "./crc32.js";
import { ImageError } from "./errors.js";

/**
 * VHDX (MS-VHDX v1.0) structures: the file type identifier, the two headers, the region
 * table, the metadata table and its items. All little-endian; every structure with a
 * checksum carries CRC-32C over its bytes with the checksum field zeroed. The layout and
 * the rules this reader enforces are in docs/FORMAT.md ("VHDX").
 */

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const VHDX_SIGNATURE = "vhdxfile";
export const HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const;
export const HEADER_SIZE = 4 * KiB;
export const REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB] as const;
export const REGION_TABLE_SIZE = 64 * KiB;
/** Limits from the spec: entry counts of the region and metadata tables. */
const MAX_TABLE_ENTRIES = 2047;
/** Largest virtual disk the spec allows. */
export const MAX_VIRTUAL_SIZE = 64 * 1024 * 1024 * MiB;
/** BAT regions above this are refused before allocation (8M entries: 64 TiB at 8 MiB blocks). */
export const MAX_BAT_BYTES = 64 * MiB;

/** GUIDs as their canonical text (lower case); bytes in the Windows mixed-endian layout. */
export const BAT_GUID = "2dc27766-f623-4200-9d64-115e9bfd4a08";
export const METADATA_GUID = "8b7ca206-4790-4b9a-b8fe-575f050f886e";
export const FILE_PARAMETERS_GUID = "caa16737-fa36-4d43-b3b6-33f0aa44e76b";
export const VIRTUAL_DISK_SIZE_GUID = "2fa54224-cd1b-4876-b211-5dbed83bf4b8";
export const PAGE83_GUID = "beca12ab-b2e6-4523-93ef-c309e000c746";
export const LOGICAL_SECTOR_GUID = "8141bf1d-a96f-4709-ba47-f233a8faab5f";
export const PHYSICAL_SECTOR_GUID = "cda348c7-445d-4471-9cc9-e9885251c556";
export const PARENT_LOCATOR_GUID = "a8d35f2d-b30b-454d-abf7-d3d84834ab0c";

export const ZERO_GUID = "00000000-0000-0000-0000-000000000000";

/** Reads a GUID stored in the Windows layout (first three fields little-endian). */
export function readGuid(b: Uint8Array, at: number): string {
  const h = (i: number) => (b[at + i] as number).toString(16).padStart(2, "0");
  const part = (idx: number[]) => idx.map(h).join("");
  return `${part([3, 2, 1, 0])}-${part([5, 4])}-${part([7, 6])}-${part([8, 9])}-${part([10, 11, 12, 13, 14, 15])}`;
}

export function writeGuid(b: Uint8Array, at: number, guid: string): void {
  const hex = guid.replace(/-/g, "");
  const byte = (i: number) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  for (let i = 0; i < 16; i++) b[at + i] = byte(order[i] as number);
}

/** A random (version 4) GUID from the platform's CSPRNG (Node and browsers both have it). */
export function randomGuid(): string {
  const r = new Uint8Array(16);
  globalThis.crypto.getRandomValues(r);
  r[6] = ((r[6] as number) & 0x0f) | 0x40;
  r[8] = ((r[8] as number) & 0x3f) | 0x80;
  const h = Array.from(r, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const u64 = (v: DataView, at: number): number => v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
const setU64 = (v: DataView, at: number, n: number): void => {
  v.setUint32(at, n >>> 0, true);
  v.setUint32(at + 4, Math.floor(n / 2 ** 32), true);
};
const ascii = (b: Uint8Array, at: number, n: number): string =>
  String.fromCharCode(...b.subarray(at, at + n));
const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

/** Verifies the CRC-32C at `at+4` over `bytes` (checksum field taken as zero). */
function checksumOk(bytes: Uint8Array, at = 4): { stored: number; computed: number } {
  const copy = bytes.slice();
  const v = new DataView(copy.buffer);
  const stored = v.getUint32(at, true);
  v.setUint32(at, 0, true);
  return { stored, computed: crc32c(copy) };
}

/** Stores the CRC-32C of `bytes` at offset 4. */
export function sealChecksum(bytes: Uint8Array): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  v.setUint32(4, 0, true);
  v.setUint32(4, crc32c(bytes), true);
}

export interface VhdxHeader {
  /** Which of the two header slots (0 at 64 KiB, 1 at 128 KiB) this came from. */
  slot: number;
  sequenceNumber: bigint;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
}

export function parseHeaderBytes(b: Uint8Array, slot: number): VhdxHeader {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    slot,
    sequenceNumber: v.getBigUint64(8, true),
    fileWriteGuid: readGuid(b, 16),
    dataWriteGuid: readGuid(b, 32),
    logGuid: readGuid(b, 48),
    logVersion: v.getUint16(64, true),
    version: v.getUint16(66, true),
    logLength: v.getUint32(68, true),
    logOffset: u64(v, 72),
  };
}

export function serializeHeader(h: VhdxHeader): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  const v = new DataView(b.buffer);
  b.set([0x68, 0x65, 0x61, 0x64]); // "head"
  v.setBigUint64(8, h.sequenceNumber, true);
  writeGuid(b, 16, h.fileWriteGuid);
  writeGuid(b, 32, h.dataWriteGuid);
  writeGuid(b, 48, h.logGuid);
  v.setUint16(64, h.logVersion, true);
  v.setUint16(66, h.version, true);
  v.setUint32(68, h.logLength, true);
  setU64(v, 72, h.logOffset);
  sealChecksum(b);
  return b;
}

/**
 * The current header: of the two slots, the valid one (signature "head", CRC-32C) with the
 * higher sequence number, as the spec says. One damaged slot is tolerated; two are not.
 */
export function readCurrentHeader(file: BlockFile): VhdxHeader {
  const problems: string[] = [];
  let best: VhdxHeader | undefined;
  for (const [slot, at] of HEADER_OFFSETS.entries()) {
    const b = file.read(at, HEADER_SIZE);
    if (b.length < HEADER_SIZE) {
      problems.push(`header ${slot + 1} at ${at}: file ends before it`);
      continue;
    }
    if (ascii(b, 0, 4) !== "head") {
      problems.push(`header ${slot + 1} at ${at}: signature "${ascii(b, 0, 4)}", expected "head"`);
      continue;
    }
    const c = checksumOk(b);
    if (c.stored !== c.computed) {
      problems.push(`header ${slot + 1} at ${at}: CRC-32C ${hex(c.stored)}, expected ${hex(c.computed)}`);
      continue;
    }
    const h = parseHeaderBytes(b, slot);
    if (best === undefined || h.sequenceNumber > best.sequenceNumber) best = h;
  }
  if (best === undefined) {
    const crc = problems.some((p) => p.includes("CRC-32C"));
    throw new ImageError(
      crc ? "CHECKSUM_MISMATCH" : "CORRUPT",
      `${file.name}: no valid VHDX header (${problems.join("; ")})`,
      HEADER_OFFSETS[0],
    );
  }
  if (best.version !== 1 || best.logVersion !== 0)
    throw new ImageError(
      "UNSUPPORTED_VERSION",
      `${file.name}: VHDX header version ${best.version}, log version ${best.logVersion}; expected 1 and 0 (MS-VHDX v1.0)`,
      HEADER_OFFSETS[best.slot] + 64,
    );
  return best;
}

export interface Region {
  guid: string;
  fileOffset: number;
  length: number;
  required: boolean;
}

export function serializeRegionTable(regions: Region[]): Uint8Array {
  const b = new Uint8Array(REGION_TABLE_SIZE);
  const v = new DataView(b.buffer);
  b.set([0x72, 0x65, 0x67, 0x69]); // "regi"
  v.setUint32(8, regions.length, true);
  regions.forEach((r, i) => {
    const at = 16 + i * 32;
    writeGuid(b, at, r.guid);
    setU64(v, at + 16, r.fileOffset);
    v.setUint32(at + 24, r.length, true);
    v.setUint32(at + 28, r.required ? 1 : 0, true);
  });
  sealChecksum(b);
  return b;
}

/**
 * The region table (first copy, the second if the first is damaged): BAT and metadata
 * regions, each 1 MiB-aligned inside the file. A required region of an unknown kind is
 * refused, as the spec asks.
 */
export function readRegions(file: BlockFile): { bat: Region; metadata: Region; all: Region[] } {
  const problems: string[] = [];
  for (const [copy, at] of REGION_TABLE_OFFSETS.entries()) {
    const b = file.read(at, REGION_TABLE_SIZE);
    if (b.length < REGION_TABLE_SIZE) {
      problems.push(`region table ${copy + 1} at ${at}: file ends before it`);
      continue;
    }
    if (ascii(b, 0, 4) !== "regi") {
      problems.push(`region table ${copy + 1} at ${at}: signature "${ascii(b, 0, 4)}", expected "regi"`);
      continue;
    }
    const c = checksumOk(b);
    if (c.stored !== c.computed) {
      problems.push(
        `region table ${copy + 1} at ${at}: CRC-32C ${hex(c.stored)}, expected ${hex(c.computed)}`,
      );
      continue;
    }
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const count = v.getUint32(8, true);
    if (count > MAX_TABLE_ENTRIES)
      throw new ImageError(
        "CORRUPT",
        `${file.name}: region table has ${count} entries, at most ${MAX_TABLE_ENTRIES} allowed`,
        at + 8,
      );
    const all: Region[] = [];
    for (let i = 0; i < count; i++) {
      const e = 16 + i * 32;
      all.push({
        guid: readGuid(b, e),
        fileOffset: u64(v, e + 16),
        length: v.getUint32(e + 24, true),
        required: (v.getUint32(e + 28, true) & 1) !== 0,
      });
    }
    const size = file.size();
    for (const [i, r] of all.entries()) {
      const known = r.guid === BAT_GUID || r.guid === METADATA_GUID;
      if (!known && r.required)
        throw new ImageError(
          "UNSUPPORTED_FEATURE",
          `${file.name}: required region ${r.guid} is of a kind this reader does not know (BAT and metadata only)`,
          at + 16 + i * 32,
        );
      if (
        r.fileOffset % MiB !== 0 ||
        r.length % MiB !== 0 ||
        r.fileOffset < MiB ||
        r.fileOffset + r.length > size
      )
        throw new ImageError(
          "CORRUPT",
          `${file.name}: region ${r.guid} at ${r.fileOffset}+${r.length}: expected 1 MiB-aligned, past the headers and inside the ${size}-byte file`,
          at + 16 + i * 32,
        );
    }
    const find = (g: string, name: string) => {
      const r = all.find((x) => x.guid === g);
      if (r === undefined)
        throw new ImageError("CORRUPT", `${file.name}: region table has no ${name} region (${g})`, at);
      return r;
    };
    return { bat: find(BAT_GUID, "BAT"), metadata: find(METADATA_GUID, "metadata"), all };
  }
  const crc = problems.some((p) => p.includes("CRC-32C"));
  throw new ImageError(
    crc ? "CHECKSUM_MISMATCH" : "CORRUPT",
    `${file.name}: no valid VHDX region table (${problems.join("; ")})`,
    REGION_TABLE_OFFSETS[0],
  );
}

export interface VhdxMetadata {
  blockSize: number;
  leaveBlockAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  page83: string | undefined;
}

/** Metadata item flags. */
const IS_VIRTUAL_DISK = 2;
const IS_REQUIRED = 4;

export interface MetadataItem {
  guid: string;
  data: Uint8Array;
  virtualDisk: boolean;
  required: boolean;
}

/** The metadata region: a 64 KiB table, then the items (at offsets ≥ 64 KiB). */
export function serializeMetadata(items: MetadataItem[], regionLength: number): Uint8Array {
  const b = new Uint8Array(regionLength);
  const v = new DataView(b.buffer);
  b.set(Uint8Array.from(ascii0("metadata")));
  v.setUint16(10, items.length, true);
  let next = 64 * KiB;
  items.forEach((it, i) => {
    const e = 32 + i * 32;
    writeGuid(b, e, it.guid);
    v.setUint32(e + 16, next, true);
    v.setUint32(e + 20, it.data.length, true);
    v.setUint32(e + 24, (it.virtualDisk ? IS_VIRTUAL_DISK : 0) | (it.required ? IS_REQUIRED : 0), true);
    b.set(it.data, next);
    next += Math.ceil(it.data.length / 8) * 8;
  });
  return b;
}

function ascii0(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

export function readMetadata(file: BlockFile, region: Region): VhdxMetadata {
  const table = readExactly(file, region.fileOffset, 64 * KiB, "VHDX metadata table");
  const tv = new DataView(table.buffer, table.byteOffset, table.length);
  if (ascii(table, 0, 8) !== "metadata")
    throw new ImageError(
      "CORRUPT",
      `${file.name}: metadata table signature "${ascii(table, 0, 8)}", expected "metadata"`,
      region.fileOffset,
    );
  const count = tv.getUint16(10, true);
  if (count > MAX_TABLE_ENTRIES)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: metadata table has ${count} entries, at most ${MAX_TABLE_ENTRIES} allowed`,
      region.fileOffset + 10,
    );
  const items = new Map<string, { data: Uint8Array; at: number }>();
  for (let i = 0; i < count; i++) {
    const e = 32 + i * 32;
    const guid = readGuid(table, e);
    const offset = tv.getUint32(e + 16, true);
    const length = tv.getUint32(e + 20, true);
    const flags = tv.getUint32(e + 24, true);
    const at = region.fileOffset + e;
    if (length > 0 && (offset < 64 * KiB || offset + length > region.length))
      throw new ImageError(
        "CORRUPT",
        `${file.name}: metadata item ${guid} at ${offset}+${length}: expected inside the ${region.length}-byte metadata region, past its 64 KiB table`,
        at,
      );
    const known = [
      FILE_PARAMETERS_GUID,
      VIRTUAL_DISK_SIZE_GUID,
      PAGE83_GUID,
      LOGICAL_SECTOR_GUID,
      PHYSICAL_SECTOR_GUID,
      PARENT_LOCATOR_GUID,
    ].includes(guid);
    if (!known && (flags & IS_REQUIRED) !== 0)
      throw new ImageError(
        "UNSUPPORTED_FEATURE",
        `${file.name}: required metadata item ${guid} is unknown to this reader`,
        at,
      );
    if (items.has(guid))
      throw new ImageError("CORRUPT", `${file.name}: metadata item ${guid} appears twice`, at);
    items.set(guid, {
      data: readExactly(file, region.fileOffset + offset, length, `VHDX metadata item ${guid}`),
      at,
    });
  }
  const item = (guid: string, name: string, length: number): DataView => {
    const it = items.get(guid);
    if (it === undefined)
      throw new ImageError(
        "CORRUPT",
        `${file.name}: metadata has no ${name} item (${guid})`,
        region.fileOffset,
      );
    if (it.data.length < length)
      throw new ImageError(
        "CORRUPT",
        `${file.name}: metadata item ${name} is ${it.data.length} bytes, expected ${length}`,
        it.at,
      );
    return new DataView(it.data.buffer, it.data.byteOffset, it.data.length);
  };
  const params = item(FILE_PARAMETERS_GUID, "file parameters", 8);
  const blockSize = params.getUint32(0, true);
  const bits = params.getUint32(4, true);
  const virtualSize = u64(item(VIRTUAL_DISK_SIZE_GUID, "virtual disk size", 8), 0);
  const logicalSectorSize = item(LOGICAL_SECTOR_GUID, "logical sector size", 4).getUint32(0, true);
  const physicalSectorSize = item(PHYSICAL_SECTOR_GUID, "physical sector size", 4).getUint32(0, true);
  const p83 = items.get(PAGE83_GUID);
  const where = (guid: string) => items.get(guid)?.at ?? region.fileOffset;
  if (!(blockSize >= MiB && blockSize <= 256 * MiB && (blockSize & (blockSize - 1)) === 0))
    throw new ImageError(
      "CORRUPT",
      `${file.name}: block size ${blockSize}: expected a power of two from 1 MiB to 256 MiB`,
      where(FILE_PARAMETERS_GUID),
    );
  for (const [name, s, g] of [
    ["logical", logicalSectorSize, LOGICAL_SECTOR_GUID],
    ["physical", physicalSectorSize, PHYSICAL_SECTOR_GUID],
  ] as const)
    if (s !== 512 && s !== 4096)
      throw new ImageError(
        "CORRUPT",
        `${file.name}: ${name} sector size ${s}: expected 512 or 4096`,
        where(g),
      );
  if (virtualSize === 0 || virtualSize > MAX_VIRTUAL_SIZE || virtualSize % logicalSectorSize !== 0)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: virtual disk size ${virtualSize}: expected a non-zero multiple of the ${logicalSectorSize}-byte sector, at most 64 TiB`,
      where(VIRTUAL_DISK_SIZE_GUID),
    );
  return {
    blockSize,
    leaveBlockAllocated: (bits & 1) !== 0,
    hasParent: (bits & 2) !== 0,
    virtualSize,
    logicalSectorSize,
    physicalSectorSize,
    page83: p83 !== undefined && p83.data.length >= 16 ? readGuid(p83.data, 0) : undefined,
  };
}

/** Payload blocks per sector bitmap block: 2^23 sectors' worth of bitmap over the block size. */
export function chunkRatio(blockSize: number, logicalSectorSize: number): number {
  return (2 ** 23 * logicalSectorSize) / blockSize;
}

/** BAT index of payload block `b` (a sector bitmap entry follows every `ratio` payload entries). */
export function batIndex(b: number, ratio: number): number {
  return b + Math.floor(b / ratio);
}

/** BAT entries a standalone file of `blocks` payload blocks needs. */
export function batEntries(blocks: number, ratio: number): number {
  return blocks === 0 ? 0 : batIndex(blocks - 1, ratio) + 1;
}

/** Payload block states (BAT entry bits 0-2). */
export const PAYLOAD_NOT_PRESENT = 0;
export const PAYLOAD_UNDEFINED = 1;
export const PAYLOAD_ZERO = 2;
export const PAYLOAD_UNMAPPED = 3;
export const PAYLOAD_FULLY_PRESENT = 6;
export const PAYLOAD_PARTIALLY_PRESENT = 7;
