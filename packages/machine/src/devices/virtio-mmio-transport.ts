import type { MmioDevice } from "@amber/memory";
import {
  CONFIG,
  CONFIG_GENERATION,
  DEVICE_FEATURES,
  DEVICE_FEATURES_SEL,
  DEVICE_ID,
  DRIVER_FEATURES,
  DRIVER_FEATURES_SEL,
  F_VERSION_1,
  INT_CONFIG_CHANGE,
  INT_USED_BUFFER,
  INTERRUPT_ACK,
  INTERRUPT_STATUS,
  MAGIC,
  MAGIC_VALUE,
  QUEUE_DESC_HIGH,
  QUEUE_DESC_LOW,
  QUEUE_DEVICE_HIGH,
  QUEUE_DEVICE_LOW,
  QUEUE_DRIVER_HIGH,
  QUEUE_DRIVER_LOW,
  QUEUE_NOTIFY,
  QUEUE_NUM,
  QUEUE_NUM_MAX,
  QUEUE_READY,
  QUEUE_SEL,
  STATUS,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  STATUS_NEEDS_RESET,
  VENDOR_ID,
  VENDOR_QEMU,
  VERSION,
} from "./virtio-mmio.js";
import { type ChainHandler, type DmaMemory, SplitVirtqueues } from "./virtqueue.js";

/** What a device behind the transport is: its identity, its queues and its own behaviour. */
export interface VirtioDeviceModel {
  /** The virtio device id; 0 is an empty slot (as QEMU's: the ids read, all else reads 0 and writes are ignored). */
  readonly deviceId: number;
  /** The feature bits offered, as words 0 (bits 0..31) and 1 (32..63: VERSION_1 is bit 0 of word 1). */
  readonly features: readonly [number, number];
  /** How many virtqueues, and the most entries each takes (QueueNumMax). */
  readonly queues: number;
  readonly queueSize: number;
  /** A read of `size` bytes at `at` in the device-specific configuration space. */
  readConfig(at: number, size: 1 | 2 | 4): number;
  /** A driver's write there (ignored where the device's configuration is read-only). */
  writeConfig(at: number, size: 1 | 2 | 4, value: number): void;
  /** Handles a chain the driver made available (see `ChainHandler`). */
  handle: ChainHandler;
  /** What a device reset clears besides the transport and the queues. */
  reset(): void;
}

/** The transport's registers and queues (what `saveState` gives and `loadState` takes). */
export interface VirtioMmioState {
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  /** The two 32-bit words of the features the driver accepted. */
  driverFeatures: Uint32Array;
  status: number;
  interruptStatus: number;
  queueSel: number;
  /** Per queue: size, ready, ring addresses, the device's next available index. */
  queueNum: Uint32Array;
  queueReady: Uint8Array;
  desc: Uint32Array;
  avail: Uint32Array;
  used: Uint32Array;
  lastAvail: Uint32Array;
  configGeneration: number;
}

/**
 * A virtio-mmio (version 2) transport slot (virtio 1.2, 4.2.2): the identification,
 * feature negotiation, queue, interrupt, status and configuration registers, and the
 * device's split virtqueues, for the device model it carries. The driver's notify runs the
 * queue's requests synchronously; used buffers raise the slot's interrupt line. Something the
 * driver set up that the device cannot use sets DEVICE_NEEDS_RESET and raises a
 * configuration change interrupt. A status write of 0 resets the device.
 */
export class VirtioMmioTransport implements MmioDevice {
  readonly size = 0x1000;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private readonly driverFeatures = new Uint32Array(2);
  private status = 0;
  private interruptStatus = 0;
  private queueSel = 0;
  private configGeneration = 0;
  private readonly queues: SplitVirtqueues;

  constructor(
    readonly name: string,
    private readonly model: VirtioDeviceModel,
    dma: DmaMemory,
    private readonly irq: (level: boolean) => void,
  ) {
    this.queues = new SplitVirtqueues(model.queues, model.queueSize, dma);
  }

  /** Whether the driver accepted feature bit `bit` (0..63). */
  accepted(bit: number): boolean {
    return (this.driverFeatures[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** Whether the driver has set DRIVER_OK: the device is live. */
  get driverOk(): boolean {
    return (this.status & STATUS_DRIVER_OK) !== 0;
  }

  /**
   * The device changed its configuration: ConfigGeneration moves on, and a live device
   * tells the driver (a configuration change interrupt).
   */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.driverOk) {
      this.interruptStatus |= INT_CONFIG_CHANGE;
      this.irq(true);
    }
  }

  saveState(): VirtioMmioState {
    const q = this.queues;
    return {
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeatures.slice(),
      status: this.status,
      interruptStatus: this.interruptStatus,
      queueSel: this.queueSel,
      queueNum: q.num.slice(),
      queueReady: q.ready.slice(),
      desc: q.desc.slice(),
      avail: q.avail.slice(),
      used: q.used.slice(),
      lastAvail: q.lastAvail.slice(),
      configGeneration: this.configGeneration,
    };
  }

  /**
   * Puts back what `saveState` gave, without touching the interrupt line (the PLIC keeps its
   * level). A queue size the device does not offer is a RangeError.
   */
  loadState(s: VirtioMmioState): void {
    const q = this.queues;
    for (const n of s.queueNum) {
      if (n < 1 || n > q.maxSize || (n & (n - 1)) !== 0) {
        throw new RangeError(`${this.name}: queue size ${n} is not a power of two in 1..${q.maxSize}`);
      }
    }
    this.deviceFeaturesSel = s.deviceFeaturesSel >>> 0;
    this.driverFeaturesSel = s.driverFeaturesSel >>> 0;
    this.driverFeatures[0] = s.driverFeatures[0] ?? 0;
    this.driverFeatures[1] = s.driverFeatures[1] ?? 0;
    this.status = s.status & 0xff;
    this.interruptStatus = s.interruptStatus & (INT_USED_BUFFER | INT_CONFIG_CHANGE);
    this.queueSel = s.queueSel >>> 0;
    q.num.set(s.queueNum);
    for (let i = 0; i < q.count; i++) q.ready[i] = (s.queueReady[i] ?? 0) & 1;
    q.desc.set(s.desc);
    q.avail.set(s.avail);
    q.used.set(s.used);
    for (let i = 0; i < q.count; i++) q.lastAvail[i] = (s.lastAvail[i] ?? 0) & 0xffff;
    this.configGeneration = s.configGeneration >>> 0;
  }

  /**
   * As QEMU's `virtio_mmio_read`: misaligned accesses fault; an empty slot answers any
   * width with its magic, version and vendor (cut to the width) and 0 elsewhere; a
   * device's configuration space takes any width, its registers only words (other widths
   * read 0 and write nothing).
   */
  read(offset: number, size: 1 | 2 | 4): number {
    if ((offset & (size - 1)) !== 0) return Number.NaN;
    const empty = this.model.deviceId === 0;
    if (empty || size === 4) {
      const id =
        offset === MAGIC ? MAGIC_VALUE : offset === VERSION ? 2 : offset === VENDOR_ID ? VENDOR_QEMU : -1;
      if (id >= 0) return size === 4 ? id : id & ((1 << (8 * size)) - 1);
      if (empty) return 0;
    }
    if (offset >= CONFIG) return this.model.readConfig(offset - CONFIG, size);
    if (size !== 4) return 0;
    const queues = this.queues;
    // The queue registers are the selected queue's; past the last queue they read 0.
    const q = this.queueSel < queues.count ? this.queueSel : -1;
    switch (offset) {
      case DEVICE_ID:
        return this.model.deviceId;
      case DEVICE_FEATURES:
        return this.model.features[this.deviceFeaturesSel] ?? 0;
      case QUEUE_NUM_MAX:
        return q < 0 ? 0 : queues.maxSize;
      case QUEUE_READY:
        return q < 0 ? 0 : queues.ready[q]!;
      case INTERRUPT_STATUS:
        return this.interruptStatus;
      case STATUS:
        return this.status;
      case QUEUE_DESC_LOW:
        return q < 0 ? 0 : queues.desc[q]!;
      case QUEUE_DRIVER_LOW:
        return q < 0 ? 0 : queues.avail[q]!;
      case QUEUE_DEVICE_LOW:
        return q < 0 ? 0 : queues.used[q]!;
      case CONFIG_GENERATION:
        return this.configGeneration;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if ((offset & (size - 1)) !== 0) return false;
    if (this.model.deviceId === 0) return true; // an empty slot ignores writes
    if (offset >= CONFIG) {
      this.model.writeConfig(offset - CONFIG, size, value);
      return true;
    }
    if (size !== 4) return true;
    const v = value >>> 0;
    const queues = this.queues;
    // Setup of a queue past the last is ignored (its QueueNumMax reads 0).
    const q = this.queueSel < queues.count ? this.queueSel : -1;
    switch (offset) {
      case DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = v;
        break;
      case DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = v;
        break;
      case DRIVER_FEATURES:
        if (this.driverFeaturesSel < 2 && (this.status & STATUS_FEATURES_OK) === 0) {
          this.driverFeatures[this.driverFeaturesSel] = v;
        }
        break;
      case QUEUE_SEL:
        this.queueSel = v;
        break;
      case QUEUE_NUM:
        if (q >= 0 && v > 0 && v <= queues.maxSize && (v & (v - 1)) === 0) queues.num[q] = v;
        break;
      case QUEUE_READY:
        if (q >= 0) queues.ready[q] = v & 1;
        break;
      case QUEUE_DESC_LOW:
        if (q >= 0) queues.desc[q] = v;
        break;
      case QUEUE_DRIVER_LOW:
        if (q >= 0) queues.avail[q] = v;
        break;
      case QUEUE_DEVICE_LOW:
        if (q >= 0) queues.used[q] = v;
        break;
      case QUEUE_DESC_HIGH:
      case QUEUE_DRIVER_HIGH:
      case QUEUE_DEVICE_HIGH:
        // RAM lies below 4 GiB on this board: a non-zero high word points at nothing.
        if (v !== 0) this.fail();
        break;
      case QUEUE_NOTIFY:
        if (v < queues.count && queues.ready[v] === 1) this.notify(v);
        break;
      case INTERRUPT_ACK:
        this.interruptStatus &= ~v;
        // QEMU reports the line either way (virtio_update_irq): bits still set raise it again.
        this.irq(this.interruptStatus !== 0);
        break;
      case STATUS:
        this.writeStatus(v);
        break;
      default:
        break;
    }
    return true;
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.reset();
      return;
    }
    if ((v & STATUS_FEATURES_OK) !== 0 && (this.status & STATUS_FEATURES_OK) === 0) {
      // Accept only features offered, and insist on VERSION_1: these are not legacy devices.
      const offered = this.model.features;
      const ok =
        (this.driverFeatures[0]! & ~offered[0]) === 0 &&
        (this.driverFeatures[1]! & ~offered[1]) === 0 &&
        this.accepted(F_VERSION_1);
      if (!ok) v &= ~STATUS_FEATURES_OK;
    }
    this.status = v & 0xff;
  }

  /** A device reset: the transport and the queues, then the device's own part. */
  private reset(): void {
    this.status = 0;
    this.driverFeatures.fill(0);
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueSel = 0;
    this.queues.reset();
    this.model.reset();
    if (this.interruptStatus !== 0) this.irq(false);
    this.interruptStatus = 0;
  }

  /**
   * Runs what the driver made available on queue `q`; interrupts when buffers were used,
   * unless the driver set VRING_AVAIL_F_NO_INTERRUPT (QEMU's `virtio_should_notify`).
   */
  private notify(q: number): void {
    const used = this.queues.drain(q, this.model.handle);
    if (used < 0) this.fail();
    else if (used > 0 && !this.queues.interruptSuppressed(q)) {
      this.interruptStatus |= INT_USED_BUFFER;
      this.irq(true);
    }
  }

  /** Something the driver set up is unusable: flag NEEDS_RESET and tell it (config change). */
  private fail(): void {
    this.status |= STATUS_NEEDS_RESET;
    this.interruptStatus |= INT_CONFIG_CHANGE;
    this.irq(true);
  }
}
