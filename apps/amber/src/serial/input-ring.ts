/**
 * Bytes from another thread, in a ring of shared memory the machine's thread reads
 * without waiting: the writer puts only what fits (the rest waits on its side, its
 * source paused: flow control), the reader takes what is there. Layout: four int32
 * words (bytes written, bytes read, state flags, a change counter to wait on), then the
 * bytes. Counters wrap as int32; the capacity is a power of two.
 */
export const RING_WRITTEN = 0;
export const RING_READ = 1;
export const RING_STATE = 2;
export const RING_CHANGES = 3;
/** State flags. */
export const RING_CONNECTED = 1;
export const RING_ENDED = 2;
export const RING_FAILED = 4;
const HEADER_BYTES = 16;

export function createRingBuffer(capacity = 1 << 16): SharedArrayBuffer {
  if ((capacity & (capacity - 1)) !== 0) throw new Error("ring capacity must be a power of two");
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** The reading side, on the machine's thread. */
export class RingReader {
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.ctrl = new Int32Array(buffer, 0, 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
  }

  get state(): number {
    return Atomics.load(this.ctrl, RING_STATE);
  }

  /** Bytes waiting in the ring. */
  get available(): number {
    return (Atomics.load(this.ctrl, RING_WRITTEN) - Atomics.load(this.ctrl, RING_READ)) | 0;
  }

  /** At most `max` bytes; empty when none yet; null once the writer ended and all was read. */
  read(max: number): Uint8Array | null {
    const n = Math.min(this.available, max);
    if (n <= 0) return (this.state & RING_ENDED) !== 0 && this.available === 0 ? null : new Uint8Array(0);
    const r = Atomics.load(this.ctrl, RING_READ);
    const mask = this.data.length - 1;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.data[(r + i) & mask]!;
    Atomics.store(this.ctrl, RING_READ, (r + n) | 0);
    Atomics.notify(this.ctrl, RING_READ); // room for a writer waiting on a full ring
    return out;
  }

  /** Waits up to `ms` for anything to change (bytes, state); returns at once if bytes are there. */
  wait(ms: number): void {
    const seen = Atomics.load(this.ctrl, RING_CHANGES);
    if (this.available > 0 || (this.state & (RING_ENDED | RING_FAILED)) !== 0) return;
    Atomics.wait(this.ctrl, RING_CHANGES, seen, ms);
  }
}
