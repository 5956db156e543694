import { DEFAULT_LIMITS, FramedReader, isCompressError, recodeFramed } from "@amber/compress";
import type { BlockFile } from "@amber/image";
import { CheckpointError } from "./errors.js";
import { Blake3, equalBytes, toHex } from "./hash.js";
import { headerLengthFor, KNOWN_AUTOCLEAR, SEGMENT_FLAG_CONTENT_HASH } from "./layout.js";
import { fromCompressError } from "./read-errors.js";
import type { CheckpointReader } from "./reader.js";
import { hostError, ImageAssembler } from "./writer.js";

export interface CompactOptions {
  /** Default "zstd". */
  codec?: string;
  /** Default the codec's own (zstd: 3). */
  level?: number;
}

export interface CompactResult {
  /** The image's digest: the same before and after. */
  digest: string;
  /** Bytes of the compacted image. */
  size: number;
}

/**
 * Writes `reader`'s image (one image: its parent stays where it is) into `file` with every
 * segment's page data recompressed by `codec` (default zstd), block for block: "save fast,
 * compress later". The content and so the digest stay the same; each block is checked
 * (XXH64) as it is read and each segment's content against its BLAKE3 as it is rewritten,
 * so a damaged image is refused, never copied. Segments of images written before the
 * CONTENT_HASH flag hash their stored bytes: recompressing them would change the digest,
 * so they are refused (UNSUPPORTED_FEATURE) unless already stored with the codec asked for.
 */
export function compactCheckpoint(
  reader: CheckpointReader,
  file: BlockFile,
  options: CompactOptions = {},
): CompactResult {
  try {
    return compactInner(reader, file, options);
  } catch (e) {
    throw hostError(e, file.name);
  }
}

function compactInner(reader: CheckpointReader, file: BlockFile, options: CompactOptions): CompactResult {
  const h = reader.header;
  const asm = new ImageAssembler(file, h.littleEndian, headerLengthFor(h));
  for (const e of reader.sectionEntries)
    asm.addSection(e.name, e.version, e.minVersion, reader.sectionBytes(e.name));
  for (const g of reader.segments) {
    const e = g.entry;
    const { source, file: where, offset } = reader.store.segmentData(e);
    const meta = { base: e.base, size: e.size, pageShift: e.pageShift, initByte: e.initByte, flags: e.flags };
    const sink = asm.beginSegment(e.name);
    if ((e.flags & SEGMENT_FLAG_CONTENT_HASH) === 0) {
      throw new CheckpointError(
        "UNSUPPORTED_FEATURE",
        `segment "${e.name}" was written before content hashes: its hash covers the compressed bytes, so recompressing it would change the image's digest (squash the image instead)`,
        reader.name,
      );
    }
    const content = new Blake3();
    try {
      const framed = FramedReader.open(source, { limits: DEFAULT_LIMITS });
      recodeFramed(framed, {
        codec: options.codec ?? "zstd",
        level: options.level,
        onChunk: (c) => sink.write(c),
        onBlock: (raw) => content.update(raw),
      });
    } catch (x) {
      if (isCompressError(x)) throw fromCompressError(x, where, offset, `page data of segment "${e.name}"`);
      throw x;
    }
    if (!equalBytes(content.digest(), e.dataHash)) {
      throw new CheckpointError(
        "CHECKSUM_MISMATCH",
        `page data of segment "${e.name}" does not match its hash`,
        where,
        offset,
        `BLAKE3 ${toHex(e.dataHash)}`,
      );
    }
    sink.end(meta, g.storedRanges(), e.dataHash);
  }
  const { digest, size } = asm.finish({ ...h, autoclearFeatures: h.autoclearFeatures & KNOWN_AUTOCLEAR });
  file.sync?.();
  const hex = toHex(digest);
  if (hex !== reader.digest) {
    throw new CheckpointError(
      "CHECKSUM_MISMATCH",
      `compacted image has digest ${hex}`,
      file.name,
      undefined,
      `digest ${reader.digest}`,
    );
  }
  return { digest: hex, size };
}
