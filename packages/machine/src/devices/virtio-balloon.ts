import type { MmioDevice } from "@amber/memory";
import { F_VERSION_1 } from "./virtio-mmio.js";
import { type VirtioMmioState, VirtioMmioTransport } from "./virtio-mmio-transport.js";
import type { DescriptorChain, DmaMemory } from "./virtqueue.js";

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
/** The largest queue size each balloon queue offers (QueueNumMax). */
export const BALLOON_QUEUE_SIZE = 128;
const QUEUE_SIZE = BALLOON_QUEUE_SIZE;
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

/**
 * The balloon's transport and queues (inflate, deflate, reporting), its configuration and
 * counters (what `saveState` gives and `loadState` takes).
 */
export interface VirtioBalloonState extends VirtioMmioState {
  /** The device's target size in 4 KiB pages (config num_pages). */
  numPages: number;
  /** The driver's balloon size in 4 KiB pages (config actual). */
  actual: number;
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
 * synchronously when the driver notifies; completion raises the slot's PLIC line. The
 * transport is `VirtioMmioTransport`; this is the balloon's own part: its queues' meaning,
 * its configuration (target and actual size) and its counters.
 */
export class VirtioBalloon implements MmioDevice {
  readonly size = 0x1000;
  private readonly transport: VirtioMmioTransport;
  private numPages = 0;
  private actual = 0;
  /** Pages dropped because the guest reported them free. */
  reportedPages = 0;
  /** Pages dropped because the guest inflated the balloon with them. */
  inflatedPages = 0;

  constructor(
    readonly name: string,
    private readonly memory: BalloonMemory,
    irq: (level: boolean) => void,
  ) {
    this.transport = new VirtioMmioTransport(
      name,
      {
        deviceId: DEVICE_BALLOON,
        features: [1 << F_BALLOON_REPORTING, 1 << (F_VERSION_1 - 32)],
        queues: BALLOON_QUEUES,
        queueSize: QUEUE_SIZE,
        readConfig: (at, size) => this.readConfig(at, size),
        writeConfig: (at, size, value) => this.writeConfig(at, size, value),
        handle: (queue, chain) => this.handle(queue, chain),
        // The driver's balloon is gone; the target and the counters stay (they are the host's).
        reset: () => {
          this.actual = 0;
        },
      },
      memory,
      irq,
    );
  }

  /** Whether the driver accepted free page reporting and the device is live (DRIVER_OK). */
  get reporting(): boolean {
    return this.transport.accepted(F_BALLOON_REPORTING) && this.transport.driverOk;
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
    this.transport.configChanged();
  }

  saveState(): VirtioBalloonState {
    const t = this.transport.saveState();
    return {
      deviceFeaturesSel: t.deviceFeaturesSel,
      driverFeaturesSel: t.driverFeaturesSel,
      driverFeatures: t.driverFeatures,
      status: t.status,
      interruptStatus: t.interruptStatus,
      queueSel: t.queueSel,
      queueNum: t.queueNum,
      queueReady: t.queueReady,
      desc: t.desc,
      avail: t.avail,
      used: t.used,
      lastAvail: t.lastAvail,
      numPages: this.numPages,
      actual: this.actual,
      configGeneration: t.configGeneration,
      reportedPages: this.reportedPages,
      inflatedPages: this.inflatedPages,
    };
  }

  /** Puts back what `saveState` gave, without touching the interrupt line (the PLIC keeps its level). */
  loadState(s: VirtioBalloonState): void {
    this.transport.loadState(s);
    this.numPages = s.numPages >>> 0;
    this.actual = s.actual >>> 0;
    this.reportedPages = s.reportedPages;
    this.inflatedPages = s.inflatedPages;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    return this.transport.read(offset, size);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    return this.transport.write(offset, size, value);
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

  /**
   * A chain on queue `queue`: its buffers are page frame numbers (inflate), pages given back
   * (deflate) or free memory (reporting). The device writes nothing into them: used length 0.
   */
  private handle(queue: number, chain: DescriptorChain): number | undefined {
    for (let k = 0; k < chain.length; k++) {
      const addr = chain.addr[k]!;
      const len = chain.len[k]!;
      // Deflate: the pages come back to the guest; without MUST_TELL_HOST there is nothing to do.
      const ok =
        queue === REPORTING ? this.report(addr, len) : queue === DEFLATE ? true : this.inflate(addr, len);
      if (!ok) return undefined;
    }
    return 0;
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
