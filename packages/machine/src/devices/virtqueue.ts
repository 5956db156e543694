import { AVAIL_F_NO_INTERRUPT, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE } from "./virtio-mmio.js";

/** Guest-physical memory as a device sees it (DMA). Must go through the RAM's dirty tracking. */
export interface DmaMemory {
  /** Bytes at a guest-physical address, or undefined when they are not all RAM. */
  read(address: number, length: number): Uint8Array | undefined;
  /** Returns false when the range is not all RAM. Copies `data` (the caller may reuse it). */
  write(address: number, data: Uint8Array): boolean;
}

/**
 * A descriptor chain as a device gets it: buffer k (0 ≤ k < `length`) is `len[k]` bytes at
 * guest-physical `addr[k]`, written by the device when `writable[k]` is 1. One object per
 * set of queues, refilled for every chain: valid only during the call it is given to.
 */
export class DescriptorChain {
  length = 0;
  readonly addr: Uint32Array;
  readonly len: Uint32Array;
  readonly writable: Uint8Array;

  constructor(capacity: number) {
    this.addr = new Uint32Array(capacity);
    this.len = new Uint32Array(capacity);
    this.writable = new Uint8Array(capacity);
  }
}

/**
 * What a device does with a chain the driver made available on `queue`: returns the used
 * length (the bytes it wrote into the chain's device-writable buffers, as the used ring
 * reports it), or undefined when the request is unusable (the device then needs a reset).
 */
export type ChainHandler = (queue: number, chain: DescriptorChain) => number | undefined;

/**
 * The split virtqueues of one device (virtio 1.2, 2.7), as the transport's queue registers
 * set them up: per queue its size, ready bit, the guest-physical addresses of its descriptor
 * table, available (driver) ring and used (device) ring, and the device's shadow of
 * avail.idx (the next available entry it takes). Indirect descriptors are not offered;
 * addresses are 32-bit (RAM lies below 4 GiB on this board).
 */
export class SplitVirtqueues {
  readonly num: Uint32Array;
  readonly ready: Uint8Array;
  readonly desc: Uint32Array;
  readonly avail: Uint32Array;
  readonly used: Uint32Array;
  readonly lastAvail: Uint32Array;
  private readonly chain: DescriptorChain;
  /** A used ring element and a used.idx, written through DMA (copied there). */
  private readonly elem = new Uint8Array(8);
  private readonly idx = new Uint8Array(2);

  /**
   * `count` queues of at most `maxSize` entries, each `maxSize` after a reset (the driver
   * may set a smaller power of two).
   */
  constructor(
    readonly count: number,
    readonly maxSize: number,
    private readonly dma: DmaMemory,
  ) {
    this.num = new Uint32Array(count).fill(maxSize);
    this.ready = new Uint8Array(count);
    this.desc = new Uint32Array(count);
    this.avail = new Uint32Array(count);
    this.used = new Uint32Array(count);
    this.lastAvail = new Uint32Array(count);
    this.chain = new DescriptorChain(maxSize);
  }

  reset(): void {
    this.num.fill(this.maxSize);
    this.ready.fill(0);
    this.desc.fill(0);
    this.avail.fill(0);
    this.used.fill(0);
    this.lastAvail.fill(0);
  }

  /**
   * Takes every chain the driver made available on queue `q`, in ring order, gives each to
   * `handle` and returns it as used (the element in place before the used.idx that
   * publishes it). Returns how many were used, or -1 when a ring, a chain or a request was
   * unusable (what was used before stays used).
   */
  drain(q: number, handle: ChainHandler): number {
    const n = this.num[q]!;
    const avail = this.avail[q]!;
    const used = this.used[q]!;
    let completed = 0;
    for (let guard = 0; guard < 65536; guard++) {
      const availIdx = this.u16(avail + 2);
      if (availIdx < 0) return -1;
      const last = this.lastAvail[q]!;
      if (availIdx === last) break;
      const head = this.u16(avail + 4 + 2 * (last % n));
      if (head < 0 || !this.readChain(q, head)) return -1;
      const written = handle(q, this.chain);
      if (written === undefined) return -1;
      const usedIdx = this.u16(used + 2);
      if (usedIdx < 0) return -1;
      const e = this.elem;
      e[0] = head & 0xff;
      e[1] = head >>> 8;
      e[2] = e[3] = 0;
      e[4] = written & 0xff;
      e[5] = (written >>> 8) & 0xff;
      e[6] = (written >>> 16) & 0xff;
      e[7] = (written >>> 24) & 0xff;
      if (!this.dma.write(used + 4 + 8 * (usedIdx % n), e)) return -1;
      const next = (usedIdx + 1) & 0xffff;
      this.idx[0] = next & 0xff;
      this.idx[1] = next >>> 8;
      if (!this.dma.write(used + 2, this.idx)) return -1;
      this.lastAvail[q] = (last + 1) & 0xffff;
      completed++;
    }
    return completed;
  }

  /**
   * Whether the driver asked for no interrupt on queue `q` (VRING_AVAIL_F_NO_INTERRUPT in
   * the available ring's flags; no event index here), as QEMU's `virtio_should_notify` reads it.
   */
  interruptSuppressed(q: number): boolean {
    const flags = this.u16(this.avail[q]!);
    return flags >= 0 && (flags & AVAIL_F_NO_INTERRUPT) !== 0;
  }

  /** Fills `chain` with the descriptors from `head` on; false when the chain is broken. */
  private readChain(q: number, head: number): boolean {
    const n = this.num[q]!;
    const table = this.desc[q]!;
    const c = this.chain;
    let i = head;
    for (let hops = 0; ; hops++) {
      if (i >= n || hops >= n) return false;
      const d = this.dma.read(table + 16 * i, 16);
      if (d === undefined) return false;
      // addr (u64, whose high word must be 0 here), len (u32), flags (u16), next (u16).
      if ((d[4]! | d[5]! | d[6]! | d[7]!) !== 0) return false;
      const flags = d[12]! | (d[13]! << 8);
      if (flags & DESC_F_INDIRECT) return false; // not offered
      c.addr[hops] = d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24);
      c.len[hops] = d[8]! | (d[9]! << 8) | (d[10]! << 16) | (d[11]! << 24);
      c.writable[hops] = (flags & DESC_F_WRITE) !== 0 ? 1 : 0;
      if ((flags & DESC_F_NEXT) === 0) {
        c.length = hops + 1;
        return true;
      }
      i = d[14]! | (d[15]! << 8);
    }
  }

  /** A little-endian u16 of guest memory, or -1 when it is not RAM. */
  private u16(address: number): number {
    const b = this.dma.read(address, 2);
    return b === undefined ? -1 : b[0]! | (b[1]! << 8);
  }
}
