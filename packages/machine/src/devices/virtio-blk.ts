import type { MmioDevice } from "@amber/memory";
import { F_VERSION_1 } from "./virtio-mmio.js";
import { VirtioMmioTransport } from "./virtio-mmio-transport.js";
import type { DescriptorChain, DmaMemory } from "./virtqueue.js";

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

const DEVICE_BLOCK = 2;
/** QEMU's virtio-blk default queue size. */
/** The largest queue size the device offers (QueueNumMax). */
export const BLK_QUEUE_SIZE = 256;
const QUEUE_SIZE = BLK_QUEUE_SIZE;

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

/** virtio_blk_config as this device fills it: capacity (u64, sectors) at 0, blk_size (u32) at 20; the rest 0. */
const CONFIG_SIZE = 64;

const textEncoder = new TextEncoder();
const u32le = (b: Uint8Array, at: number): number =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/**
 * A virtio-mmio slot (QEMU `virt` has eight at 0x1000_1000 + n·0x1000). Without a disk it
 * is what QEMU shows for an empty slot: magic "virt", version 2, device id 0. With one it is
 * a virtio 1.x block device (device id 2) with a single split virtqueue of up to 256
 * entries; requests run synchronously when the driver notifies, and completion raises the
 * slot's PLIC line. The transport is `VirtioMmioTransport`; this is the block device's own
 * part: its features, its configuration and its requests.
 */
export class VirtioBlk implements MmioDevice {
  readonly size = 0x1000;
  private readonly transport: VirtioMmioTransport;
  /** The configuration space (read-only to the driver: no WCE). */
  private readonly config = new Uint8Array(CONFIG_SIZE);

  constructor(
    readonly name: string,
    private readonly disk: DiskBackend | undefined,
    private readonly dma: DmaMemory,
    irq: (level: boolean) => void,
    private readonly options: { readOnly?: boolean; serial?: string } = {},
  ) {
    let low = (1 << F_BLK_BLK_SIZE) | (1 << F_BLK_FLUSH);
    if (options.readOnly) low |= 1 << F_BLK_RO;
    if (disk !== undefined) {
      const v = new DataView(this.config.buffer);
      const sectors = Math.floor(disk.size / SECTOR);
      v.setUint32(0, sectors >>> 0, true);
      v.setUint32(4, Math.floor(sectors / 2 ** 32), true);
      v.setUint32(20, SECTOR, true);
    }
    this.transport = new VirtioMmioTransport(
      name,
      {
        deviceId: disk === undefined ? 0 : DEVICE_BLOCK,
        features: [low >>> 0, 1 << (F_VERSION_1 - 32)],
        queues: 1,
        queueSize: QUEUE_SIZE,
        readConfig: (at, size) => this.readConfig(at, size),
        writeConfig: () => {},
        handle: (_queue, chain) => this.handle(chain),
        reset: () => {},
      },
      dma,
      irq,
    );
  }

  saveState(): VirtioBlkState {
    const t = this.transport.saveState();
    return {
      deviceFeaturesSel: t.deviceFeaturesSel,
      driverFeaturesSel: t.driverFeaturesSel,
      driverFeatures: t.driverFeatures,
      status: t.status,
      interruptStatus: t.interruptStatus,
      queueNum: t.queueNum[0]!,
      queueReady: t.queueReady[0]!,
      desc: t.desc[0]!,
      avail: t.avail[0]!,
      used: t.used[0]!,
      lastAvail: t.lastAvail[0]!,
      queueSel: t.queueSel,
    };
  }

  /** Puts back what `saveState` gave, without touching the interrupt line (the PLIC keeps its level). */
  loadState(s: VirtioBlkState): void {
    this.transport.loadState({
      deviceFeaturesSel: s.deviceFeaturesSel,
      driverFeaturesSel: s.driverFeaturesSel,
      driverFeatures: s.driverFeatures,
      status: s.status,
      interruptStatus: s.interruptStatus,
      queueSel: s.queueSel,
      queueNum: Uint32Array.of(s.queueNum),
      queueReady: Uint8Array.of(s.queueReady),
      desc: Uint32Array.of(s.desc),
      avail: Uint32Array.of(s.avail),
      used: Uint32Array.of(s.used),
      lastAvail: Uint32Array.of(s.lastAvail),
      // The block device's configuration never changes.
      configGeneration: 0,
    });
  }

  /** Whether a disk is attached (an empty slot has no state worth saving). */
  get hasDisk(): boolean {
    return this.disk !== undefined;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    return this.transport.read(offset, size);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    return this.transport.write(offset, size, value);
  }

  private readConfig(at: number, size: 1 | 2 | 4): number {
    if (at + size > CONFIG_SIZE) return 0;
    const c = this.config;
    return size === 1 ? c[at]! : size === 2 ? c[at]! | (c[at + 1]! << 8) : u32le(c, at);
  }

  /**
   * Runs the request in `chain` (header, data buffers, status byte); returns the used
   * length, or undefined when the chain is not a request or its memory is not RAM.
   */
  private handle(chain: DescriptorChain): number | undefined {
    const { addr, len, writable } = chain;
    const last = chain.length - 1;
    if (last < 1 || len[0]! < 16 || writable[0] === 1 || writable[last] === 0 || len[last]! < 1) {
      return undefined;
    }
    const header = this.dma.read(addr[0]!, 16);
    if (header === undefined) return undefined;
    const type = u32le(header, 0);
    const sector = u32le(header, 8) + u32le(header, 12) * 2 ** 32;
    // The data buffers are those between the header and the status byte.
    let status = S_OK;
    const disk = this.disk as DiskBackend;
    if (type === T_IN || type === T_OUT) {
      const deviceWrites = type === T_IN ? 1 : 0;
      let total = 0;
      let mixed = false;
      for (let k = 1; k < last; k++) {
        total += len[k]!;
        if (writable[k] !== deviceWrites) mixed = true;
      }
      let at = sector * SECTOR;
      if (mixed || total % SECTOR !== 0 || at + total > disk.size) status = S_IOERR;
      else if (type === T_OUT && this.options.readOnly) status = S_IOERR;
      else {
        for (let k = 1; k < last; k++) {
          if (type === T_IN) {
            if (!this.dma.write(addr[k]!, disk.read(at, len[k]!))) return undefined;
          } else {
            const bytes = this.dma.read(addr[k]!, len[k]!);
            if (bytes === undefined) return undefined;
            disk.write(at, bytes);
          }
          at += len[k]!;
        }
      }
    } else if (type === T_FLUSH) {
      disk.sync?.();
    } else if (type === T_GET_ID) {
      const hasData = last > 1;
      const id = new Uint8Array(Math.min(20, hasData ? len[1]! : 0));
      id.set(textEncoder.encode(this.options.serial ?? "").subarray(0, id.length));
      if (!hasData || writable[1] === 0 || !this.dma.write(addr[1]!, id)) status = S_IOERR;
    } else {
      status = S_UNSUPP;
    }
    if (!this.dma.write(addr[last]!, Uint8Array.of(status))) return undefined;
    // As QEMU: the used length is the size of every device-writable buffer, whatever the outcome.
    let used = 0;
    for (let k = 0; k <= last; k++) if (writable[k] === 1) used += len[k]!;
    return used;
  }
}
