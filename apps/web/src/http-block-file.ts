import { type BlockFile, MemoryBlockFile } from "@amber/checkpoint";

/** Bytes fetched per Range request: a page block of a world is ~128 KiB or less. */
const CHUNK = 64 * 1024;
/** Chunks kept (LRU): 16 MiB. */
const KEEP = 256;

/** What was fetched, for the page and the benchmark. */
export interface HttpStats {
  requests: number;
  bytes: number;
  lazy: boolean;
}

function syncRequest(method: string, url: string, range?: [number, number]): XMLHttpRequest {
  const xhr = new XMLHttpRequest();
  xhr.open(method, url, false); // synchronous: allowed in workers, and the reader is synchronous
  if (method === "GET") xhr.responseType = "arraybuffer";
  if (range !== undefined) xhr.setRequestHeader("Range", `bytes=${range[0]}-${range[1] - 1}`);
  xhr.send();
  return xhr;
}

/**
 * A world image at a URL as a read-only BlockFile. Where the server answers Range requests
 * (`Accept-Ranges: bytes` and a 206), bytes are fetched on first read in 64 KiB chunks, so
 * opening an image costs its header and tables and a machine reads its pages as it touches
 * them; otherwise the whole image is fetched once. Runs in the machine's worker, where
 * synchronous requests block only the machine, never the page.
 */
export class HttpBlockFile implements BlockFile {
  readonly writable = false;
  private readonly chunks = new Map<number, Uint8Array>();

  private constructor(
    readonly name: string,
    private readonly length: number,
    readonly stats: HttpStats,
  ) {}

  /** Opens `url`: lazily when the server allows ranges and `lazy` is not false, else fetched whole. */
  static open(url: string, options: { lazy?: boolean } = {}): BlockFile & { stats: HttpStats } {
    const head = syncRequest("HEAD", url);
    if (head.status !== 200) throw new Error(`${url}: HTTP ${head.status} ${head.statusText}`);
    const size = Number(head.getResponseHeader("Content-Length"));
    const ranges = head.getResponseHeader("Accept-Ranges") === "bytes";
    if (options.lazy !== false && ranges && Number.isSafeInteger(size) && size > 0) {
      const file = new HttpBlockFile(url, size, { requests: 1, bytes: 0, lazy: true });
      file.chunk(0); // the first chunk proves the server really answers ranges
      return file;
    }
    const whole = syncRequest("GET", url);
    if (whole.status !== 200) throw new Error(`${url}: HTTP ${whole.status} ${whole.statusText}`);
    const bytes = new Uint8Array(whole.response as ArrayBuffer);
    const stats: HttpStats = { requests: 2, bytes: bytes.length, lazy: false };
    return Object.assign(new MemoryBlockFile(bytes, url, false), { stats });
  }

  private chunk(index: number): Uint8Array {
    const kept = this.chunks.get(index);
    if (kept !== undefined) {
      this.chunks.delete(index);
      this.chunks.set(index, kept);
      return kept;
    }
    const start = index * CHUNK;
    const end = Math.min(this.length, start + CHUNK);
    const xhr = syncRequest("GET", this.name, [start, end]);
    this.stats.requests++;
    if (xhr.status !== 206) {
      throw new Error(`${this.name}: asked for bytes ${start}-${end - 1}, got HTTP ${xhr.status}`);
    }
    const bytes = new Uint8Array(xhr.response as ArrayBuffer);
    if (bytes.length !== end - start) {
      throw new Error(`${this.name}: asked for ${end - start} bytes at ${start}, got ${bytes.length}`);
    }
    this.stats.bytes += bytes.length;
    this.chunks.set(index, bytes);
    if (this.chunks.size > KEEP) this.chunks.delete(this.chunks.keys().next().value!);
    return bytes;
  }

  size(): number {
    return this.length;
  }

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.length, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const first = Math.floor(offset / CHUNK);
    const last = Math.floor((end - 1) / CHUNK);
    if (first === last) return this.chunk(first).subarray(offset - first * CHUNK, end - first * CHUNK);
    const out = new Uint8Array(end - offset);
    for (let i = first; i <= last; i++) {
      const c = this.chunk(i);
      const from = Math.max(offset, i * CHUNK);
      const to = Math.min(end, i * CHUNK + c.length);
      out.set(c.subarray(from - i * CHUNK, to - i * CHUNK), from - offset);
    }
    return out;
  }

  write(): void {
    throw new Error(`${this.name} is read-only`);
  }

  close(): void {
    this.chunks.clear();
  }
}
