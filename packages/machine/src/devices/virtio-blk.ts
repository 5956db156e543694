import type { MmioDevice } from "@amber/memory";
import {
  CONFIG,
  CONFIG_GENERATION,
  DESC_F_INDIRECT,
  DESC_F_NEXT,
  DESC_F_WRITE,
  DEVICE_FEATURES,
  DEVICE_FEATURES_SEL,
  DEVICE_ID,
  DRIVER_FEATURES,
  DRIVER_FEATURES_SEL,
  F_VERSION_1,
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
  STATUS_FEATURES_OK,
  STATUS_NEEDS_RESET,
  VENDOR_ID,
  VENDOR_QEMU,
  VERSION,
} from "./virtio-mmio.js";

/**
 * What a virtio block device stores its sectors in. `@amber/image`'s Image fits it as is
 * (size, read, write, sync); the board does not depend on that package.
 */
export interface DiskBackend {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
  sync?(): void;
}

/** Guest-physical memory as a device sees it (DMA). Must go through the RAM's dirty tracking. */
export interface DmaMemory {
  /** Bytes at a guest-physical address, or undefined when they are not all RAM. */
  read(address: number, length: number): Uint8Array | undefined;
  /** Returns false when the range is not all RAM. */
  write(address: number, data: Uint8Array): boolean;
}

const DEVICE_BLOCK = 2;
/** QEMU's virtio-blk default queue size. */
const QUEUE_SIZE = 256;

// Feature bits offered: the block size, flush, and virtio 1.x itself (legacy-free device).
const F_BLK_RO = 5;
const F_BLK_BLK_SIZE = 6;
const F_BLK_FLUSH = 9;

const T_IN = 0;
const T_OUT = 1;
const T_FLUSH = 4;
const T_GET_ID = 8;
const S_OK = 0;
const S_IOERR = 1;
const S_UNSUPP = 2;

const SECTOR = 512;

/** A virtio-blk slot's transport and queue state (what `saveState` gives and `loadState` takes). */
export interface VirtioBlkState {
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  /** The two 32-bit words of the features the driver accepted. */
  driverFeatures: Uint32Array;
  status: number;
  interruptStatus: number;
  queueNum: number;
  queueReady: number;
  desc: number;
  avail: number;
  used: number;
  /** The next available-ring index the device will take (its shadow of avail.idx). */
  lastAvail: number;
  queueSel: number;
}

/**
 * A virtio-mmio transport slot (QEMU `virt` has eight at 0x1000_1000 + n·0x1000). Without a
 * disk it is what QEMU shows for an empty slot: magic "virt", version 2, device id 0. With
 * one it is a virtio 1.x block device with a single split virtqueue; requests run
 * synchronously when the driver notifies, and completion raises the slot's PLIC line.
 */
export class VirtioBlk implements MmioDevice {
  readonly size = 0x1000;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = [0, 0];
  private status = 0;
  private interruptStatus = 0;
  private queueNum = QUEUE_SIZE;
  private queueReady = 0;
  private desc = 0;
  private avail = 0;
  private used = 0;
  private lastAvail = 0;
  private queueSel = 0;
  private readonly features: number[];

  constructor(
    readonly name: string,
    private readonly disk: DiskBackend | undefined,
    private readonly dma: DmaMemory,
    private readonly irq: (level: boolean) => void,
    private readonly options: { readOnly?: boolean; serial?: string } = {},
  ) {
    let low = (1 << F_BLK_BLK_SIZE) | (1 << F_BLK_FLUSH);
    if (options.readOnly) low |= 1 << F_BLK_RO;
    this.features = [low >>> 0, 1 << (F_VERSION_1 - 32)];
  }

  saveState(): VirtioBlkState {
    return {
      deviceFeaturesSel: this.deviceFeaturesSel >>> 0,
      driverFeaturesSel: this.driverFeaturesSel >>> 0,
      driverFeatures: Uint32Array.from(this.driverFeatures, (v) => v >>> 0),
      status: this.status,
      interruptStatus: this.interruptStatus,
      queueNum: this.queueNum,
      queueReady: this.queueReady,
      desc: this.desc >>> 0,
      avail: this.avail >>> 0,
      used: this.used >>> 0,
      lastAvail: this.lastAvail,
      queueSel: this.queueSel >>> 0,
    };
  }

  /** Puts back what `saveState` gave, without touching the interrupt line (the PLIC keeps its level). */
  loadState(s: VirtioBlkState): void {
    this.deviceFeaturesSel = s.deviceFeaturesSel >>> 0;
    this.driverFeaturesSel = s.driverFeaturesSel >>> 0;
    this.driverFeatures = [s.driverFeatures[0] ?? 0, s.driverFeatures[1] ?? 0];
    this.status = s.status & 0xff;
    this.interruptStatus = s.interruptStatus;
    this.queueNum = s.queueNum;
    this.queueReady = s.queueReady & 1;
    this.desc = s.desc >>> 0;
    this.avail = s.avail >>> 0;
    this.used = s.used >>> 0;
    this.lastAvail = s.lastAvail & 0xffff;
    this.queueSel = s.queueSel >>> 0;
  }

  /** Whether a disk is attached (an empty slot has no state worth saving). */
  get hasDisk(): boolean {
    return this.disk !== undefined;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset >= CONFIG) return this.readConfig(offset - CONFIG, size);
    if (size !== 4 || (offset & 3) !== 0) return Number.NaN;
    switch (offset) {
      case MAGIC:
        return MAGIC_VALUE;
      case VERSION:
        return 2;
      case DEVICE_ID:
        return this.disk === undefined ? 0 : DEVICE_BLOCK;
      case VENDOR_ID:
        return VENDOR_QEMU;
    }
    if (this.disk === undefined) return 0;
    switch (offset) {
      case DEVICE_FEATURES:
        return this.features[this.deviceFeaturesSel] ?? 0;
      case QUEUE_NUM_MAX:
        return this.queueSel === 0 ? QUEUE_SIZE : 0;
      case QUEUE_READY:
        return this.queueSel === 0 ? this.queueReady : 0;
      case INTERRUPT_STATUS:
        return this.interruptStatus;
      case STATUS:
        return this.status;
      case QUEUE_DESC_LOW:
        return this.desc >>> 0;
      case QUEUE_DRIVER_LOW:
        return this.avail >>> 0;
      case QUEUE_DEVICE_LOW:
        return this.used >>> 0;
      case CONFIG_GENERATION:
        return 0;
      default:
        return 0;
    }
  }

  /** virtio_blk_config: capacity (u64, sectors) at 0, blk_size (u32) at 20; the rest 0. */
  private readConfig(at: number, size: 1 | 2 | 4): number {
    if (this.disk === undefined) return 0;
    const config = new Uint8Array(64);
    const v = new DataView(config.buffer);
    const sectors = Math.floor(this.disk.size / SECTOR);
    v.setUint32(0, sectors >>> 0, true);
    v.setUint32(4, Math.floor(sectors / 2 ** 32), true);
    v.setUint32(20, SECTOR, true);
    if (at + size > config.length) return 0;
    return size === 1 ? config[at] : size === 2 ? v.getUint16(at, true) : v.getUint32(at, true);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (offset >= CONFIG) return true; // virtio-blk config is read-only to the driver (no WCE)
    if (size !== 4 || (offset & 3) !== 0) return false;
    if (this.disk === undefined) return true;
    const v = value >>> 0;
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
        this.queueSel = v; // one queue: others read QueueNumMax 0, and their setup is ignored
        break;
      case QUEUE_NUM:
        if (this.queueSel === 0 && v > 0 && v <= QUEUE_SIZE && (v & (v - 1)) === 0) this.queueNum = v;
        break;
      case QUEUE_READY:
        if (this.queueSel === 0) this.queueReady = v & 1;
        break;
      case QUEUE_DESC_LOW:
        if (this.queueSel === 0) this.desc = v;
        break;
      case QUEUE_DRIVER_LOW:
        if (this.queueSel === 0) this.avail = v;
        break;
      case QUEUE_DEVICE_LOW:
        if (this.queueSel === 0) this.used = v;
        break;
      case QUEUE_DESC_HIGH:
      case QUEUE_DRIVER_HIGH:
      case QUEUE_DEVICE_HIGH:
        // RAM lies below 4 GiB on this board: a non-zero high word points at nothing.
        if (v !== 0) this.fail();
        break;
      case QUEUE_NOTIFY:
        if (v === 0 && this.queueReady) this.processQueue();
        break;
      case INTERRUPT_ACK:
        this.interruptStatus &= ~v;
        if (this.interruptStatus === 0) this.irq(false);
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
      // Accept only features we offered, and insist on VERSION_1: this is not a legacy device.
      const ok =
        (this.driverFeatures[0] & ~this.features[0]) === 0 &&
        (this.driverFeatures[1] & ~this.features[1]) === 0 &&
        (this.driverFeatures[1] & (1 << (F_VERSION_1 - 32))) !== 0;
      if (!ok) v &= ~STATUS_FEATURES_OK;
    }
    this.status = v & 0xff;
  }

  private reset(): void {
    this.status = 0;
    this.driverFeatures = [0, 0];
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueNum = QUEUE_SIZE;
    this.queueReady = 0;
    this.desc = this.avail = this.used = 0;
    this.lastAvail = 0;
    this.queueSel = 0;
    if (this.interruptStatus !== 0) this.irq(false);
    this.interruptStatus = 0;
  }

  /** Something the driver set up is unusable: flag NEEDS_RESET and tell it (config change). */
  private fail(): void {
    this.status |= STATUS_NEEDS_RESET;
    this.interruptStatus |= 2;
    this.irq(true);
  }

  private u16(address: number): number | undefined {
    const b = this.dma.read(address, 2);
    return b === undefined ? undefined : b[0] | (b[1] << 8);
  }

  private processQueue(): void {
    const n = this.queueNum;
    let completed = 0;
    for (let guard = 0; guard < 65536; guard++) {
      const availIdx = this.u16(this.avail + 2);
      if (availIdx === undefined) {
        this.fail();
        return;
      }
      if (availIdx === this.lastAvail) break;
      const head = this.u16(this.avail + 4 + 2 * (this.lastAvail % n));
      if (head === undefined) {
        this.fail();
        return;
      }
      const written = this.handle(head);
      if (written === undefined) {
        this.fail();
        return;
      }
      const usedIdx = this.u16(this.used + 2);
      if (usedIdx === undefined) {
        this.fail();
        return;
      }
      const elem = new Uint8Array(8);
      const ev = new DataView(elem.buffer);
      ev.setUint32(0, head, true);
      ev.setUint32(4, written, true);
      if (!this.dma.write(this.used + 4 + 8 * (usedIdx % n), elem)) {
        this.fail();
        return;
      }
      // The element is in place before the index that publishes it.
      if (!this.dma.write(this.used + 2, Uint8Array.of((usedIdx + 1) & 0xff, ((usedIdx + 1) >> 8) & 0xff))) {
        this.fail();
        return;
      }
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
      completed++;
    }
    if (completed > 0) {
      this.interruptStatus |= 1;
      this.irq(true);
    }
  }

  /** Runs the request whose chain starts at descriptor `head`; returns the used length (undefined: broken chain). */
  private handle(head: number): number | undefined {
    const chain: { addr: number; len: number; write: boolean }[] = [];
    let i = head;
    for (let hops = 0; ; hops++) {
      if (i >= this.queueNum || hops >= this.queueNum) return undefined;
      const d = this.dma.read(this.desc + 16 * i, 16);
      if (d === undefined) return undefined;
      const v = new DataView(d.buffer, d.byteOffset, 16);
      if (v.getUint32(4, true) !== 0) return undefined;
      const flags = v.getUint16(12, true);
      if (flags & DESC_F_INDIRECT) return undefined; // not offered
      chain.push({
        addr: v.getUint32(0, true),
        len: v.getUint32(8, true),
        write: (flags & DESC_F_WRITE) !== 0,
      });
      if ((flags & DESC_F_NEXT) === 0) break;
      i = v.getUint16(14, true);
    }
    const headerDesc = chain[0];
    const statusDesc = chain[chain.length - 1];
    if (
      chain.length < 2 ||
      headerDesc.len < 16 ||
      headerDesc.write ||
      !statusDesc.write ||
      statusDesc.len < 1
    ) {
      return undefined;
    }
    const header = this.dma.read(headerDesc.addr, 16);
    if (header === undefined) return undefined;
    const hv = new DataView(header.buffer, header.byteOffset, 16);
    const type = hv.getUint32(0, true);
    const sector = hv.getUint32(8, true) + hv.getUint32(12, true) * 2 ** 32;
    const data = chain.slice(1, -1);
    let status = S_OK;
    const disk = this.disk as DiskBackend;
    let at = sector * SECTOR;
    const total = data.reduce((s, d) => s + d.len, 0);
    if (type === T_IN || type === T_OUT) {
      const wantWrite = type === T_IN;
      if (data.some((d) => d.write !== wantWrite) || total % SECTOR !== 0 || at + total > disk.size)
        status = S_IOERR;
      else if (type === T_OUT && this.options.readOnly) status = S_IOERR;
      else {
        for (const d of data) {
          if (type === T_IN) {
            if (!this.dma.write(d.addr, disk.read(at, d.len))) return undefined;
          } else {
            const bytes = this.dma.read(d.addr, d.len);
            if (bytes === undefined) return undefined;
            disk.write(at, bytes);
          }
          at += d.len;
        }
      }
    } else if (type === T_FLUSH) {
      disk.sync?.();
    } else if (type === T_GET_ID) {
      const id = new Uint8Array(Math.min(20, data[0]?.len ?? 0));
      id.set(new TextEncoder().encode(this.options.serial ?? "").subarray(0, id.length));
      if (data[0] === undefined || !data[0].write || !this.dma.write(data[0].addr, id)) status = S_IOERR;
    } else {
      status = S_UNSUPP;
    }
    if (!this.dma.write(statusDesc.addr, Uint8Array.of(status))) return undefined;
    // As QEMU: the used length is the size of every device-writable buffer, whatever the outcome.
    return chain.reduce((sum, d) => sum + (d.write ? d.len : 0), 0);
  }
}
