import { describe, expect, it } from "vitest";
import { type VirtioDeviceModel, VirtioMmioTransport } from "../src/devices/virtio-mmio-transport.js";
import type { DescriptorChain } from "../src/devices/virtqueue.js";
import { REG, STATUS, VirtioTestDriver } from "./support/virtio-driver.js";

/**
 * The virtio-mmio transport against the virtio 1.2 spec's register semantics (4.2.2, 4.2.3,
 * 3.1.1, 2.1, 2.7), with a made-up device behind it: what the transport does is the same
 * for the block device and the balloon, which check their own part with real drivers
 * (the disk guest, Linux).
 */
const RAM_BASE = 0x8000_0000;
const RAM_SIZE = 0x10000;
const VERSION_1 = 1; // bit 32: bit 0 of feature word 1
const F_TEST = 1 << 3;

interface Handled {
  queue: number;
  buffers: { addr: number; len: number; writable: number }[];
}

function rig(options: { deviceId?: number; queues?: number; queueSize?: number } = {}) {
  const ram = new Uint8Array(RAM_SIZE);
  const inRam = (a: number, l: number) => a >= RAM_BASE && a + l <= RAM_BASE + RAM_SIZE;
  const dma = {
    read: (a: number, l: number) => (inRam(a, l) ? ram.slice(a - RAM_BASE, a - RAM_BASE + l) : undefined),
    write: (a: number, d: Uint8Array) => {
      if (!inRam(a, d.length)) return false;
      ram.set(d, a - RAM_BASE);
      return true;
    },
  };
  const handled: Handled[] = [];
  const config = new Uint8Array(16).map((_, i) => 0xa0 + i);
  const log = { irq: false, resets: 0, configWrites: [] as [number, number, number][], usedLength: 0 };
  /** What the device does with the next chain: its used length, or undefined (unusable). */
  let next: (c: DescriptorChain) => number | undefined = () => log.usedLength;
  const model: VirtioDeviceModel = {
    deviceId: options.deviceId ?? 42,
    features: [F_TEST, VERSION_1],
    queues: options.queues ?? 2,
    queueSize: options.queueSize ?? 16,
    readConfig: (at, size) => (at + size > config.length ? 0 : read(at, size)),
    writeConfig: (at, size, value) => log.configWrites.push([at, size, value]),
    handle: (queue, chain) => {
      const buffers = Array.from({ length: chain.length }, (_, k) => ({
        addr: chain.addr[k]!,
        len: chain.len[k]!,
        writable: chain.writable[k]!,
      }));
      handled.push({ queue, buffers });
      return next(chain);
    },
    reset: () => {
      log.resets++;
    },
  };
  function read(at: number, size: 1 | 2 | 4): number {
    const v = new DataView(config.buffer);
    return size === 1 ? v.getUint8(at) : size === 2 ? v.getUint16(at, true) : v.getUint32(at, true);
  }
  const t = new VirtioMmioTransport("virtio-test", model, dma, (level) => {
    log.irq = level;
  });
  const d = new VirtioTestDriver(
    { read: (o) => t.read(o, 4) >>> 0, write: (o, v) => t.write(o, 4, v) },
    {
      read: (a, l) => ram.slice(a - RAM_BASE, a - RAM_BASE + l),
      write: (a, data) => ram.set(data, a - RAM_BASE),
    },
  );
  return {
    t,
    d,
    ram,
    handled,
    log,
    onChain: (f: typeof next) => {
      next = f;
    },
  };
}

/** A driver past feature negotiation with queue 0 (8 entries) set up and DRIVER_OK. */
function live() {
  const r = rig();
  expect(r.d.negotiate(F_TEST, VERSION_1)).toBe(true);
  r.d.setupQueue(0, 8, RAM_BASE);
  r.d.driverOk();
  return r;
}

describe("virtio-mmio transport: identification (4.2.2)", () => {
  it("reads magic 'virt', version 2, the device id and QEMU's vendor id", () => {
    const { d } = rig();
    expect(d.regs.read(REG.magic)).toBe(0x74726976);
    expect(d.regs.read(REG.version)).toBe(2);
    expect(d.regs.read(REG.deviceId)).toBe(42);
    expect(d.regs.read(REG.vendorId)).toBe(0x554d4551);
  });

  it("an empty slot (device id 0) reads 0 past the ids, ignores writes and has no configuration", () => {
    const { t, d, log } = rig({ deviceId: 0 });
    expect(d.regs.read(REG.magic)).toBe(0x74726976);
    expect(d.regs.read(REG.deviceId)).toBe(0);
    d.regs.write(REG.queueSel, 0);
    expect(d.regs.read(REG.queueNumMax)).toBe(0);
    d.regs.write(REG.status, STATUS.acknowledge);
    expect(d.regs.read(REG.status)).toBe(0);
    expect(d.deviceFeatures(1)).toBe(0);
    expect(t.read(REG.config, 1)).toBe(0);
    expect(t.write(REG.config, 4, 1)).toBe(true);
    expect(log.configWrites).toEqual([]);
  });

  it("control registers work with aligned 32-bit accesses only (others read 0, write nothing, as QEMU's); misaligned ones fault; the configuration space takes 8, 16 and 32 bits", () => {
    const { t } = rig();
    expect(t.write(REG.status, 4, 1)).toBe(true);
    expect(t.read(REG.status, 1)).toBe(0);
    expect(t.read(REG.magic, 2)).toBe(0);
    expect(t.write(REG.status, 2, 3)).toBe(true);
    expect(t.read(REG.status, 4)).toBe(1);
    expect(t.read(REG.magic + 2, 4)).toBeNaN();
    expect(t.read(REG.config + 1, 2)).toBeNaN();
    expect(t.write(REG.status + 1, 2, 1)).toBe(false);
    expect(t.read(REG.config + 1, 1)).toBe(0xa1);
    expect(t.read(REG.config + 2, 2)).toBe(0xa3a2);
    expect(t.read(REG.config + 4, 4)).toBe(0xa7a6a5a4);
    expect(t.write(REG.config + 6, 2, 0x1234)).toBe(true);
  });
});

describe("virtio-mmio transport: feature negotiation (3.1.1, 2.2)", () => {
  it("offers its features word by word through DeviceFeaturesSel; words past the second read 0", () => {
    const { d } = rig();
    expect(d.deviceFeatures(0)).toBe(F_TEST);
    expect(d.deviceFeatures(1)).toBe(VERSION_1);
    expect(d.deviceFeatures(2)).toBe(0);
  });

  it("keeps FEATURES_OK for a subset of what it offers that includes VERSION_1", () => {
    const { t, d } = rig();
    expect(d.negotiate(F_TEST, VERSION_1)).toBe(true);
    expect(t.accepted(3)).toBe(true);
    expect(t.accepted(32)).toBe(true);
    expect(t.accepted(4)).toBe(false);
    expect(d.negotiate(0, VERSION_1)).toBe(true);
    expect(t.accepted(3)).toBe(false);
  });

  it("refuses FEATURES_OK without VERSION_1 (no legacy interface) or with a feature it did not offer", () => {
    const { d } = rig();
    expect(d.negotiate(F_TEST, 0)).toBe(false);
    expect(d.regs.read(REG.status)).toBe(STATUS.acknowledge | STATUS.driver);
    expect(d.negotiate(F_TEST | (1 << 4), VERSION_1)).toBe(false);
    expect(d.negotiate(F_TEST, VERSION_1 | 2)).toBe(false);
  });

  it("ignores DriverFeatures once FEATURES_OK is set", () => {
    const { t, d } = rig();
    d.negotiate(F_TEST, VERSION_1);
    d.regs.write(REG.driverFeaturesSel, 0);
    d.regs.write(REG.driverFeatures, 0);
    expect(t.accepted(3)).toBe(true);
  });
});

describe("virtio-mmio transport: virtqueues (4.2.3.2, 2.7)", () => {
  it("QueueNumMax is the queue size for each queue and 0 past the last; QueueReady starts 0", () => {
    const { d } = rig({ queues: 2, queueSize: 16 });
    for (const [q, max] of [
      [0, 16],
      [1, 16],
      [2, 0],
    ] as const) {
      d.regs.write(REG.queueSel, q);
      expect(d.regs.read(REG.queueNumMax)).toBe(max);
      expect(d.regs.read(REG.queueReady)).toBe(0);
    }
  });

  it("sets up the selected queue only; setup of a queue past the last is ignored", () => {
    const { t, d } = rig();
    d.negotiate(F_TEST, VERSION_1);
    d.setupQueue(1, 4, RAM_BASE + 0x1000);
    d.regs.write(REG.queueSel, 1);
    expect(d.regs.read(REG.queueReady)).toBe(1);
    expect(d.regs.read(REG.queueDescLow)).toBe(RAM_BASE + 0x1000);
    d.regs.write(REG.queueSel, 0);
    expect(d.regs.read(REG.queueReady)).toBe(0);
    expect(d.regs.read(REG.queueDescLow)).toBe(0);
    d.regs.write(REG.queueSel, 5);
    d.regs.write(REG.queueReady, 1);
    d.regs.write(REG.queueDescLow, RAM_BASE);
    expect(d.regs.read(REG.queueReady)).toBe(0);
    expect(t.saveState().queueReady).toEqual(Uint8Array.of(0, 1));
  });

  it("takes only power-of-two queue sizes up to QueueNumMax", () => {
    const { t, d } = rig({ queueSize: 16 });
    d.regs.write(REG.queueSel, 0);
    for (const n of [0, 3, 32]) d.regs.write(REG.queueNum, n);
    expect(t.saveState().queueNum[0]).toBe(16);
    d.regs.write(REG.queueNum, 4);
    expect(t.saveState().queueNum[0]).toBe(4);
  });

  it("a notify hands each available chain to the device in ring order, returns each as used, and interrupts once", () => {
    const { d, handled, log, onChain } = live();
    onChain((c) => c.len[c.length - 1]!);
    const a = d.offer(0, [
      { addr: RAM_BASE + 0x800, len: 16 },
      { addr: RAM_BASE + 0x900, len: 512, write: true },
      { addr: RAM_BASE + 0xb00, len: 1, write: true },
    ]);
    const b = d.offer(0, [{ addr: RAM_BASE + 0xc00, len: 64, write: true }]);
    expect(handled).toEqual([]);
    d.notify(0);
    expect(handled).toEqual([
      {
        queue: 0,
        buffers: [
          { addr: RAM_BASE + 0x800, len: 16, writable: 0 },
          { addr: RAM_BASE + 0x900, len: 512, writable: 1 },
          { addr: RAM_BASE + 0xb00, len: 1, writable: 1 },
        ],
      },
      { queue: 0, buffers: [{ addr: RAM_BASE + 0xc00, len: 64, writable: 1 }] },
    ]);
    expect(d.used(0)).toEqual({
      idx: 2,
      ring: [
        [a, 1],
        [b, 64],
      ],
    });
    expect(d.regs.read(REG.interruptStatus)).toBe(1);
    expect(log.irq).toBe(true);
    // Nothing new: a notify uses nothing and raises nothing.
    d.ack();
    d.notify(0);
    expect(handled.length).toBe(2);
    expect(d.regs.read(REG.interruptStatus)).toBe(0);
  });

  it("the used and available indexes wrap at 2^16 over a ring of 8", () => {
    const { t, d } = live();
    const s = t.saveState();
    s.lastAvail[0] = 0xfffe;
    t.loadState(s);
    // The driver's ring indexes continue from 0xfffe too.
    d.memory.write(RAM_BASE + 16 * 8 + 2, Uint8Array.of(0xfe, 0xff)); // avail.idx
    d.adopt(0, 8, RAM_BASE);
    const used = RAM_BASE + ((16 * 8 + 6 + 2 * 8 + 3) & ~3);
    d.memory.write(used + 2, Uint8Array.of(0xfe, 0xff)); // used.idx
    for (let i = 0; i < 3; i++) d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
    d.notify(0);
    expect(d.used(0).idx).toBe(1);
    expect(t.saveState().lastAvail[0]).toBe(1);
  });

  it("a notify for a queue not ready, or past the last, does nothing", () => {
    const { d, handled } = live();
    d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
    d.notify(1);
    d.notify(7);
    expect(handled).toEqual([]);
  });
});

describe("virtio-mmio transport: interrupts and device errors (4.2.2, 2.1.2)", () => {
  it("InterruptACK clears the bits written; the line drops when none is left", () => {
    const { t, d, log } = live();
    d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
    d.notify(0);
    t.configChanged();
    expect(d.regs.read(REG.interruptStatus)).toBe(3);
    d.regs.write(REG.interruptAck, 1);
    expect(d.regs.read(REG.interruptStatus)).toBe(2);
    expect(log.irq).toBe(true);
    d.regs.write(REG.interruptAck, 2);
    expect(d.regs.read(REG.interruptStatus)).toBe(0);
    expect(log.irq).toBe(false);
  });

  for (const [what, setup] of [
    ["a ring address above 4 GiB", (r: ReturnType<typeof live>) => r.d.regs.write(REG.queueDeviceHigh, 1)],
    [
      "a chain that loops",
      (r: ReturnType<typeof live>) => {
        // Descriptor 0 chains to itself.
        r.d.memory.write(RAM_BASE, Uint8Array.of(0, 0x08, 0, 0x80, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0));
        r.d.memory.write(RAM_BASE + 16 * 8 + 2, Uint8Array.of(1, 0)); // avail.idx 1, ring[0] = 0
        r.d.notify(0);
      },
    ],
    [
      "an indirect descriptor (not offered)",
      (r: ReturnType<typeof live>) => {
        r.d.memory.write(RAM_BASE, Uint8Array.of(0, 0x08, 0, 0x80, 0, 0, 0, 0, 16, 0, 0, 0, 4, 0, 0, 0));
        r.d.memory.write(RAM_BASE + 16 * 8 + 2, Uint8Array.of(1, 0));
        r.d.notify(0);
      },
    ],
    [
      "a request the device cannot use",
      (r: ReturnType<typeof live>) => {
        r.onChain(() => undefined);
        r.d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
        r.d.notify(0);
      },
    ],
  ] as const) {
    it(`${what}: DEVICE_NEEDS_RESET and a configuration change interrupt, nothing used`, () => {
      const r = live();
      setup(r);
      expect(r.d.regs.read(REG.status) & STATUS.needsReset).toBe(STATUS.needsReset);
      expect(r.d.regs.read(REG.interruptStatus)).toBe(2);
      expect(r.log.irq).toBe(true);
      expect(r.d.used(0).idx).toBe(0);
    });
  }

  it("ConfigGeneration moves on with every configuration change; only a live device interrupts", () => {
    const { t, d, log } = rig();
    t.configChanged();
    expect(d.regs.read(REG.configGeneration)).toBe(1);
    expect(d.regs.read(REG.interruptStatus)).toBe(0);
    expect(log.irq).toBe(false);
    d.negotiate(F_TEST, VERSION_1);
    d.driverOk();
    expect(t.driverOk).toBe(true);
    t.configChanged();
    expect(d.regs.read(REG.configGeneration)).toBe(2);
    expect(d.regs.read(REG.interruptStatus)).toBe(2);
    expect(log.irq).toBe(true);
  });

  it("configuration writes reach the device with their offset into the space, size and value", () => {
    const { t, log } = rig();
    t.write(REG.config + 4, 4, 0xdeadbeef);
    t.write(REG.config + 9, 1, 0x7f);
    expect(log.configWrites).toEqual([
      [4, 4, 0xdeadbeef],
      [9, 1, 0x7f],
    ]);
  });
});

describe("virtio-mmio transport: reset (Status 0, 4.2.2.1)", () => {
  it("clears status, features, queue setup and InterruptStatus, drops the line and resets the device", () => {
    const { t, d, log } = live();
    d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
    d.notify(0);
    t.configChanged();
    d.regs.write(REG.deviceFeaturesSel, 1);
    d.regs.write(REG.queueSel, 1);
    const resets = log.resets;
    d.regs.write(REG.status, 0);
    expect(log.resets).toBe(resets + 1);
    expect(log.irq).toBe(false);
    expect(d.regs.read(REG.status)).toBe(0);
    expect(d.regs.read(REG.interruptStatus)).toBe(0);
    expect(t.accepted(32)).toBe(false);
    // ConfigGeneration is the configuration's, not the driver's: it stays.
    expect(t.saveState()).toEqual({
      deviceFeaturesSel: 0,
      driverFeaturesSel: 0,
      driverFeatures: new Uint32Array(2),
      status: 0,
      interruptStatus: 0,
      queueSel: 0,
      queueNum: Uint32Array.of(16, 16),
      queueReady: new Uint8Array(2),
      desc: new Uint32Array(2),
      avail: new Uint32Array(2),
      used: new Uint32Array(2),
      lastAvail: new Uint32Array(2),
      configGeneration: 1,
    });
  });

  it("after a reset the driver sets up fresh rings and the device starts at their first entry", () => {
    const { d, handled } = live();
    d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
    d.notify(0);
    expect(d.negotiate(F_TEST, VERSION_1)).toBe(true);
    d.setupQueue(0, 8, RAM_BASE + 0x2000);
    d.driverOk();
    d.offer(0, [{ addr: RAM_BASE + 0x900, len: 8 }]);
    d.notify(0);
    expect(handled.map((h) => h.buffers[0]!.addr)).toEqual([RAM_BASE + 0x800, RAM_BASE + 0x900]);
    expect(d.used(0).idx).toBe(1);
  });
});

describe("virtio-mmio transport: saved state", () => {
  it("a transport loaded with another's state reads the same and takes the queue up where it was", () => {
    const a = live();
    a.d.offer(0, [{ addr: RAM_BASE + 0x800, len: 4 }]);
    a.d.notify(0);
    a.d.regs.write(REG.deviceFeaturesSel, 1);
    const b = rig();
    b.ram.set(a.ram);
    b.t.loadState(a.t.saveState());
    expect(b.t.saveState()).toEqual(a.t.saveState());
    expect(b.log.irq).toBe(false); // the PLIC keeps the line's level, not the device
    for (const reg of [
      REG.deviceFeatures,
      REG.status,
      REG.interruptStatus,
      REG.queueReady,
      REG.queueDescLow,
    ]) {
      expect(b.d.regs.read(reg), `register ${reg}`).toBe(a.d.regs.read(reg));
    }
    b.d.adopt(0, 8, RAM_BASE);
    b.d.offer(0, [{ addr: RAM_BASE + 0x900, len: 4 }]);
    b.d.notify(0);
    expect(b.handled.map((h) => h.buffers[0]!.addr)).toEqual([RAM_BASE + 0x900]);
    expect(b.d.used(0).idx).toBe(2);
  });

  it("refuses a queue size it does not offer", () => {
    const { t } = rig({ queueSize: 16 });
    const s = t.saveState();
    s.queueNum[1] = 32;
    expect(() => t.loadState(s)).toThrow(RangeError);
    s.queueNum[1] = 12;
    expect(() => t.loadState(s)).toThrow(/power of two in 1..16/);
  });
});
