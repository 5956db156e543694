import type { BlockFile } from "@amber/image";
import { COMPAT_SQUASHED, KNOWN_AUTOCLEAR } from "./layout.js";
import type { CheckpointReader } from "./reader.js";
import { type WriteResult, writeCheckpoint } from "./writer.js";

export interface SquashOptions {
  /** Default: the tip's creator. */
  creator?: { name: string; version: string };
  createdAt?: Date | number;
  codec?: string;
  level?: number;
}

/**
 * Writes the state `tip` describes (its sections, and every page present anywhere in its
 * chain) as one full image with no parent. Pages that read as the init byte are dropped.
 */
export function squash(tip: CheckpointReader, file: BlockFile, options: SquashOptions = {}): WriteResult {
  const h = tip.header;
  return writeCheckpoint(file, {
    machine: h.machine,
    creator: options.creator ?? { name: h.creatorName, version: h.creatorVersion },
    createdAt: options.createdAt ?? h.createdAt,
    instructionCount: h.instructionCount,
    flags: h.flags,
    features: {
      compatible: h.compatibleFeatures | COMPAT_SQUASHED,
      autoclear: h.autoclearFeatures & KNOWN_AUTOCLEAR,
    },
    byteOrder: h.littleEndian ? "little" : "big",
    codec: options.codec,
    level: options.level,
    sections: tip.sectionEntries.map((e) => ({
      name: e.name,
      version: e.version,
      minVersion: e.minVersion,
      fields: tip.typedFields(e.name),
    })),
    segments: tip.segments.map((g) => ({
      name: g.name,
      base: g.base,
      size: g.size,
      pageSize: g.pageSize,
      initByte: g.initByte,
      pages: { pages: () => g.presentPages(), readPage: (p: number) => g.readPage(p) },
    })),
  });
}
