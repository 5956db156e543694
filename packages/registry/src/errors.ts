/** What went wrong talking to a registry or reading a world from it. */
export type RegistryErrorCode =
  /** A REF that does not parse, or plain HTTP to a host that is not loopback. */
  | "BAD_REF"
  /** The registry refused the credentials (or there were none). */
  | "UNAUTHORIZED"
  /** No such manifest, tag or blob. */
  | "NOT_FOUND"
  /** The registry answered with an unexpected status. */
  | "HTTP"
  /** The connection failed (refused, reset, DNS) after every retry. */
  | "NETWORK"
  /** A blob's bytes do not match its digest. */
  | "DIGEST_MISMATCH"
  /** A manifest or config that is not an Amber world, or is inconsistent. */
  | "BAD_MANIFEST"
  /** Local trouble: the cache directory, the credentials file. */
  | "IO_ERROR"
  | "NOT_INITIALIZED";

/** A one-line error naming the REF (and where it helps the digest and offset). */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}
