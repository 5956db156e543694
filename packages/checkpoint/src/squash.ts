import type { BlockFile } from "@amber/image";
import { inputOfReader } from "./input-of-reader.js";
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
  const input = inputOfReader(tip, true);
  const h = tip.header;
  return writeCheckpoint(file, {
    ...input,
    creator: options.creator ?? input.creator,
    createdAt: options.createdAt ?? input.createdAt,
    features: {
      compatible: h.compatibleFeatures | COMPAT_SQUASHED,
      autoclear: h.autoclearFeatures & KNOWN_AUTOCLEAR,
    },
    codec: options.codec,
    level: options.level,
  });
}
