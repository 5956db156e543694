import { xxh64 } from "./checksum.js";
import { pagesEqual, wordsEqual } from "./page-compare.js";

/**
 * Finds pages whose content appeared earlier in the image. Keyed by XXH64, but a hit is
 * confirmed byte for byte against a kept copy: XXH64 is not collision-resistant and a guest
 * could craft two pages with one hash, which must never make one read back as the other.
 * Copies are kept for at most `maxPages` distinct pages (the writer's memory bound).
 */
export class DedupTable {
  private readonly firstSeen = new Map<bigint, { page: number; words: Int32Array; bytes: Uint8Array }>();
  /** Copies live in arenas of ARENA_BYTES (one allocation per 256 pages, not one per page). */
  private arena = new Uint8Array(0);
  private arenaUsed = 0;

  constructor(private readonly maxPages: number) {}

  private copyOf(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (this.arenaUsed + n > this.arena.length) {
      this.arena = new Uint8Array(Math.max(ARENA_BYTES, n));
      this.arenaUsed = 0;
    }
    const copy = this.arena.subarray(this.arenaUsed, this.arenaUsed + n);
    this.arenaUsed += n;
    copy.set(bytes);
    return copy;
  }

  /**
   * The earlier page with identical content, or -1 (and remembers this one if room).
   * `words` is the page's 32-bit view when it is aligned, to compare a word at a time.
   */
  lookupOrAdd(pageNumber: number, bytes: Uint8Array, words: Int32Array | undefined): number {
    const key = xxh64(bytes);
    const hit = this.firstSeen.get(key);
    if (hit !== undefined) {
      const same = words !== undefined ? wordsEqual(hit.words, words) : pagesEqual(hit.bytes, bytes);
      return same ? hit.page : -1;
    }
    if (this.firstSeen.size < this.maxPages) {
      const copy = this.copyOf(bytes);
      const words =
        (copy.length & 3) === 0 ? new Int32Array(copy.buffer, copy.byteOffset, copy.length >>> 2) : undefined;
      this.firstSeen.set(key, { page: pageNumber, words: words ?? new Int32Array(0), bytes: copy });
    }
    return -1;
  }
}

const ARENA_BYTES = 1 << 20;
