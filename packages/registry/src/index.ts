export { basicAuthorization, type Challenge, type Credentials, parseChallenge } from "./auth.js";
export { type BlobCache, MemoryBlobCache } from "./blob-cache.js";
export { ChunkedFile } from "./chunked-file.js";
export { type ClientOptions, OCI_MANIFEST, RegistryClient, type Traffic } from "./client.js";
export { isRegistryError, RegistryError, type RegistryErrorCode } from "./errors.js";
export {
  type Effect,
  type EffectResult,
  fetchExchange,
  type HttpRequest,
  type HttpResponse,
  type NetworkFailure,
  type Op,
  runAsync,
  runSync,
  type SyncTransport,
} from "./http.js";
export { apiBase, isLoopback, looksLikeRef, parseRef, type Ref, refReference } from "./ref.js";
export { initRegistry, isDigest, sha256Digest, useNativeSha256 } from "./sha256.js";
export {
  chunkImage,
  DEFAULT_CHUNK_SIZE,
  type Descriptor,
  encodeWorldConfig,
  encodeWorldManifest,
  IMAGE_DIGEST_ANNOTATION,
  PARENT_ANNOTATION,
  parseWorldConfig,
  parseWorldManifest,
  WORLD_ARTIFACT_TYPE,
  WORLD_CHUNK_TYPE,
  WORLD_CONFIG_TYPE,
  type WorldConfig,
  type WorldManifest,
} from "./world.js";
export {
  type LazyOpenOptions,
  openRemoteCheckpoint,
  type PulledWorld,
  type PushProgress,
  type PushResult,
  planWorld,
  pullWorlds,
  pushWorlds,
  type RemoteWorld,
  resolveChain,
  resolveWorld,
  singleFileBytes,
  type WorldPlan,
} from "./world-ops.js";
