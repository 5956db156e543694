/**
 * The driver's side of a virtio-mmio (version 2) device and its split virtqueues, for tests:
 * the register writes of the virtio 1.2 spec's driver initialisation (3.1.1, 4.2.3) in the
 * order Linux's virtio_mmio.c does them, and rings laid out as in 2.7 (descriptor table,
 * available ring, used ring). Offsets and layouts are written out here from the spec, not
 * taken from the device code under test.
 */

/** 32-bit register access at an offset into the device's window. */
export interface Registers {
  read(offset: number): number;
  write(offset: number, value: number): void;
}

/** Guest-physical memory as the driver writes it. */
export interface GuestMemory {
  read(address: number, length: number): Uint8Array;
  write(address: number, data: Uint8Array): void;
}

export const REG = {
  magic: 0x000,
  version: 0x004,
  deviceId: 0x008,
  vendorId: 0x00c,
  deviceFeatures: 0x010,
  deviceFeaturesSel: 0x014,
  driverFeatures: 0x020,
  driverFeaturesSel: 0x024,
  queueSel: 0x030,
  queueNumMax: 0x034,
  queueNum: 0x038,
  queueReady: 0x044,
  queueNotify: 0x050,
  interruptStatus: 0x060,
  interruptAck: 0x064,
  status: 0x070,
  queueDescLow: 0x080,
  queueDescHigh: 0x084,
  queueDriverLow: 0x090,
  queueDriverHigh: 0x094,
  queueDeviceLow: 0x0a0,
  queueDeviceHigh: 0x0a4,
  configGeneration: 0x0fc,
  config: 0x100,
} as const;

/** Device status bits (2.1). */
export const STATUS = { acknowledge: 1, driver: 2, driverOk: 4, featuresOk: 8, needsReset: 64 } as const;

/** One buffer of a chain: `len` bytes at `addr`, written by the device when `write`. */
export interface Buffer {
  addr: number;
  len: number;
  write?: boolean;
}

interface QueueLayout {
  size: number;
  desc: number;
  avail: number;
  used: number;
  /** Next free descriptor (the driver hands them out in a ring, never reusing one in flight in these tests). */
  nextDesc: number;
  /** The driver's avail.idx and the used.idx it has seen. */
  availIdx: number;
}

const le16 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff);
const le32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

export class VirtioTestDriver {
  private readonly queues = new Map<number, QueueLayout>();

  constructor(
    readonly regs: Registers,
    readonly memory: GuestMemory,
  ) {}

  /**
   * Reset, ACKNOWLEDGE, DRIVER, the accepted features (words 0 and 1), FEATURES_OK; returns
   * whether the device kept FEATURES_OK (it accepts the features).
   */
  negotiate(low: number, high: number): boolean {
    const r = this.regs;
    r.write(REG.status, 0);
    r.write(REG.status, STATUS.acknowledge);
    r.write(REG.status, STATUS.acknowledge | STATUS.driver);
    r.write(REG.driverFeaturesSel, 1);
    r.write(REG.driverFeatures, high);
    r.write(REG.driverFeaturesSel, 0);
    r.write(REG.driverFeatures, low);
    r.write(REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk);
    return (r.read(REG.status) & STATUS.featuresOk) !== 0;
  }

  /** The device's offered features, word `sel`. */
  deviceFeatures(sel: number): number {
    this.regs.write(REG.deviceFeaturesSel, sel);
    return this.regs.read(REG.deviceFeatures) >>> 0;
  }

  /**
   * Sets queue `q` up with `size` entries at `base`: the descriptor table (16-byte aligned),
   * the available ring after it, the used ring at the next 4-byte boundary; QueueReady 1.
   * Returns the bytes the queue takes.
   */
  setupQueue(q: number, size: number, base: number): number {
    const r = this.regs;
    const desc = base;
    const avail = desc + 16 * size;
    const used = ((avail + 6 + 2 * size + 3) & ~3) >>> 0;
    const end = used + 6 + 8 * size;
    this.memory.write(base, new Uint8Array(end - base));
    r.write(REG.queueSel, q);
    r.write(REG.queueNum, size);
    r.write(REG.queueDescLow, desc);
    r.write(REG.queueDescHigh, 0);
    r.write(REG.queueDriverLow, avail);
    r.write(REG.queueDriverHigh, 0);
    r.write(REG.queueDeviceLow, used);
    r.write(REG.queueDeviceHigh, 0);
    r.write(REG.queueReady, 1);
    this.queues.set(q, { size, desc, avail, used, nextDesc: 0, availIdx: 0 });
    return end - base;
  }

  /**
   * Takes over queue `q` as `setupQueue(q, size, base)` laid it out, without touching the
   * device (a driver in a restored machine): its avail.idx is read back from memory.
   */
  adopt(q: number, size: number, base: number): void {
    const desc = base;
    const avail = desc + 16 * size;
    const used = ((avail + 6 + 2 * size + 3) & ~3) >>> 0;
    const idx = this.memory.read(avail + 2, 2);
    const availIdx = idx[0]! | (idx[1]! << 8);
    this.queues.set(q, { size, desc, avail, used, nextDesc: availIdx % size, availIdx });
  }

  driverOk(): void {
    this.regs.write(REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk | STATUS.driverOk);
  }

  /** Puts a chain of `buffers` on queue `q` and publishes it in the available ring (no notify). Returns its head. */
  offer(q: number, buffers: Buffer[]): number {
    const l = this.layout(q);
    const ids = buffers.map((_, i) => (l.nextDesc + i) % l.size);
    l.nextDesc = (l.nextDesc + buffers.length) % l.size;
    buffers.forEach((b, i) => {
      const d = new Uint8Array(16);
      d.set(le32(b.addr), 0); // addr (low word; the high word stays 0)
      d.set(le32(b.len), 8);
      const last = i === buffers.length - 1;
      d.set(le16((last ? 0 : 1) | (b.write ? 2 : 0)), 12); // NEXT, WRITE
      d.set(le16(last ? 0 : ids[i + 1]!), 14);
      this.memory.write(l.desc + 16 * ids[i]!, d);
    });
    this.memory.write(l.avail + 4 + 2 * (l.availIdx % l.size), le16(ids[0]!));
    l.availIdx = (l.availIdx + 1) & 0xffff;
    this.memory.write(l.avail + 2, le16(l.availIdx));
    return ids[0]!;
  }

  notify(q: number): void {
    this.regs.write(REG.queueNotify, q);
  }

  /** The used ring of queue `q`: its idx and its elements up to idx, as [id, len]. */
  used(q: number): { idx: number; ring: [number, number][] } {
    const l = this.layout(q);
    const u16 = (a: number) => {
      const b = this.memory.read(a, 2);
      return b[0]! | (b[1]! << 8);
    };
    const u32 = (a: number) => {
      const b = this.memory.read(a, 4);
      return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    };
    const idx = u16(l.used + 2);
    const ring: [number, number][] = [];
    for (let i = 0; i < Math.min(idx, l.size); i++)
      ring.push([u32(l.used + 4 + 8 * i), u32(l.used + 8 + 8 * i)]);
    return { idx, ring };
  }

  /** Reads InterruptStatus and acknowledges what it holds; returns it. */
  ack(): number {
    const s = this.regs.read(REG.interruptStatus);
    this.regs.write(REG.interruptAck, s);
    return s;
  }

  private layout(q: number): QueueLayout {
    const l = this.queues.get(q);
    if (l === undefined) throw new Error(`queue ${q} is not set up`);
    return l;
  }
}
