import type { MmioDevice } from "@amber/memory";
import type { DmaMemory } from "./virtio-blk.js";
import {
  CONFIG,
  CONFIG_GENERATION,
  DESC_F_INDIRECT,
  DESC_F_NEXT,
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
  STATUS_FEATURES_OK,
  STATUS_NEEDS_RESET,
  VENDOR_ID,
  VENDOR_QEMU,
  VERSION,
} from "./virtio-mmio.js";

/** Guest memory as the balloon sees it: DMA plus dropping pages. */
export interface BalloonMemory extends DmaMemory {
  /**
   * Drops the content of the 4 KiB pages wholly inside [address, address + length): they read
   * as zero afterwards and a saved image omits them. Returns how many pages held anything
   * (the others were already blank), or undefined when the range is not all RAM.
   */
  discard(address: number, length: number): number | undefined;
}

export const DEVICE_BALLOON = 5;
/** QEMU's virtio-balloon queue size (Linux needs at least 32 for the reporting queue). */
const QUEUE_SIZE = 128;
/** virtio_balloon_config: num_pages (u32, the device's target) at 0, actual (u32, the driver's) at 4. */
const CONFIG_SIZE = 8;
/** Page size of the inflate and deflate queues' page frame numbers (VIRTIO_BALLOON_PFN_SHIFT). */
const PFN_SHIFT = 12;

/** VIRTIO_BALLOON_F_REPORTING: free page reporting through the reporting queue. */
export const F_BALLOON_REPORTING = 5;

/**
 * The queues (inflate is 0), numbered as Linux's and QEMU's drivers and devices do: the present queues
 * consecutively. statsq (F_STATS_VQ) and free_page_vq (F_FREE_PAGE_HINT) are not offered,
 * so reporting_vq is queue 2.
 */
const DEFLATE = 1;
const REPORTING = 2;
export const BALLOON_QUEUES = 3;

/** The balloon's transport, queues and counters (what `saveState` gives and `loadState` takes). */
export interface VirtioBalloonState {
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  /** The two 32-bit words of the features the driver accepted. */
  driverFeatures: Uint32Array;
  status: number;
  interruptStatus: number;
  queueSel: number;
  /** Per queue (inflate, deflate, reporting): size, ready, ring addresses, next available index. */
  queueNum: Uint32Array;
  queueReady: Uint8Array;
  desc: Uint32Array;
  avail: Uint32Array;
  used: Uint32Array;
  lastAvail: Uint32Array;
  /** The device's target size in 4 KiB pages (config num_pages). */
  numPages: number;
  /** The driver's balloon size in 4 KiB pages (config actual). */
  actual: number;
  configGeneration: number;
  /** Pages dropped because the guest reported them free (pages that held data). */
  reportedPages: number;
  /** Pages dropped because the guest gave them to the balloon (inflate). */
  inflatedPages: number;
}

/**
 * A virtio 1.x memory balloon device (device id 5) over virtio-mmio, offering free page
 * reporting (VIRTIO_BALLOON_F_REPORTING): the driver hands the device ranges of free
 * guest memory on the reporting queue and the device drops them, so they read as zero and
 * cost nothing in a saved image (the spec leaves their content undefined after reporting).
 * The inflate queue works as the spec says (pages given to the balloon are dropped too);
 * the host asks for pages only through `setTarget` (num_pages is 0 otherwise). Requests run
 * synchronously when the driver notifies; completion raises the slot's PLIC line.
 */
export class VirtioBalloon implements MmioDevice {
  readonly size = 0x1000;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = [0, 0];
  private status = 0;
  private interruptStatus = 0;
  private queueSel = 0;
  private readonly queueNum = new Uint32Array(BALLOON_QUEUES).fill(QUEUE_SIZE);
  private readonly queueReady = new Uint8Array(BALLOON_QUEUES);
  private readonly desc = new Uint32Array(BALLOON_QUEUES);
  private readonly avail = new Uint32Array(BALLOON_QUEUES);
  private readonly used = new Uint32Array(BALLOON_QUEUES);
  private readonly lastAvail = new Uint32Array(BALLOON_QUEUES);
  private numPages = 0;
  private actual = 0;
  private configGeneration = 0;
  /** Pages dropped because the guest reported them free. */
  reportedPages = 0;
  /** Pages dropped because the guest inflated the balloon with them. */
  inflatedPages = 0;
  private readonly features = [1 << F_BALLOON_REPORTING, 1 << (F_VERSION_1 - 32)];

  constructor(
    readonly name: string,
    private readonly memory: BalloonMemory,
    private readonly irq: (level: boolean) => void,
  ) {}

  /** Whether the driver accepted free page reporting and the device is live (DRIVER_OK). */
  get reporting(): boolean {
    return (this.driverFeatures[0]! & (1 << F_BALLOON_REPORTING)) !== 0 && (this.status & 4) !== 0;
  }

  /** The driver's balloon size in 4 KiB pages (what it last wrote to `actual`). */
  get balloonPages(): number {
    return this.actual;
  }

  /**
   * Asks the guest to hold `pages` 4 KiB pages in the balloon (num_pages; a configuration
   * change interrupt tells the driver). Pages it inflates with are dropped like reported ones.
   */
  setTarget(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffff_ffff) {
      throw new RangeError(`balloon target ${pages} is not a page count`);
    }
    this.numPages = pages;
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if ((this.status & 4) !== 0) {
      this.interruptStatus |= INT_CONFIG_CHANGE;
      this.irq(true);
    }
  }

  saveState(): VirtioBalloonState {
    return {
      deviceFeaturesSel: this.deviceFeaturesSel >>> 0,
      driverFeaturesSel: this.driverFeaturesSel >>> 0,
      driverFeatures: Uint32Array.from(this.driverFeatures, (v) => v >>> 0),
      status: this.status,
      interruptStatus: this.interruptStatus,
      queueSel: this.queueSel >>> 0,
      queueNum: this.queueNum.slice(),
      queueReady: this.queueReady.slice(),
      desc: this.desc.slice(),
      avail: this.avail.slice(),
      used: this.used.slice(),
      lastAvail: this.lastAvail.slice(),
      numPages: this.numPages,
      actual: this.actual,
      configGeneration: this.configGeneration,
      reportedPages: this.reportedPages,
      inflatedPages: this.inflatedPages,
    };
  }

  /** Puts back what `saveState` gave, without touching the interrupt line (the PLIC keeps its level). */
  loadState(s: VirtioBalloonState): void {
    this.deviceFeaturesSel = s.deviceFeaturesSel >>> 0;
    this.driverFeaturesSel = s.driverFeaturesSel >>> 0;
    this.driverFeatures = [s.driverFeatures[0] ?? 0, s.driverFeatures[1] ?? 0];
    this.status = s.status & 0xff;
    this.interruptStatus = s.interruptStatus & 3;
    this.queueSel = s.queueSel >>> 0;
    this.queueNum.set(s.queueNum);
    this.queueReady.set(s.queueReady);
    this.desc.set(s.desc);
    this.avail.set(s.avail);
    this.used.set(s.used);
    this.lastAvail.set(s.lastAvail);
    this.numPages = s.numPages >>> 0;
    this.actual = s.actual >>> 0;
    this.configGeneration = s.configGeneration >>> 0;
    this.reportedPages = s.reportedPages;
    this.inflatedPages = s.inflatedPages;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset >= CONFIG) return this.readConfig(offset - CONFIG, size);
    if (size !== 4 || (offset & 3) !== 0) return Number.NaN;
    const q = this.queueSel < BALLOON_QUEUES ? this.queueSel : -1;
    switch (offset) {
      case MAGIC:
        return MAGIC_VALUE;
      case VERSION:
        return 2;
      case DEVICE_ID:
        return DEVICE_BALLOON;
      case VENDOR_ID:
        return VENDOR_QEMU;
      case DEVICE_FEATURES:
        return this.features[this.deviceFeaturesSel] ?? 0;
      case QUEUE_NUM_MAX:
        return q < 0 ? 0 : QUEUE_SIZE;
      case QUEUE_READY:
        return q < 0 ? 0 : this.queueReady[q]!;
      case INTERRUPT_STATUS:
        return this.interruptStatus;
      case STATUS:
        return this.status;
      case QUEUE_DESC_LOW:
        return q < 0 ? 0 : this.desc[q]!;
      case QUEUE_DRIVER_LOW:
        return q < 0 ? 0 : this.avail[q]!;
      case QUEUE_DEVICE_LOW:
        return q < 0 ? 0 : this.used[q]!;
      case CONFIG_GENERATION:
        return this.configGeneration;
      default:
        return 0;
    }
  }

  private configBytes(): Uint8Array {
    const config = new Uint8Array(CONFIG_SIZE);
    const v = new DataView(config.buffer);
    v.setUint32(0, this.numPages, true);
    v.setUint32(4, this.actual, true);
    return config;
  }

  private readConfig(at: number, size: 1 | 2 | 4): number {
    if (at + size > CONFIG_SIZE) return 0;
    const v = new DataView(this.configBytes().buffer);
    return size === 1 ? v.getUint8(at) : size === 2 ? v.getUint16(at, true) : v.getUint32(at, true);
  }

  /** The driver writes `actual` (bytes 4..7); num_pages is the device's. */
  private writeConfig(at: number, size: 1 | 2 | 4, value: number): void {
    if (at < 4 || at + size > CONFIG_SIZE) return;
    const config = this.configBytes();
    const v = new DataView(config.buffer);
    if (size === 1) v.setUint8(at, value & 0xff);
    else if (size === 2) v.setUint16(at, value & 0xffff, true);
    else v.setUint32(at, value >>> 0, true);
    this.actual = v.getUint32(4, true);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (offset >= CONFIG) {
      this.writeConfig(offset - CONFIG, size, value);
      return true;
    }
    if (size !== 4 || (offset & 3) !== 0) return false;
    const v = value >>> 0;
    const q = this.queueSel < BALLOON_QUEUES ? this.queueSel : -1;
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
        this.queueSel = v; // queues past the last read QueueNumMax 0; their setup is ignored
        break;
      case QUEUE_NUM:
        if (q >= 0 && v > 0 && v <= QUEUE_SIZE && (v & (v - 1)) === 0) this.queueNum[q] = v;
        break;
      case QUEUE_READY:
        if (q >= 0) this.queueReady[q] = v & 1;
        break;
      case QUEUE_DESC_LOW:
        if (q >= 0) this.desc[q] = v;
        break;
      case QUEUE_DRIVER_LOW:
        if (q >= 0) this.avail[q] = v;
        break;
      case QUEUE_DEVICE_LOW:
        if (q >= 0) this.used[q] = v;
        break;
      case QUEUE_DESC_HIGH:
      case QUEUE_DRIVER_HIGH:
      case QUEUE_DEVICE_HIGH:
        // RAM lies below 4 GiB on this board: a non-zero high word points at nothing.
        if (v !== 0) this.fail();
        break;
      case QUEUE_NOTIFY:
        if (v < BALLOON_QUEUES && this.queueReady[v] === 1) this.processQueue(v);
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
        (this.driverFeatures[0]! & ~this.features[0]!) === 0 &&
        (this.driverFeatures[1]! & ~this.features[1]!) === 0 &&
        (this.driverFeatures[1]! & (1 << (F_VERSION_1 - 32))) !== 0;
      if (!ok) v &= ~STATUS_FEATURES_OK;
    }
    this.status = v & 0xff;
  }

  /** A device reset: the transport and queues; the target and the counters stay (they are the host's). */
  private reset(): void {
    this.status = 0;
    this.driverFeatures = [0, 0];
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueSel = 0;
    this.queueNum.fill(QUEUE_SIZE);
    this.queueReady.fill(0);
    this.desc.fill(0);
    this.avail.fill(0);
    this.used.fill(0);
    this.lastAvail.fill(0);
    this.actual = 0;
    if (this.interruptStatus !== 0) this.irq(false);
    this.interruptStatus = 0;
  }

  /** Something the driver set up is unusable: flag NEEDS_RESET and tell it (config change). */
  private fail(): void {
    this.status |= STATUS_NEEDS_RESET;
    this.interruptStatus |= INT_CONFIG_CHANGE;
    this.irq(true);
  }

  private u16(address: number): number | undefined {
    const b = this.memory.read(address, 2);
    return b === undefined ? undefined : b[0]! | (b[1]! << 8);
  }

  /** Takes every buffer the driver made available on queue `q`, handles it and returns it as used. */
  private processQueue(q: number): void {
    let completed = 0;
    for (let guard = 0; guard < 65536; guard++) {
      const taken = this.takeOne(q);
      if (taken === undefined) {
        this.fail();
        return;
      }
      if (!taken) break;
      completed++;
    }
    if (completed > 0) {
      this.interruptStatus |= INT_USED_BUFFER;
      this.irq(true);
    }
  }

  /** Handles the next available buffer of queue `q`: false when there is none, undefined when it is unusable. */
  private takeOne(q: number): boolean | undefined {
    const n = this.queueNum[q]!;
    const avail = this.avail[q]!;
    const used = this.used[q]!;
    const availIdx = this.u16(avail + 2);
    if (availIdx === undefined) return undefined;
    const last = this.lastAvail[q]!;
    if (availIdx === last) return false;
    const head = this.u16(avail + 4 + 2 * (last % n));
    if (head === undefined) return undefined;
    const chain = this.chain(q, head);
    if (chain === undefined) return undefined;
    for (const d of chain) {
      // Deflate: the pages come back to the guest; without MUST_TELL_HOST there is nothing to do.
      const ok =
        q === REPORTING ? this.report(d.addr, d.len) : q === DEFLATE ? true : this.inflate(d.addr, d.len);
      if (!ok) return undefined;
    }
    const usedIdx = this.u16(used + 2);
    if (usedIdx === undefined) return undefined;
    // The used length is what the device wrote into the buffers: nothing, on every queue.
    const elem = new Uint8Array(8);
    new DataView(elem.buffer).setUint32(0, head, true);
    if (!this.memory.write(used + 4 + 8 * (usedIdx % n), elem)) return undefined;
    // The element is in place before the index that publishes it.
    const next = (usedIdx + 1) & 0xffff;
    if (!this.memory.write(used + 2, Uint8Array.of(next & 0xff, next >> 8))) return undefined;
    this.lastAvail[q] = (last + 1) & 0xffff;
    return true;
  }

  /** The descriptors of the chain starting at `head` (undefined: a broken chain). */
  private chain(q: number, head: number): { addr: number; len: number }[] | undefined {
    const out: { addr: number; len: number }[] = [];
    const n = this.queueNum[q]!;
    let i = head;
    for (let hops = 0; ; hops++) {
      if (i >= n || hops >= n) return undefined;
      const d = this.memory.read(this.desc[q]! + 16 * i, 16);
      if (d === undefined) return undefined;
      const v = new DataView(d.buffer, d.byteOffset, 16);
      if (v.getUint32(4, true) !== 0) return undefined;
      const flags = v.getUint16(12, true);
      if (flags & DESC_F_INDIRECT) return undefined; // not offered
      out.push({ addr: v.getUint32(0, true), len: v.getUint32(8, true) });
      if ((flags & DESC_F_NEXT) === 0) return out;
      i = v.getUint16(14, true);
    }
  }

  /** A reported range of free memory: drop its pages. */
  private report(addr: number, len: number): boolean {
    const dropped = this.memory.discard(addr, len);
    if (dropped === undefined) return false;
    this.reportedPages += dropped;
    return true;
  }

  /** Page frame numbers (u32, 4 KiB frames) the guest put in the balloon: drop those pages. */
  private inflate(addr: number, len: number): boolean {
    const pfns = this.memory.read(addr, len & ~3);
    if (pfns === undefined) return false;
    const v = new DataView(pfns.buffer, pfns.byteOffset, pfns.length);
    for (let at = 0; at < pfns.length; at += 4) {
      const dropped = this.memory.discard(v.getUint32(at, true) * 2 ** PFN_SHIFT, 1 << PFN_SHIFT);
      if (dropped === undefined) return false;
      this.inflatedPages += dropped;
    }
    return true;
  }
}
