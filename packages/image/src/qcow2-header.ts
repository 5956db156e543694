import { type BlockFile, readExactly } from "./block-file.js";
import { ImageError } from "./errors.js";

/** Big-endian, as the qcow2 spec (QEMU docs/interop/qcow2.txt) says for every field. */
export const QCOW2_MAGIC = 0x514649fb;
export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_EXTERNAL_DATA = 0x44415441;

export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_EXTERNAL_DATA = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTENDED_L2 = 1n << 4n;
/** Incompatible bits this reader handles (external data and extended L2 are refused by name). */
export const HANDLED_INCOMPAT = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION;
export const V3_HEADER_LENGTH = 112;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** QEMU's own bounds: an L1 table of at most 32 MiB, a size of at most 2^55 (4 PiB... with 2 MiB clusters). */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
export const MAX_QCOW2_SIZE = 2 ** 55;

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompat: bigint;
  compat: bigint;
  autoclear: bigint;
  refcountOrder: number;
  headerLength: number;
  /** 0 = zlib (deflate), 1 = zstd. */
  compressionType: number;
  backingFile?: string;
  backingFormat?: string;
  /** Names from the feature-name table: "incompatible:3" → "compression type". */
  featureNames: Map<string, string>;
  /** Bytes the header, its extensions and the backing name occupy from offset 0. */
  headerBytes: number;
  /** Why the refcount table cannot be read, when it cannot (only `check` and writable syncs need it). */
  refcountProblem?: string;
}

export function isQcow2(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0) === QCOW2_MAGIC;
}

/** A u64 field; above 2^53 (no valid size or offset gets there) it cannot be an exact double: CORRUPT. */
const u64 = (v: DataView, at: number, file: BlockFile, field: string): number => {
  const hi = v.getUint32(at);
  const lo = v.getUint32(at + 4);
  if (hi >= 0x200000)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: ${field} 0x${hi.toString(16)}${lo.toString(16).padStart(8, "0")} is beyond 2^53`,
      at,
    );
  return hi * 2 ** 32 + lo;
};

function featureList(bits: bigint, cls: string, names: Map<string, string>): string {
  const out: string[] = [];
  for (let b = 0n; b < 64n; b++) {
    if ((bits >> b) & 1n) out.push(names.get(`${cls}:${b}`) ?? `bit ${b}`);
  }
  return out.join(", ");
}

/** Reads and validates a qcow2 header (v2 or v3) and its extensions. */
export function parseQcow2Header(file: BlockFile): Qcow2Header {
  const fileSize = file.size();
  if (fileSize < 72)
    throw new ImageError("TRUNCATED", `${file.name}: ${fileSize} bytes is too short for a qcow2 header`);
  const first = readExactly(file, 0, Math.min(fileSize, 4096), "qcow2 header").slice();
  const v = new DataView(first.buffer);
  if (v.getUint32(0) !== QCOW2_MAGIC) throw new ImageError("BAD_MAGIC", `${file.name}: not a qcow2 file`, 0);
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) {
    throw new ImageError(
      "UNSUPPORTED_VERSION",
      `${file.name}: qcow2 version ${version}; only 2 and 3 are supported`,
      4,
    );
  }
  const clusterBits = v.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new ImageError(
      "CORRUPT",
      `${file.name}: cluster_bits ${clusterBits}, expected ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`,
      20,
    );
  }
  const cs = 2 ** clusterBits;
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(v, 8, file, "backing_file_offset"),
    backingFileSize: v.getUint32(16),
    clusterBits,
    // Above 2^53 it is inexact, but then far above MAX_QCOW2_SIZE (LIMIT_EXCEEDED below).
    size: v.getUint32(24) * 2 ** 32 + v.getUint32(28),
    cryptMethod: v.getUint32(32),
    l1Size: v.getUint32(36),
    l1TableOffset: u64(v, 40, file, "l1_table_offset"),
    refcountTableOffset: u64(v, 48, file, "refcount_table_offset"),
    refcountTableClusters: v.getUint32(56),
    nbSnapshots: v.getUint32(60),
    snapshotsOffset: u64(v, 64, file, "snapshots_offset"),
    incompat: 0n,
    compat: 0n,
    autoclear: 0n,
    refcountOrder: 4,
    headerLength: 72,
    compressionType: 0,
    featureNames: new Map(),
    headerBytes: 72,
  };
  if (version === 3) {
    if (first.length < 104)
      throw new ImageError("TRUNCATED", `${file.name}: qcow2 v3 header needs 104 bytes`);
    h.incompat = v.getBigUint64(72);
    h.compat = v.getBigUint64(80);
    h.autoclear = v.getBigUint64(88);
    h.refcountOrder = v.getUint32(96);
    h.headerLength = v.getUint32(100);
    if (h.headerLength < 104 || h.headerLength > Math.min(cs, first.length)) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: header_length ${h.headerLength}, expected 104..${Math.min(cs, first.length)}`,
        100,
      );
    }
    if (h.headerLength > 104) h.compressionType = first[104];
  }
  if (h.size > MAX_QCOW2_SIZE)
    throw new ImageError("LIMIT_EXCEEDED", `${file.name}: virtual size ${h.size} is absurd (max 2^55)`, 24);
  if (h.refcountOrder > 6)
    throw new ImageError("CORRUPT", `${file.name}: refcount_order ${h.refcountOrder}, expected 0..6`, 96);

  // Header extensions: type, length, data padded to 8 bytes, up to the end marker.
  let at = h.headerLength;
  for (let n = 0; ; n++) {
    if (at + 8 > first.length || n > 64) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: header extensions run past the first ${first.length} bytes`,
        at,
      );
    }
    const type = v.getUint32(at);
    const length = v.getUint32(at + 4);
    if (type === EXT_END) {
      at += 8;
      break;
    }
    const dataAt = at + 8;
    if (dataAt + length > first.length)
      throw new ImageError(
        "CORRUPT",
        `${file.name}: header extension 0x${type.toString(16)} of ${length} bytes runs past the header area`,
        at,
      );
    const data = first.subarray(dataAt, dataAt + length);
    if (type === EXT_BACKING_FORMAT) h.backingFormat = new TextDecoder().decode(data);
    else if (type === EXT_FEATURE_NAMES) {
      for (let e = 0; e + 48 <= data.length; e += 48) {
        const cls = ["incompatible", "compatible", "autoclear"][data[e]] ?? `class${data[e]}`;
        const end = data.subarray(e + 2, e + 48).indexOf(0);
        h.featureNames.set(
          `${cls}:${data[e + 1]}`,
          new TextDecoder().decode(data.subarray(e + 2, e + 2 + (end < 0 ? 46 : end))),
        );
      }
    }
    at = dataAt + Math.ceil(length / 8) * 8;
  }
  h.headerBytes = at;

  const unknown = h.incompat & ~(HANDLED_INCOMPAT | INCOMPAT_EXTERNAL_DATA | INCOMPAT_EXTENDED_L2);
  if (unknown !== 0n) {
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: unknown incompatible qcow2 features (${featureList(unknown, "incompatible", h.featureNames)}); refusing to open`,
      72,
    );
  }
  if (h.incompat & INCOMPAT_EXTERNAL_DATA)
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: qcow2 external data files are not supported`,
      72,
    );
  if (h.incompat & INCOMPAT_EXTENDED_L2)
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: qcow2 extended L2 entries (subclusters) are not supported`,
      72,
    );
  if (h.compressionType > 1)
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: qcow2 compression type ${h.compressionType} (known: 0 zlib, 1 zstd)`,
      104,
    );
  if (h.compressionType !== 0 && !(h.incompat & INCOMPAT_COMPRESSION)) {
    throw new ImageError(
      "CORRUPT",
      `${file.name}: compression type ${h.compressionType} without the compression-type incompatible bit`,
      104,
    );
  }
  if (h.cryptMethod !== 0)
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      `${file.name}: encrypted qcow2 (crypt_method ${h.cryptMethod}) is not supported`,
      32,
    );

  if (h.backingFileOffset !== 0) {
    if (h.backingFileSize > 1023 || h.backingFileOffset + h.backingFileSize > Math.min(cs, first.length)) {
      throw new ImageError(
        "CORRUPT",
        `${file.name}: backing file name at ${h.backingFileOffset}+${h.backingFileSize} lies outside the header cluster`,
        8,
      );
    }
    h.backingFile = new TextDecoder().decode(
      first.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize),
    );
    h.headerBytes = Math.max(h.headerBytes, h.backingFileOffset + h.backingFileSize);
  }

  const l2Entries = cs / 8;
  const needL1 = Math.ceil(h.size / (cs * l2Entries));
  if (h.l1Size * 8 > MAX_L1_BYTES)
    throw new ImageError(
      "LIMIT_EXCEEDED",
      `${file.name}: L1 table of ${h.l1Size} entries (max ${MAX_L1_BYTES / 8})`,
      36,
    );
  if (h.l1Size < needL1)
    throw new ImageError(
      "CORRUPT",
      `${file.name}: L1 table of ${h.l1Size} entries cannot cover ${h.size} bytes (needs ${needL1})`,
      36,
    );
  if (
    h.l1Size > 0 &&
    (h.l1TableOffset % cs !== 0 || h.l1TableOffset === 0 || h.l1TableOffset + h.l1Size * 8 > fileSize)
  ) {
    throw new ImageError(
      "CORRUPT",
      `${file.name}: L1 table at ${h.l1TableOffset} (${h.l1Size} entries) is unaligned or lies outside the ${fileSize}-byte file`,
      40,
    );
  }
  if (h.refcountTableOffset % cs !== 0 || h.refcountTableOffset + h.refcountTableClusters * cs > fileSize) {
    // Only `check` and a writable sync read the refcounts; a reader does not need them.
    h.refcountProblem = `refcount table at ${h.refcountTableOffset} (${h.refcountTableClusters} clusters) is unaligned or lies outside the ${fileSize}-byte file`;
  }
  return h;
}

/** Serialises a version-3 header with a backing-format extension and the backing name. */
export function serializeQcow2Header(h: Qcow2Header): Uint8Array {
  const enc = new TextEncoder();
  const fmt = h.backingFormat === undefined ? undefined : enc.encode(h.backingFormat);
  const name = h.backingFile === undefined ? undefined : enc.encode(h.backingFile);
  if (name !== undefined && name.length > 1023)
    throw new ImageError("INVALID_ARGUMENT", `backing file name of ${name.length} bytes (max 1023)`);
  let length = V3_HEADER_LENGTH;
  if (fmt !== undefined) length += 8 + Math.ceil(fmt.length / 8) * 8;
  length += 8;
  const nameAt = length;
  if (name !== undefined) length += name.length;
  const out = new Uint8Array(length);
  const v = new DataView(out.buffer);
  const put64 = (at: number, n: number) => {
    v.setUint32(at, Math.floor(n / 2 ** 32));
    v.setUint32(at + 4, n >>> 0);
  };
  v.setUint32(0, QCOW2_MAGIC);
  v.setUint32(4, 3);
  put64(8, name === undefined ? 0 : nameAt);
  v.setUint32(16, name?.length ?? 0);
  v.setUint32(20, h.clusterBits);
  put64(24, h.size);
  v.setUint32(32, 0);
  v.setUint32(36, h.l1Size);
  put64(40, h.l1TableOffset);
  put64(48, h.refcountTableOffset);
  v.setUint32(56, h.refcountTableClusters);
  v.setUint32(60, 0);
  put64(64, 0);
  v.setBigUint64(72, h.incompat);
  v.setBigUint64(80, h.compat);
  v.setBigUint64(88, h.autoclear);
  v.setUint32(96, h.refcountOrder);
  v.setUint32(100, V3_HEADER_LENGTH);
  out[104] = h.compressionType;
  let at = V3_HEADER_LENGTH;
  if (fmt !== undefined) {
    v.setUint32(at, EXT_BACKING_FORMAT);
    v.setUint32(at + 4, fmt.length);
    out.set(fmt, at + 8);
    at += 8 + Math.ceil(fmt.length / 8) * 8;
  }
  at += 8; // end-of-extensions marker: eight zero bytes
  if (name !== undefined) out.set(name, at);
  return out;
}
