/**
 * The payload of a bundle (`amber bundle`): one byte string holding a manifest and named
 * parts (the runtime's code, the world's image, its disks). Layout, little-endian:
 *
 *   0   "AMBERBUN"                 magic, 8 bytes
 *   8   u32 version                1
 *   12  u32 manifest length M
 *   16  manifest, M bytes of UTF-8 JSON (`BundleManifest`)
 *   16+M parts, back to back; each manifest part names its offset (from 16+M) and length
 *
 * The loader checks the SHA-256 of the whole payload before it reads anything in it, so
 * parsing here only guards against a payload made by something else. No Node API: the
 * loader runs in browsers too.
 */

export const BUNDLE_MAGIC = "AMBERBUN";
export const BUNDLE_VERSION = 1;
const HEADER = 16;

/** One named byte range of the payload. */
export interface BundlePart {
  name: string;
  offset: number;
  length: number;
}

/** A disk the world holds: its base, stored as a standalone Amber image in part `part`. */
export interface BundleDisk {
  slot: number;
  part: string;
  /** Where the base came from when bundled (shown in messages only). */
  source: string;
}

/** What a bundle holds (version 1). */
export interface BundleManifest {
  /** Who made it, e.g. "amber 0.1.0". */
  creator: string;
  /** The world's name (its file name when bundled). */
  name: string;
  /** The world image's digest (BLAKE3-256, as `amber inspect` shows): checked at start. */
  digest: string;
  /** Guest instructions executed when the world was saved. */
  instructions: string;
  /** Where arguments after the bundle's name go: typed into the console as one line. */
  args: "console";
  parts: BundlePart[];
  disks: BundleDisk[];
}

/** Why a payload cannot be read. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/** Builds a payload from a manifest (whose `parts` are filled in here) and the parts' bytes. */
export function packBundle(
  manifest: Omit<BundleManifest, "parts">,
  parts: readonly { name: string; bytes: Uint8Array }[],
): Uint8Array {
  let offset = 0;
  const entries: BundlePart[] = parts.map((p) => {
    const e = { name: p.name, offset, length: p.bytes.length };
    offset += p.bytes.length;
    return e;
  });
  const json = new TextEncoder().encode(JSON.stringify({ ...manifest, parts: entries }));
  const out = new Uint8Array(HEADER + json.length + offset);
  out.set(new TextEncoder().encode(BUNDLE_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, BUNDLE_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, HEADER);
  for (const [i, p] of parts.entries()) out.set(p.bytes, HEADER + json.length + entries[i]!.offset);
  return out;
}

/** A payload opened: its manifest and a way to get each part (a view, no copy). */
export interface OpenedBundle {
  manifest: BundleManifest;
  part(name: string): Uint8Array;
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/** Reads a payload's header and manifest, checking every number against the payload's size. */
export function openBundle(payload: Uint8Array): OpenedBundle {
  if (payload.length < HEADER || new TextDecoder().decode(payload.subarray(0, 8)) !== BUNDLE_MAGIC) {
    throw new BundleError(`offset 0: expected the magic "${BUNDLE_MAGIC}"`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const version = view.getUint32(8, true);
  if (version !== BUNDLE_VERSION) {
    throw new BundleError(`offset 8: payload version ${version}, this runtime reads ${BUNDLE_VERSION}`);
  }
  const m = view.getUint32(12, true);
  if (HEADER + m > payload.length) {
    throw new BundleError(`offset 12: manifest of ${m} bytes, past the payload's ${payload.length}`);
  }
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(payload.subarray(HEADER, HEADER + m))) as BundleManifest;
  } catch (e) {
    throw new BundleError(`offset ${HEADER}: the manifest is not JSON (${(e as Error).message})`);
  }
  const dataStart = HEADER + m;
  const dataLength = payload.length - dataStart;
  if (
    !Array.isArray(manifest.parts) ||
    !Array.isArray(manifest.disks) ||
    typeof manifest.digest !== "string"
  ) {
    throw new BundleError(`offset ${HEADER}: the manifest lacks parts, disks or digest`);
  }
  for (const p of manifest.parts) {
    if (
      typeof p.name !== "string" ||
      !isCount(p.offset) ||
      !isCount(p.length) ||
      p.offset + p.length > dataLength
    ) {
      throw new BundleError(`offset ${HEADER}: part ${JSON.stringify(p.name)} lies outside the payload`);
    }
  }
  return {
    manifest,
    part(name) {
      const p = manifest.parts.find((e) => e.name === name);
      if (p === undefined) throw new BundleError(`the manifest names no part "${name}"`);
      return payload.subarray(dataStart + p.offset, dataStart + p.offset + p.length);
    },
  };
}
