import type { CheckpointReader } from "./reader.js";
import type { CheckpointInput } from "./writer.js";

/**
 * The image `reader` holds, as input for `writeCheckpoint`: the same header fields,
 * sections (fields typed as stored) and segments. With `flatten`, the pages are every
 * page present anywhere in the parent chain and the result names no parent; without,
 * the parent is kept and only the image's own stored pages are written.
 */
export function inputOfReader(reader: CheckpointReader, flatten: boolean): CheckpointInput {
  const h = reader.header;
  const keepParent = !flatten && reader.parent !== undefined;
  return {
    machine: h.machine,
    creator: { name: h.creatorName, version: h.creatorVersion },
    createdAt: h.createdAt,
    instructionCount: h.instructionCount,
    flags: h.flags,
    features: { compatible: h.compatibleFeatures, autoclear: h.autoclearFeatures },
    byteOrder: h.littleEndian ? "little" : "big",
    parent: keepParent ? reader.parent : undefined,
    parentHint: keepParent ? h.parentHint : undefined,
    searchPath: h.searchPath,
    sections: reader.sectionEntries.map((e) => ({
      name: e.name,
      version: e.version,
      minVersion: e.minVersion,
      fields: reader.typedFields(e.name),
    })),
    segments: reader.segments.map((g) => ({
      name: g.name,
      base: g.base,
      size: g.size,
      pageSize: g.pageSize,
      initByte: g.initByte,
      pages: {
        pages: () => (keepParent ? g.storedPages() : g.presentPages()),
        readPage: (p: number) => g.readPage(p),
      },
    })),
  };
}
