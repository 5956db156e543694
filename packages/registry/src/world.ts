import { OCI_MANIFEST } from "./client.js";
import { RegistryError } from "./errors.js";
import { isDigest, sha256Digest } from "./sha256.js";

/** The manifest's `artifactType`: an Amber world (a checkpoint image in chunks). */
export const WORLD_ARTIFACT_TYPE = "application/vnd.amber.world.v1";
/** The config blob: image facts, sections, page maps, chunking, parent link (JSON). */
export const WORLD_CONFIG_TYPE = "application/vnd.amber.world.config.v1+json";
/** One layer: `chunkSize` bytes of the single-file image (the last one may be shorter). */
export const WORLD_CHUNK_TYPE = "application/vnd.amber.world.chunk.v1";
/** Annotation on a child's manifest: the parent world's manifest digest. */
export const PARENT_ANNOTATION = "org.amber.world.parent";
/** Annotation: the image digest (BLAKE3, the checkpoint's own name for the image). */
export const IMAGE_DIGEST_ANNOTATION = "org.amber.world.digest";
/** The chunk size Amber writes (see the package README for the measurement). */
export const DEFAULT_CHUNK_SIZE = 512 << 10;
/** Chunk sizes a reader accepts. */
export const MIN_CHUNK_SIZE = 4 << 10;
export const MAX_CHUNK_SIZE = 64 << 20;
/** A world larger than this is refused before anything is allocated from its numbers. */
export const MAX_IMAGE_SIZE = 2 ** 40;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface WorldConfig {
  format: "amber-world-v1";
  /** The checkpoint's facts (what `amber inspect` shows first). */
  image: {
    digest: string;
    size: number;
    machine: string;
    instructionCount: string;
    createdAt: number;
    creator: string;
  };
  chunkSize: number;
  /** The parent world: its manifest digest and its image digest; null for a full image. */
  parent: { manifest: string; image: string } | null;
  sections: { name: string; version: number; length: number }[];
  segments: { name: string; pageSize: number; storedPages: number; pages: [number, number][] }[];
}

/** A world as a manifest says it: config and chunks in image order. */
export interface WorldManifest {
  digest: string;
  config: Descriptor;
  chunks: Descriptor[];
  parentManifest: string | undefined;
  imageDigest: string | undefined;
}

/** Splits an image into `chunkSize` pieces named by their SHA-256. */
export function chunkImage(
  bytes: Uint8Array,
  chunkSize = DEFAULT_CHUNK_SIZE,
): { descriptor: Descriptor; offset: number }[] {
  const out: { descriptor: Descriptor; offset: number }[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + chunkSize));
    out.push({
      descriptor: { mediaType: WORLD_CHUNK_TYPE, digest: sha256Digest(piece), size: piece.length },
      offset: at,
    });
  }
  return out;
}

/** The manifest's bytes: deterministic, so the same world always has the same manifest digest. */
export function encodeWorldManifest(
  config: Descriptor,
  chunks: Descriptor[],
  imageDigest: string,
  parentManifest?: string,
): Uint8Array {
  const annotations: Record<string, string> = { [IMAGE_DIGEST_ANNOTATION]: imageDigest };
  if (parentManifest) annotations[PARENT_ANNOTATION] = parentManifest;
  const m = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: WORLD_ARTIFACT_TYPE,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: chunks.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size })),
    annotations,
  };
  return new TextEncoder().encode(JSON.stringify(m));
}

export function encodeWorldConfig(config: WorldConfig): { bytes: Uint8Array; descriptor: Descriptor } {
  const bytes = new TextEncoder().encode(JSON.stringify(config));
  return {
    bytes,
    descriptor: { mediaType: WORLD_CONFIG_TYPE, digest: sha256Digest(bytes), size: bytes.length },
  };
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new RegistryError("BAD_MANIFEST", `${what}: not JSON (${(e as Error).message})`);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j))
    throw new RegistryError("BAD_MANIFEST", `${what}: not a JSON object`);
  return j as Record<string, unknown>;
}

function descriptor(d: unknown, what: string, mediaType: string, max: number): Descriptor {
  const o = d as Record<string, unknown> | null;
  if (typeof o !== "object" || o === null)
    throw new RegistryError("BAD_MANIFEST", `${what}: not a descriptor`);
  if (o.mediaType !== mediaType)
    throw new RegistryError(
      "BAD_MANIFEST",
      `${what}: media type ${JSON.stringify(o.mediaType)} (expected ${mediaType})`,
    );
  if (!isDigest(o.digest))
    throw new RegistryError(
      "BAD_MANIFEST",
      `${what}: digest ${JSON.stringify(o.digest)} is not sha256:<64 hex>`,
    );
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0 || o.size > max)
    throw new RegistryError("BAD_MANIFEST", `${what}: size ${JSON.stringify(o.size)} (expected 0..${max})`);
  return { mediaType, digest: o.digest, size: o.size };
}

/** Reads and checks a world's manifest (`what` names it in errors: REF and digest). */
export function parseWorldManifest(bytes: Uint8Array, digest: string, what: string): WorldManifest {
  const m = parseJson(bytes, what);
  if (m.schemaVersion !== 2 || (m.mediaType !== undefined && m.mediaType !== OCI_MANIFEST))
    throw new RegistryError(
      "BAD_MANIFEST",
      `${what}: not an OCI image manifest (schemaVersion 2, ${OCI_MANIFEST})`,
    );
  if (m.artifactType !== WORLD_ARTIFACT_TYPE)
    throw new RegistryError(
      "BAD_MANIFEST",
      `${what}: artifactType ${JSON.stringify(m.artifactType ?? null)} is not an Amber world (${WORLD_ARTIFACT_TYPE})`,
    );
  const config = descriptor(m.config, `${what}: config`, WORLD_CONFIG_TYPE, 64 << 20);
  if (!Array.isArray(m.layers) || m.layers.length === 0 || m.layers.length > MAX_IMAGE_SIZE / MIN_CHUNK_SIZE)
    throw new RegistryError("BAD_MANIFEST", `${what}: layers must list the world's chunks`);
  const chunks = m.layers.map((l, i) =>
    descriptor(l, `${what}: layer ${i}`, WORLD_CHUNK_TYPE, MAX_CHUNK_SIZE),
  );
  const ann = (m.annotations ?? {}) as Record<string, unknown>;
  const parent = ann[PARENT_ANNOTATION];
  if (parent !== undefined && !isDigest(parent))
    throw new RegistryError(
      "BAD_MANIFEST",
      `${what}: annotation ${PARENT_ANNOTATION} is not a sha256 digest`,
    );
  const image = ann[IMAGE_DIGEST_ANNOTATION];
  return {
    digest,
    config,
    chunks,
    parentManifest: parent as string | undefined,
    imageDigest: typeof image === "string" ? image : undefined,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Reads and checks a world's config against its manifest. */
export function parseWorldConfig(bytes: Uint8Array, manifest: WorldManifest, what: string): WorldConfig {
  const c = parseJson(bytes, `${what}: config`) as unknown as WorldConfig;
  const bad = (why: string): never => {
    throw new RegistryError("BAD_MANIFEST", `${what}: config ${why}`);
  };
  if (c.format !== "amber-world-v1") bad(`format ${JSON.stringify(c.format)} (expected "amber-world-v1")`);
  const img = c.image;
  if (typeof img !== "object" || img === null) bad("has no image");
  if (typeof img.digest !== "string" || !HEX64.test(img.digest)) bad("image digest is not 64 hex digits");
  if (!Number.isSafeInteger(img.size) || img.size < 1 || img.size > MAX_IMAGE_SIZE)
    bad(`image size ${img.size}`);
  if (!Number.isSafeInteger(c.chunkSize) || c.chunkSize < MIN_CHUNK_SIZE || c.chunkSize > MAX_CHUNK_SIZE)
    bad(`chunk size ${c.chunkSize} (expected ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE})`);
  const n = Math.ceil(img.size / c.chunkSize);
  if (manifest.chunks.length !== n)
    bad(`says ${n} chunks of ${c.chunkSize} bytes; the manifest lists ${manifest.chunks.length}`);
  manifest.chunks.forEach((d, i) => {
    const want = i === n - 1 ? img.size - i * c.chunkSize : c.chunkSize;
    if (d.size !== want) bad(`chunk ${i} (${d.digest}) has ${d.size} bytes, expected ${want}`);
  });
  if (manifest.imageDigest !== undefined && manifest.imageDigest !== img.digest)
    bad(`image digest ${img.digest} differs from the manifest's ${manifest.imageDigest}`);
  if (c.parent !== null) {
    if (typeof c.parent !== "object" || !isDigest(c.parent.manifest) || !HEX64.test(String(c.parent.image)))
      bad("parent is not {manifest: sha256 digest, image: 64 hex}");
    if (c.parent.manifest !== manifest.parentManifest) bad("parent differs from the manifest's annotation");
  } else if (manifest.parentManifest !== undefined) bad("has no parent but the manifest names one");
  return c;
}
