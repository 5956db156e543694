import type { BlockFile } from "@amber/image";
import { toHex } from "./hash.js";
import { err } from "./read-errors.js";
import type { CheckpointReader } from "./reader.js";
import type { DirectorySource, OpenOptions } from "./reader-types.js";

// An incremental image's parent chain: finding, opening and checking each parent.

/**
 * Opens (or takes, when given open) the parent an incremental image names, found by
 * `options.resolveParent` from its digest and hint, and checks it: the digest it names, no
 * cycle, at most `limits.maxChainDepth` images deep. `openFile` opens a single-file image
 * (CheckpointReader.open, passed in to keep this file free of an import cycle).
 */
export function openParent(
  child: CheckpointReader,
  options: OpenOptions,
  openFile: (file: BlockFile, options: OpenOptions) => CheckpointReader,
): CheckpointReader {
  const digest = toHex(child.header.parentDigest);
  const chain = [...(options.chain ?? []), child.name];
  if (chain.length > child.limits.maxChainDepth) {
    err(
      "PARENT_CYCLE",
      `parent chain deeper than ${child.limits.maxChainDepth} images`,
      child.name,
      128,
      `≤ ${child.limits.maxChainDepth} images`,
    );
  }
  let parent: CheckpointReader | undefined = options.parent;
  if (parent === undefined) {
    const loc = options.resolveParent?.({ digest, hint: child.header.parentHint, child: child.name });
    if (loc === undefined) {
      err(
        "PARENT_MISSING",
        `parent ${digest} not found${child.header.parentHint ? ` (hint: "${child.header.parentHint}")` : ""}`,
        child.name,
        128,
        "a resolvable parent",
      );
    }
    const locName = "reader" in loc ? loc.reader.name : "file" in loc ? loc.file.name : loc.directory.name;
    if (chain.includes(locName)) {
      err(
        "PARENT_CYCLE",
        `parent "${locName}" is already in the chain ${chain.join(" → ")}`,
        child.name,
        128,
        "a chain without repeats",
      );
    }
    const next: OpenOptions = { ...options, parent: undefined, chain };
    if ("reader" in loc) parent = loc.reader;
    else if ("file" in loc) parent = openFile(loc.file, next);
    else parent = openDirectoryImpl!(loc.directory, next);
  }
  if (parent.digest !== digest) {
    err(
      "PARENT_MISMATCH",
      `parent "${parent.name}" has digest ${parent.digest}`,
      child.name,
      128,
      `digest ${digest}`,
    );
  }
  return parent;
}

/** Set by directory.ts (avoids an import cycle). */
export let openDirectoryImpl: ((dir: DirectorySource, options: OpenOptions) => CheckpointReader) | undefined;
export function setOpenDirectory(fn: (dir: DirectorySource, options: OpenOptions) => CheckpointReader): void {
  openDirectoryImpl = fn;
}

/** A segment of an incremental image and the parent's of the same name have one page size. */
export function checkParentSegments(child: CheckpointReader, parent: CheckpointReader): void {
  for (const g of child.segments) {
    const p = parent.findSegment(g.name);
    if (p && p.pageSize !== g.pageSize) {
      err(
        "CORRUPT",
        `segment "${g.name}" has ${g.pageSize}-byte pages, its parent ${p.pageSize}`,
        child.name,
        undefined,
        "the parent's page size",
      );
    }
  }
}
