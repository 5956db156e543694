import { FramedWriter, xxh64 } from "@amber/compress";
import {
  AUTOCLEAR_STANDALONE,
  COMPAT_ZERO_OMITTED,
  LAYER_HEADER_SIZE,
  LAYER_MAGIC,
  LAYER_VERSION,
  MAX_BACKING_NAME,
  RANGE_ENTRY_SIZE,
} from "./amber-layout.js";
import type { BlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";
import type { ImageFormat } from "./layer.js";
import { isFilledWith, type PageSource } from "./page-source.js";

export interface AmberWriteOptions {
  /** Codec of the blocks (an @amber/compress codec name). Default "zstd". */
  codec?: string;
  level?: number;
  /** Backing file the layer is a diff over (stored so the stack can be reopened). */
  backingName?: string;
  backingFormat?: ImageFormat;
  /** Leave out pages that read as the init pattern (only right for a standalone image). */
  omitInitPages?: boolean;
  /** Called after each page, for progress. */
  onProgress?: (done: number) => void;
}

const FORMAT_CODES: Record<ImageFormat, number> = { raw: 1, qcow2: 2, amber: 3, vhdx: 4, dmg: 5 };

/**
 * Writes a page source as an Amber layer: header, backing name, the pages as one
 * @amber/compress framed image, then the range table saying which pages those are. The
 * header is written last, so a file cut short never looks complete.
 */
export function writeAmberLayer(source: PageSource, out: BlockFile, options: AmberWriteOptions = {}): void {
  const name = new TextEncoder().encode(options.backingName ?? "");
  if (name.length > MAX_BACKING_NAME) {
    throw new ImageError(
      "INVALID_ARGUMENT",
      `backing name of ${name.length} bytes (max ${MAX_BACKING_NAME})`,
    );
  }
  const shift = Math.log2(source.pageSize);
  let pos = LAYER_HEADER_SIZE;
  out.write(0, new Uint8Array(LAYER_HEADER_SIZE));
  out.write(pos, name);
  pos += name.length;
  const dataOffset = pos;
  const writer = new FramedWriter({
    pageSize: source.pageSize,
    codec: options.codec ?? "zstd",
    level: options.level,
    onChunk: (chunk) => {
      out.write(pos, chunk);
      pos += chunk.length;
    },
  });
  const ranges: [number, number][] = [];
  let done = 0;
  for (const page of source.pages()) {
    const data = source.readPage(page);
    done++;
    options.onProgress?.(done);
    if (options.omitInitPages && isFilledWith(data, source.initByte)) continue;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last[0] + last[1] === page) last[1]++;
    else ranges.push([page, 1]);
    writer.addPage(data);
  }
  writer.finish();
  const dataLength = pos - dataOffset;
  const table = new Uint8Array(ranges.length * RANGE_ENTRY_SIZE);
  const tv = new DataView(table.buffer);
  ranges.forEach(([first, count], i) => {
    tv.setBigUint64(i * RANGE_ENTRY_SIZE, BigInt(first), true);
    tv.setUint32(i * RANGE_ENTRY_SIZE + 8, count, true);
  });
  const tableOffset = pos;
  out.write(tableOffset, table);

  const h = new Uint8Array(LAYER_HEADER_SIZE);
  const v = new DataView(h.buffer);
  h.set(LAYER_MAGIC, 0);
  v.setUint16(8, LAYER_VERSION, true);
  v.setUint16(10, LAYER_HEADER_SIZE, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, options.omitInitPages ? COMPAT_ZERO_OMITTED : 0, true);
  v.setUint32(20, options.backingName === undefined ? AUTOCLEAR_STANDALONE : 0, true);
  v.setBigUint64(24, BigInt(source.size), true);
  h[32] = shift;
  h[33] = source.initByte;
  h[34] = options.backingFormat === undefined ? 0 : FORMAT_CODES[options.backingFormat];
  v.setUint32(36, ranges.length, true);
  v.setBigUint64(40, BigInt(tableOffset), true);
  v.setBigUint64(48, BigInt(dataOffset), true);
  v.setBigUint64(56, BigInt(dataLength), true);
  v.setUint32(64, LAYER_HEADER_SIZE, true);
  v.setUint32(68, name.length, true);
  v.setBigUint64(72, xxh64(table), true);
  v.setBigUint64(88, xxh64(h.subarray(0, 88)), true);
  out.write(0, h);
}

export const AMBER_FORMAT_CODES = FORMAT_CODES;
