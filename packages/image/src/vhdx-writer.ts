import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";
import { isFilledWith, type PageSource } from "./page-source.js";
import {
  BAT_GUID,
  batEntries,
  batIndex,
  chunkRatio,
  FILE_PARAMETERS_GUID,
  HEADER_OFFSETS,
  KiB,
  LOGICAL_SECTOR_GUID,
  METADATA_GUID,
  MiB,
  PAGE83_GUID,
  PAYLOAD_FULLY_PRESENT,
  PHYSICAL_SECTOR_GUID,
  REGION_TABLE_OFFSETS,
  randomGuid,
  serializeHeader,
  serializeMetadata,
  serializeRegionTable,
  VIRTUAL_DISK_SIZE_GUID,
  writeGuid,
  ZERO_GUID,
} from "./vhdx-format.js";

export type VhdxSubformat = "dynamic" | "fixed";

export interface VhdxWriteOptions {
  /** "dynamic" (default): blocks holding only zeros are left out; "fixed": every block is in the file. */
  subformat?: VhdxSubformat;
  /** Payload block size, a power of two 1..256 MiB. Default as qemu-img: 8 MiB up to 1 GiB, 16 MiB up to 100 GiB, 32 MiB up to 32 TiB, then 64 MiB. */
  blockSize?: number;
  onProgress?: (bytesDone: number) => void;
}

const GiB = 1024 * MiB;

/** qemu-img's default block size for a disk of `size` bytes. */
export function defaultVhdxBlockSize(size: number): number {
  if (size > 32 * 1024 * GiB) return 64 * MiB;
  if (size > 100 * GiB) return 32 * MiB;
  if (size > GiB) return 16 * MiB;
  return 8 * MiB;
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

/**
 * Writes a page source as a new VHDX file, laid out as qemu-img lays it out: file type
 * identifier, two headers, two region tables, a 1 MiB log (empty: LogGuid zero) at 1 MiB,
 * the BAT at 2 MiB, the metadata region after it, then 1 MiB-aligned payload blocks in
 * disk order. Pages are streamed (memory: one page); zero pages are not written (the file
 * is sized by truncate, so it stays sparse where the host allows). The virtual size is the
 * source's size rounded up to a 512-byte sector.
 */
export function writeVhdx(source: PageSource, out: BlockFile, options: VhdxWriteOptions = {}): void {
  const size = Math.ceil(source.size / 512) * 512;
  if (size === 0) throw new ImageError("INVALID_ARGUMENT", "a VHDX disk cannot be empty");
  const bs = options.blockSize ?? defaultVhdxBlockSize(size);
  if (!(bs >= MiB && bs <= 256 * MiB && (bs & (bs - 1)) === 0))
    throw new ImageError("INVALID_ARGUMENT", `VHDX block size ${bs}: a power of two, 1 MiB .. 256 MiB`);
  const fixed = (options.subformat ?? "dynamic") === "fixed";
  const sector = 512;
  const ratio = chunkRatio(bs, sector);
  const blocks = Math.ceil(size / bs);
  const entries = batEntries(blocks, ratio);
  const logOffset = MiB;
  const logLength = MiB;
  const batOffset = 2 * MiB;
  const batLength = Math.max(MiB, Math.ceil((entries * 8) / MiB) * MiB);
  const metaOffset = batOffset + batLength;
  const metaLength = MiB;
  const dataStart = metaOffset + metaLength;

  const bat = new Uint8Array(entries * 8);
  const bv = new DataView(bat.buffer);
  let next = dataStart;
  const blockAt = new Float64Array(blocks).fill(-1);
  const place = (b: number): number => {
    if (blockAt[b] === -1) {
      blockAt[b] = next;
      const mib = next / MiB;
      const at = batIndex(b, ratio) * 8;
      bv.setUint32(at, (PAYLOAD_FULLY_PRESENT | ((mib % 4096) << 20)) >>> 0, true);
      bv.setUint32(at + 4, Math.floor(mib / 4096), true);
      next += bs;
    }
    return blockAt[b] as number;
  };
  if (fixed) for (let b = 0; b < blocks; b++) place(b);

  const ps = source.pageSize;
  for (const page of source.pages()) {
    const pos = page * ps;
    const data = source.readPage(page).subarray(0, Math.min(ps, source.size - pos));
    if (!isFilledWith(data, 0)) {
      const b = Math.floor(pos / bs);
      out.write(place(b) + (pos - b * bs), data);
    }
    options.onProgress?.(pos + data.length);
  }

  const ident = new Uint8Array(64 * KiB);
  ident.set(Array.from("vhdxfile", (c) => c.charCodeAt(0)));
  Array.from("Amber", (c) => c.charCodeAt(0)).forEach((c, i) => {
    ident[8 + i * 2] = c;
  });
  out.write(0, ident);
  out.write(batOffset, bat);
  const params = new Uint8Array(8);
  new DataView(params.buffer).setUint32(0, bs, true);
  const vsize = new Uint8Array(8);
  new DataView(vsize.buffer).setBigUint64(0, BigInt(size), true);
  const page83 = new Uint8Array(16);
  writeGuid(page83, 0, randomGuid());
  out.write(
    metaOffset,
    serializeMetadata(
      [
        { guid: FILE_PARAMETERS_GUID, data: params, virtualDisk: false, required: true },
        { guid: VIRTUAL_DISK_SIZE_GUID, data: vsize, virtualDisk: true, required: true },
        { guid: PAGE83_GUID, data: page83, virtualDisk: true, required: true },
        { guid: LOGICAL_SECTOR_GUID, data: u32(sector), virtualDisk: true, required: true },
        { guid: PHYSICAL_SECTOR_GUID, data: u32(4096), virtualDisk: true, required: true },
      ],
      metaLength,
    ),
  );
  const regions = serializeRegionTable([
    { guid: BAT_GUID, fileOffset: batOffset, length: batLength, required: true },
    { guid: METADATA_GUID, fileOffset: metaOffset, length: metaLength, required: true },
  ]);
  for (const at of REGION_TABLE_OFFSETS) out.write(at, regions);
  // Headers last: until they are written the file is not a VHDX (a crash leaves no half file).
  const fileWriteGuid = randomGuid();
  const dataWriteGuid = randomGuid();
  for (const [slot, at] of HEADER_OFFSETS.entries())
    out.write(
      at,
      serializeHeader({
        slot,
        sequenceNumber: BigInt(slot),
        fileWriteGuid,
        dataWriteGuid,
        logGuid: ZERO_GUID,
        logVersion: 0,
        version: 1,
        logLength,
        logOffset,
      }),
    );
  const end = Math.max(next, dataStart);
  if (out.truncate !== undefined) out.truncate(end);
  else if (out.size() < end) out.write(end - 1, new Uint8Array(1));
}
