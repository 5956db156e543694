import type { CheckpointReader } from "@amber/checkpoint";
import type { ChunkedFile } from "../chunked-file.js";
import { type ClientOptions, RegistryClient } from "../client.js";
import { type Op, runSync } from "../http.js";
import { parseRef, type Ref } from "../ref.js";
import { useNativeSha256 } from "../sha256.js";
import { type LazyOpenOptions, openRemoteCheckpoint, type RemoteWorld } from "../world-ops.js";
import { credentialsFor } from "./credentials.js";
import { DirectoryBlobCache } from "./directory-cache.js";
import { WorkerTransport } from "./sync-transport.js";

// OpenSSL's SHA-256 (hardware-accelerated where the CPU has it) for every digest in Node;
// node:crypto loaded on the first digest (a CLI that reads no registry never loads it).
useNativeSha256((bytes) =>
  process.getBuiltinModule("node:crypto").createHash("sha256").update(bytes).digest("hex"),
);

export { credentialsFor } from "./credentials.js";
export { DEFAULT_CACHE_BYTES, DirectoryBlobCache, defaultCacheDir } from "./directory-cache.js";
export { WorkerTransport } from "./sync-transport.js";

/** A client for REF with the credentials Node finds for its host (env, Docker config). */
export function clientFor(
  ref: Ref | string,
  options: ClientOptions & { insecure?: boolean } = {},
): RegistryClient {
  const r = typeof ref === "string" ? parseRef(ref, { insecure: options.insecure }) : ref;
  return new RegistryClient(r, { credentials: options.credentials ?? credentialsFor(r.host), ...options });
}

/** An open remote world: the reader, its chunked files, and the transport to close. */
export interface RemoteCheckpoint {
  reader: CheckpointReader;
  client: RegistryClient;
  files: ChunkedFile[];
  chain: RemoteWorld[];
  close(): void;
}

/**
 * Opens a world in a registry for lazy reading in Node: manifests and chunks are fetched
 * synchronously (a worker thread does the HTTP) when the reader first touches them, through
 * `cache` (default: the shared cache directory).
 */
export function openRemote(
  ref: Ref | string,
  options: LazyOpenOptions & ClientOptions & { insecure?: boolean; cacheDir?: string } = {},
): RemoteCheckpoint {
  const client = clientFor(ref, options);
  const transport = new WorkerTransport();
  const run = <T>(op: Op<T>): T => runSync(op, transport);
  try {
    const cache = options.cache ?? new DirectoryBlobCache(options.cacheDir);
    const { reader, files, chain } = openRemoteCheckpoint(client, run, { ...options, cache });
    const close = reader.close.bind(reader);
    reader.close = () => {
      close();
      transport.close();
    };
    return { reader, client, files, chain, close: () => reader.close() };
  } catch (e) {
    transport.close();
    throw e;
  }
}
