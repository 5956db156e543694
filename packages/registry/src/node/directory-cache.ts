import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BlobCache } from "../blob-cache.js";
import { RegistryError } from "../errors.js";
import { sha256Digest } from "../sha256.js";

/** `$XDG_CACHE_HOME/amber`, else `~/.cache/amber`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "amber");
}

/** Default size limit of the cache directory: 2 GiB. */
export const DEFAULT_CACHE_BYTES = 2 ** 31;

/**
 * A directory of verified blobs, `blobs/sha256/<hex>`, shared by every world and process:
 * written under a temporary name and renamed (a killed writer leaves no half blob under a
 * real name), checked against its digest on every read (a bad one is removed and fetched
 * again), and kept under `maxBytes` by removing the least recently used.
 */
export class DirectoryBlobCache implements BlobCache {
  private readonly blobs: string;
  private used: number | undefined;

  constructor(
    readonly dir: string = defaultCacheDir(),
    readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.blobs = path.join(dir, "blobs", "sha256");
  }

  private file(digest: string): string {
    return path.join(this.blobs, digest.slice("sha256:".length));
  }

  get(digest: string): Uint8Array | undefined {
    const f = this.file(digest);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(f));
    } catch {
      return undefined;
    }
    if (sha256Digest(bytes) !== digest) {
      fs.rmSync(f, { force: true });
      return undefined;
    }
    const now = new Date();
    try {
      fs.utimesSync(f, now, now);
    } catch {}
    return bytes;
  }

  put(digest: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBytes) return;
    const f = this.file(digest);
    const tmp = path.join(this.blobs, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      fs.mkdirSync(this.blobs, { recursive: true });
      if (fs.existsSync(f)) return;
      fs.writeFileSync(tmp, bytes);
      fs.renameSync(tmp, f);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new RegistryError("IO_ERROR", `cache ${this.dir}: ${(e as Error).message}`);
    }
    this.used = (this.used ?? this.scan().reduce((n, b) => n + b.size, 0) - bytes.length) + bytes.length;
    if (this.used > this.maxBytes) this.evict();
  }

  private scan(): { file: string; size: number; mtime: number }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.blobs);
    } catch {
      return [];
    }
    const out: { file: string; size: number; mtime: number }[] = [];
    for (const n of names) {
      if (n.startsWith(".")) continue;
      try {
        const st = fs.statSync(path.join(this.blobs, n));
        out.push({ file: path.join(this.blobs, n), size: st.size, mtime: st.mtimeMs });
      } catch {}
    }
    return out;
  }

  /** Removes least recently used blobs until the cache holds at most 90% of its limit. */
  private evict(): void {
    const all = this.scan().sort((a, b) => a.mtime - b.mtime);
    let used = all.reduce((n, b) => n + b.size, 0);
    for (const b of all) {
      if (used <= this.maxBytes * 0.9) break;
      fs.rmSync(b.file, { force: true });
      used -= b.size;
    }
    this.used = used;
  }

  /** Bytes held now. */
  size(): number {
    return this.scan().reduce((n, b) => n + b.size, 0);
  }
}
