import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BALLOON_SLOT, CapturedIo, type DiskBackend, Machine, VIRT } from "../../src/index.js";
import { VirtioTestDriver } from "./virtio-driver.js";

/**
 * A machine whose two virtio devices are both mid-use, for checking that their saved
 * sections stay byte for byte what they were: the disk guest (tools/guests/src/disk.c) in
 * virtio slot 0 stopped after its write request (queue of 8 set up, four requests used, an
 * interrupt pending, a disk page written), and the balloon in slot 7 driven from here as
 * Linux's driver would: VERSION_1 and REPORTING accepted, its three queues set up with
 * 16, 32 and 64 entries, a target of 2 pages, two pages inflated, 16 KiB reported, both
 * interrupts pending, QueueSel and DeviceFeaturesSel left at non-zero values.
 *
 * `fixtures/make-virtio-fixture.ts` saved it with the device code of main before the
 * transport was shared (commit 1835ad0) as `fixtures/virtio-1835ad0.ambc`.
 */
const OUT = fileURLToPath(new URL("../../../../tools/guests/out/", import.meta.url));
export const DISK_IMG = new Uint8Array(readFileSync(`${OUT}disk.img`));
export const DISK_ELF = readFileSync(`${OUT}rv32imac/disk.elf`);
/** What the disk guest prints on QEMU (the oracle). */
export const DISK_STDOUT = readFileSync(`${OUT}rv32imac/disk.stdout`, "utf8");

/** Steps of the disk guest before the save: past its write of sector 5, before its read-back. */
export const SCENARIO_STEPS = 55_000;
/** Guest RAM the disk guest leaves alone (it lives in the first and last pages of its 128 MiB). */
const SCRATCH = 0x8400_0000;
export const BALLOON_QUEUE_LAYOUT = [
  { q: 0, size: 16, base: SCRATCH },
  { q: 1, size: 32, base: SCRATCH + 0x1000 },
  { q: 2, size: 64, base: SCRATCH + 0x2000 },
] as const;
const PFN_LIST = SCRATCH + 0x4000;
const INFLATED = SCRATCH + 0x10000;
const REPORTED = SCRATCH + 0x20000;

/** A disk held in a copy of `base`, written in place. */
export function copyDisk(base: Uint8Array): DiskBackend & { bytes: Uint8Array } {
  const bytes = base.slice();
  return {
    bytes,
    size: bytes.length,
    read: (o, l) => bytes.slice(o, o + l),
    write: (o, d) => bytes.set(d, o),
  };
}

/** A test driver for the balloon of machine `m`. */
export function balloonDriver(m: Machine): VirtioTestDriver {
  const slot = VIRT.virtio.base + BALLOON_SLOT * VIRT.virtio.size;
  return new VirtioTestDriver(
    {
      read: (offset) => m.bus.load(slot + offset, 4) >>> 0,
      write: (offset, value) => m.bus.store(slot + offset, 4, value),
    },
    {
      read: (address, length) => m.ram.readBytes(address - m.ram.base, length),
      write: (address, data) => m.ram.writeBytes(address - m.ram.base, data),
    },
  );
}

export function virtioScenario(): { machine: Machine; io: CapturedIo } {
  const io = new CapturedIo();
  const machine = new Machine({
    io,
    disks: [{ backend: copyDisk(DISK_IMG), source: "disk.img", format: "raw" }],
    balloon: true,
  });
  machine.loadElf(DISK_ELF, "disk.elf");
  const outcome = machine.run(SCENARIO_STEPS);
  if (outcome.kind !== "budget") throw new Error(`the disk guest stopped early: ${JSON.stringify(outcome)}`);

  const d = balloonDriver(machine);
  if (!d.negotiate(1 << 5, 1)) throw new Error("the balloon refused VERSION_1 and REPORTING");
  for (const { q, size, base } of BALLOON_QUEUE_LAYOUT) d.setupQueue(q, size, base);
  d.driverOk();
  machine.bus.store(VIRT.virtio.base + BALLOON_SLOT * VIRT.virtio.size + 0x104, 4, 2); // config `actual`
  machine.balloon!.setTarget(2);
  const page = (seed: number) => new Uint8Array(4096).fill(seed);
  machine.ram.writeBytes(INFLATED - machine.ram.base, page(0x11));
  machine.ram.writeBytes(INFLATED + 0x1000 - machine.ram.base, page(0x22));
  const pfns = new Uint8Array(8);
  new DataView(pfns.buffer).setUint32(0, INFLATED / 4096, true);
  new DataView(pfns.buffer).setUint32(4, INFLATED / 4096 + 1, true);
  machine.ram.writeBytes(PFN_LIST - machine.ram.base, pfns);
  d.offer(0, [{ addr: PFN_LIST, len: 8 }]);
  d.notify(0);
  for (let i = 0; i < 4; i++)
    machine.ram.writeBytes(REPORTED + i * 0x1000 - machine.ram.base, page(0x33 + i));
  d.offer(2, [{ addr: REPORTED, len: 0x4000, write: true }]);
  d.notify(2);
  d.deviceFeatures(1);
  return { machine, io };
}

/** The disk guest's exit status on QEMU. */
export const DISK_EXIT = Number(readFileSync(`${OUT}rv32imac/disk.exit`, "utf8"));
/** Where the scenario listed the page frames it inflated the balloon with. */
export const SCENARIO_PFN_LIST = PFN_LIST;

/**
 * The two devices' part of `captureState()` as replay logs hash it (`amber replay`'s
 * stateSha256: JSON with typed arrays as arrays, keys in the order the state gives them).
 */
export function devicesStateJson(m: Machine): string {
  const s = m.captureState();
  return JSON.stringify({ virtio0: s.virtio[0]?.device, balloon: s.balloon }, (_k, v: unknown) =>
    v instanceof Uint8Array || v instanceof Int32Array || v instanceof Uint32Array ? Array.from(v) : v,
  );
}
