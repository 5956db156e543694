import {
  type CheckpointReader,
  type OpenOptions,
  CheckpointReader as Reader,
  writeSingleFile,
} from "@amber/checkpoint";
import { MemoryBlockFile } from "@amber/image";
import type { BlobCache } from "./blob-cache.js";
import { ChunkedFile } from "./chunked-file.js";
import type { RegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";
import { type Op, runAsync } from "./http.js";
import { refReference } from "./ref.js";
import {
  chunkImage,
  DEFAULT_CHUNK_SIZE,
  type Descriptor,
  encodeWorldConfig,
  encodeWorldManifest,
  parseWorldConfig,
  parseWorldManifest,
  type WorldConfig,
  type WorldManifest,
} from "./world.js";

/** A world as stored: its manifest, its config. */
export interface RemoteWorld {
  manifest: WorldManifest;
  config: WorldConfig;
}

/** Reads a world's manifest (by tag or digest) and its config, both checked. */
export function* resolveWorld(client: RegistryClient, reference: string, cache?: BlobCache): Op<RemoteWorld> {
  const { bytes, digest } = yield* client.getManifest(reference);
  const what = `${client.ref.text}${reference === digest ? "" : ` (${reference})`} manifest ${digest}`;
  const manifest = parseWorldManifest(bytes, digest, what);
  const c = manifest.config;
  let configBytes = cache?.get(c.digest);
  if (configBytes === undefined) {
    configBytes = yield* client.getBlob(c.digest, c.size, `config of ${what}`);
    cache?.put(c.digest, configBytes);
  }
  return { manifest, config: parseWorldConfig(configBytes, manifest, what) };
}

/** A world and its parents, newest first. */
export function* resolveChain(
  client: RegistryClient,
  reference: string,
  cache?: BlobCache,
  maxDepth = 64,
): Op<RemoteWorld[]> {
  const chain: RemoteWorld[] = [];
  for (let r: string | undefined = reference; r !== undefined; ) {
    if (chain.length >= maxDepth)
      throw new RegistryError(
        "BAD_MANIFEST",
        `${client.ref.text}: parent chain deeper than ${maxDepth} worlds`,
      );
    const w: RemoteWorld = yield* resolveWorld(client, r, cache);
    if (chain.some((x) => x.manifest.digest === w.manifest.digest))
      throw new RegistryError(
        "BAD_MANIFEST",
        `${client.ref.text}: parent chain returns to ${w.manifest.digest}`,
      );
    chain.push(w);
    r = w.manifest.parentManifest;
  }
  return chain;
}

function chunkContext(
  client: RegistryClient,
  world: RemoteWorld,
  i: number,
  offset: number,
  size: number,
): string {
  return `chunk ${i} of ${world.manifest.digest} in ${client.ref.repository}, image bytes ${offset}..${offset + size - 1}`;
}

/** Loads one chunk: the cache, else the registry (checked), then into the cache. */
function* loadChunk(
  client: RegistryClient,
  world: RemoteWorld,
  i: number,
  d: Descriptor,
  offset: number,
  cache?: BlobCache,
): Op<Uint8Array> {
  const hit = cache?.get(d.digest);
  if (hit !== undefined) return hit;
  const bytes = yield* client.getBlob(d.digest, d.size, chunkContext(client, world, i, offset, d.size));
  cache?.put(d.digest, bytes);
  return bytes;
}

export interface LazyOpenOptions extends OpenOptions {
  cache?: BlobCache;
  /** Chunks each world keeps in memory (default 32). */
  keepChunks?: number;
}

/**
 * Opens a world in a registry for lazy reading: the checkpoint reader reads it through a
 * `ChunkedFile`, so only the header, tables and the pages touched are fetched. `run` performs
 * an operation synchronously (Node: `SyncRegistry.run` from `@amber/registry/node`).
 */
export function openRemoteCheckpoint(
  client: RegistryClient,
  run: <T>(op: Op<T>) => T,
  options: LazyOpenOptions = {},
): { reader: CheckpointReader; files: ChunkedFile[]; chain: RemoteWorld[] } {
  const { cache, keepChunks, ...open } = options;
  const chain = run(resolveChain(client, refReference(client.ref), cache));
  const files = chain.map((w, depth) => {
    const name =
      depth === 0 ? client.ref.text : `${client.ref.host}/${client.ref.repository}@${w.manifest.digest}`;
    return new ChunkedFile(
      name,
      w.manifest.chunks,
      w.config.chunkSize,
      (i, d, offset) => run(loadChunk(client, w, i, d, offset, cache)),
      keepChunks,
    );
  });
  // Parents first, each opened with the one below it; the checkpoint reader checks every link's digest.
  let reader: CheckpointReader | undefined;
  for (let i = chain.length - 1; i >= 0; i--) reader = Reader.open(files[i]!, { ...open, parent: reader });
  return { reader: reader!, files, chain };
}

/** The single-file bytes of one image (whatever layout it was read from). */
export function singleFileBytes(reader: CheckpointReader): Uint8Array {
  const mem = new MemoryBlockFile(new Uint8Array(0), reader.name);
  writeSingleFile(reader, mem);
  return mem.read(0, mem.size());
}

/** A world ready to push: its chunks, config and manifest. */
export interface WorldPlan {
  bytes: Uint8Array;
  chunks: { descriptor: Descriptor; offset: number }[];
  config: { bytes: Uint8Array; descriptor: Descriptor };
  manifest: Uint8Array;
  manifestDigest: string;
}

/** Lays out one image (its parent already planned) as chunks, config and manifest. */
export function planWorld(
  image: CheckpointReader,
  bytes: Uint8Array,
  parent: WorldPlan | undefined,
  chunkSize = DEFAULT_CHUNK_SIZE,
  sha256: (b: Uint8Array) => string,
): WorldPlan {
  const chunks = chunkImage(bytes, chunkSize);
  const h = image.header;
  const config: WorldConfig = {
    format: "amber-world-v1",
    image: {
      digest: image.digest,
      size: bytes.length,
      machine: h.machine,
      instructionCount: h.instructionCount.toString(),
      createdAt: h.createdAt,
      creator: `${h.creatorName} ${h.creatorVersion}`,
    },
    chunkSize,
    parent: parent ? { manifest: parent.manifestDigest, image: image.parentDigest! } : null,
    sections: image.sectionEntries.map((s) => ({ name: s.name, version: s.version, length: s.length })),
    segments: image.segments.map((g) => {
      const r = g.storedRanges();
      const pages: [number, number][] = [];
      for (let i = 0; i < r.length; i += 2) pages.push([r[i]!, r[i + 1]!]);
      return { name: g.name, pageSize: g.pageSize, storedPages: g.storedPageCount, pages };
    }),
  };
  const cfg = encodeWorldConfig(config);
  const manifest = encodeWorldManifest(
    cfg.descriptor,
    chunks.map((c) => c.descriptor),
    image.digest,
    parent?.manifestDigest,
  );
  return { bytes, chunks, config: cfg, manifest, manifestDigest: sha256(manifest) };
}

export interface PushProgress {
  /** Bytes of chunks handled (uploaded or found present) of `total`. */
  done: number;
  total: number;
  uploaded: number;
  skipped: number;
}

export interface PushResult {
  /** Manifest digests, root first. */
  manifests: string[];
  /** Chunk and config bytes sent / found already in the registry. */
  uploadedBytes: number;
  skippedBytes: number;
  uploadedBlobs: number;
  skippedBlobs: number;
}

/** Runs `count` tasks with at most `limit` at once. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * Pushes planned worlds (root first, each the parent of the next): every blob the registry
 * lacks (HEAD first), each config, then each manifest, by digest, the last also under `tag`.
 * A world whose manifest is already there is skipped whole. Nothing is tagged until every
 * blob it needs is stored, so a push cut short leaves no tag naming a half-pushed world.
 */
export async function pushWorlds(
  client: RegistryClient,
  plans: WorldPlan[],
  tag: string | undefined,
  options: { concurrency?: number; fetch?: typeof fetch; onProgress?: (p: PushProgress) => void } = {},
): Promise<PushResult> {
  const run = <T>(op: Op<T>) => runAsync(op, options.fetch);
  const result: PushResult = {
    manifests: [],
    uploadedBytes: 0,
    skippedBytes: 0,
    uploadedBlobs: 0,
    skippedBlobs: 0,
  };
  const progress: PushProgress = { done: 0, total: 0, uploaded: 0, skipped: 0 };
  const todo: WorldPlan[] = [];
  await run(client.ping());
  for (const p of plans) {
    if (await run(client.hasManifest(p.manifestDigest))) {
      result.skippedBlobs += p.chunks.length + 1;
      result.skippedBytes += p.bytes.length + p.config.bytes.length;
    } else {
      todo.push(p);
      progress.total += p.bytes.length + p.config.bytes.length;
    }
  }
  for (const p of todo) {
    const blobs: { bytes: Uint8Array; digest: string }[] = [
      ...p.chunks.map((c) => ({
        bytes: p.bytes.subarray(c.offset, c.offset + c.descriptor.size),
        digest: c.descriptor.digest,
      })),
      { bytes: p.config.bytes, digest: p.config.descriptor.digest },
    ];
    const seen = new Set<string>();
    await pool(blobs.length, options.concurrency ?? 8, async (i) => {
      const b = blobs[i]!;
      const present = seen.has(b.digest) || (await run(client.headBlob(b.digest))) !== undefined;
      seen.add(b.digest);
      if (present) {
        result.skippedBlobs++;
        result.skippedBytes += b.bytes.length;
        progress.skipped += b.bytes.length;
      } else {
        await run(client.uploadBlob(b.bytes, b.digest));
        result.uploadedBlobs++;
        result.uploadedBytes += b.bytes.length;
        progress.uploaded += b.bytes.length;
      }
      progress.done += b.bytes.length;
      options.onProgress?.({ ...progress });
    });
    await run(client.putManifest(p.manifestDigest, p.manifest));
  }
  const last = plans.at(-1);
  if (last !== undefined && tag !== undefined) await run(client.putManifest(tag, last.manifest));
  result.manifests = plans.map((p) => p.manifestDigest);
  return result;
}

/** A pulled world: its single-file bytes and what the registry said of it. */
export interface PulledWorld {
  world: RemoteWorld;
  bytes: Uint8Array;
}

/**
 * Fetches a world and its parents whole (newest first), every chunk checked against its
 * digest and kept in `cache`. Nothing is written anywhere else: the caller writes files.
 */
export async function pullWorlds(
  client: RegistryClient,
  options: {
    cache?: BlobCache;
    concurrency?: number;
    fetch?: typeof fetch;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<PulledWorld[]> {
  const run = <T>(op: Op<T>) => runAsync(op, options.fetch);
  const chain = await run(resolveChain(client, refReference(client.ref), options.cache));
  const total = chain.reduce((n, w) => n + w.config.image.size, 0);
  let done = 0;
  const out: PulledWorld[] = [];
  for (const w of chain) {
    const bytes = new Uint8Array(w.config.image.size);
    const cs = w.config.chunkSize;
    await pool(w.manifest.chunks.length, options.concurrency ?? 8, async (i) => {
      const d = w.manifest.chunks[i]!;
      bytes.set(await run(loadChunk(client, w, i, d, i * cs, options.cache)), i * cs);
      done += d.size;
      options.onProgress?.(done, total);
    });
    out.push({ world: w, bytes });
  }
  return out;
}
