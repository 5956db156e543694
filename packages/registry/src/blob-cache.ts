/**
 * Where verified blobs are kept between reads: content-addressed, so one cache serves every
 * world and registry. `get` returns only bytes that still match their digest.
 */
export interface BlobCache {
  get(digest: string): Uint8Array | undefined;
  put(digest: string, bytes: Uint8Array): void;
}

/** An in-memory cache of at most `maxBytes` (browsers, tests), least recently used out first. */
export class MemoryBlobCache implements BlobCache {
  private readonly blobs = new Map<string, Uint8Array>();
  private bytes = 0;
  constructor(readonly maxBytes = 256 << 20) {}
  get(digest: string): Uint8Array | undefined {
    const b = this.blobs.get(digest);
    if (b !== undefined) {
      this.blobs.delete(digest);
      this.blobs.set(digest, b);
    }
    return b;
  }
  put(digest: string, bytes: Uint8Array): void {
    if (this.blobs.has(digest) || bytes.length > this.maxBytes) return;
    this.blobs.set(digest, bytes);
    this.bytes += bytes.length;
    for (const [d, b] of this.blobs) {
      if (this.bytes <= this.maxBytes) break;
      this.blobs.delete(d);
      this.bytes -= b.length;
    }
  }
}
