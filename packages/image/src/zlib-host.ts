import { ImageError } from "./errors.js";

/**
 * The subset of Node's `zlib` that qcow2's deflate-compressed clusters need. The host
 * passes it in ("@amber/image/node" does on import) so that `src/` never imports `node:`;
 * a browser without it can still read qcow2 files whose clusters are not deflated.
 */
export interface DeflateHost {
  deflateRawSync(buf: Uint8Array, options?: { level?: number; windowBits?: number }): Uint8Array;
  inflateRawSync(
    buf: Uint8Array,
    options?: { maxOutputLength?: number; windowBits?: number; finishFlush?: number },
  ): Uint8Array;
  /** zlib-wrapped inflate (DMG's UDZO chunks; checks the Adler-32). Optional: without it the wrapper is skipped and raw-inflated. */
  inflateSync?(buf: Uint8Array, options?: { maxOutputLength?: number }): Uint8Array;
  constants: { Z_SYNC_FLUSH: number };
}

let host: DeflateHost | undefined;

export function setDeflateHost(zlib: DeflateHost): void {
  host = zlib;
}

export function deflateHost(): DeflateHost {
  if (host === undefined) {
    throw new ImageError(
      "UNSUPPORTED_FEATURE",
      'deflate-compressed qcow2 clusters and DMG zlib chunks need a zlib host (import "@amber/image/node" or call setDeflateHost)',
    );
  }
  return host;
}
