import type { FieldRecord, SectionInput, SectionSpec } from "@amber/checkpoint";
import { TDATA1_RESET, TRIGGER_COUNT } from "@amber/isa";
import { upgradePlicStateV1 } from "./devices/plic.js";
import type { VirtioBalloonState } from "./devices/virtio-balloon.js";
import { CSR_FIELDS, type MachineState } from "./machine-state.js";

// The machine's state as a checkpoint holds it: the header's machine string, the sections'
// names, versions and defaults for older versions, and the state written as sections.

/** The `machine` string of the header of every checkpoint of this board. */
export const CHECKPOINT_MACHINE = "riscv32-virt";
/** Name of the memory segment holding RAM. */
export const RAM_SEGMENT = "ram";

/**
 * The sections of a checkpoint and the version this code writes and reads. A field
 * added later gets a default in `SECTION_SPECS` and a version bump, never a new position.
 */
export const SECTION_VERSIONS = {
  machine: 1,
  hart0: 1,
  /** Version 2 added the debug triggers (tselect, tdata1, tdata2); version 1 images get them at reset. */
  csr0: 2,
  clint: 1,
  /**
   * 2: requests latch until claimed, also while claimed (QEMU's gateway), so `pending` and
   * `claimed` may both be 1; a version-1 reader would offer such a source twice, hence
   * minimum version 2 (`SECTION_MIN_VERSIONS`). Version 1 images are upgraded on reading.
   */
  plic: 2,
  uart0: 1,
  /** 2: `cmdlineRead` (a world of version 1 reads as having read it: arguments go to the console). */
  semihosting: 2,
} as const;
export type SectionName = keyof typeof SECTION_VERSIONS;

/**
 * Version of the `virtio<i>` sections, one per virtio-mmio slot that holds a disk (empty
 * slots have none): the device's registers and queue state and the disk's reference (see
 * `VirtioDiskState`). The disk's written pages are the `disk<i>` segment.
 */
export const VIRTIO_SECTION_VERSION = 1;
/** The virtio-mmio slots of the board (QEMU virt's eight). */
export const VIRTIO_SLOTS = 8;
export const virtioSectionName = (slot: number): string => `virtio${slot}`;
/** Name of the segment holding the pages the guest wrote to the disk in virtio slot `slot`. */
export const diskSegmentName = (slot: number): string => `disk${slot}`;

/** The minimum version written, where a version changed a field's meaning (older readers would misread it). */
const SECTION_MIN_VERSIONS: Partial<Record<SectionName, number>> = { plic: 2 };

/** How a section of an older version reads as the current one, where defaults are not enough. */
const SECTION_UPGRADES: Partial<Record<SectionName, (fields: FieldRecord, from: number) => FieldRecord>> = {
  plic: (fields, from) => (from < 2 ? upgradePlicStateV1(fields) : fields),
};

/** Fields an older version of a section did not have, as they are at reset (or as an older writer meant them). */
const SECTION_DEFAULTS: Partial<Record<SectionName, FieldRecord>> = {
  csr0: {
    tselect: 0,
    tdata1: new Uint32Array(TRIGGER_COUNT).fill(TDATA1_RESET),
    tdata2: new Uint32Array(TRIGGER_COUNT),
  },
  semihosting: { cmdlineRead: true },
};

/**
 * Version of the `balloon` section, present when the machine has the memory balloon
 * (`MachineOptions.balloon`): its transport, queues, target and counters.
 */
export const BALLOON_SECTION_VERSION = 1;
export const BALLOON_SECTION = "balloon";

export const SECTION_SPECS: SectionSpec[] = [
  { name: BALLOON_SECTION, version: BALLOON_SECTION_VERSION, minVersion: 1 },
  ...Object.entries(SECTION_VERSIONS).map(([name, version]) => ({
    name,
    version,
    minVersion: 1,
    defaults: SECTION_DEFAULTS[name as SectionName],
    upgrade: SECTION_UPGRADES[name as SectionName],
  })),
  ...Array.from({ length: VIRTIO_SLOTS }, (_, i) => ({
    name: virtioSectionName(i),
    version: VIRTIO_SECTION_VERSION,
    minVersion: 1,
  })),
];

const section = (name: SectionName, fields: FieldRecord): SectionInput => ({
  name,
  version: SECTION_VERSIONS[name],
  minVersion: SECTION_MIN_VERSIONS[name] ?? 1,
  fields,
});

/** The state as named, versioned sections with fields by name. */
export function stateToSections(s: MachineState): SectionInput[] {
  const b = s.board;
  const csr: FieldRecord = {};
  for (const k of CSR_FIELDS) csr[k] = s.csr[k];
  csr.pmpcfg = s.csr.pmpcfg.slice();
  csr.pmpaddr = s.csr.pmpaddr.slice();
  csr.tselect = s.csr.tselect;
  csr.tdata1 = s.csr.tdata1.slice();
  csr.tdata2 = s.csr.tdata2.slice();
  return [
    section("machine", {
      ramSize: b.ramSize,
      cmdline: b.cmdline,
      hasBootargs: b.bootargs !== undefined,
      bootargs: b.bootargs ?? "",
      instructionsPerSecond: b.instructionsPerSecond,
      exited: b.exitCode !== undefined,
      exitCode: b.exitCode ?? 0,
      resetPending: b.resetPending,
      idleCycles: b.idleCycles,
      imageEnd: b.imageEnd,
      fdtAddress: b.fdtAddress,
      hasInitrd: b.initrd !== undefined,
      initrdStart: b.initrd?.start ?? 0,
      initrdEnd: b.initrd?.end ?? 0,
      // The boot ROM is 60 KiB of which QEMU's reset code uses 64 bytes: store up to the last non-zero byte.
      mrom: b.mrom.slice(0, usedLength(b.mrom)),
    }),
    section("hart0", {
      x: s.hart.x.slice(),
      pc: s.hart.pc >>> 0,
      priv: s.hart.priv,
      steps: s.hart.steps,
      traps: s.hart.traps,
      reservation: s.hart.reservation,
      reserved: s.hart.reserved,
    }),
    section("csr0", csr),
    section("clint", { ...s.clint }),
    section("plic", { ...s.plic }),
    section("uart0", { ...s.uart }),
    section("semihosting", {
      handles: s.semihosting.handles.map((h) => ({ ...h })),
      nextHandle: s.semihosting.nextHandle,
      errno: s.semihosting.errno,
      cmdlineRead: s.semihosting.cmdlineRead,
    }),
    ...(s.balloon === undefined
      ? []
      : [
          {
            name: BALLOON_SECTION,
            version: BALLOON_SECTION_VERSION,
            minVersion: 1,
            fields: balloonFields(s.balloon),
          },
        ]),
    ...s.virtio.flatMap((v, i) =>
      v === undefined
        ? []
        : [
            {
              name: virtioSectionName(i),
              version: VIRTIO_SECTION_VERSION,
              minVersion: 1,
              fields: {
                ...v.device,
                driverFeatures: v.device.driverFeatures.slice(),
                diskSource: v.disk.source,
                diskFormat: v.disk.format,
                diskSize: v.disk.size,
                diskFingerprint: v.disk.fingerprint,
                diskReadOnly: v.disk.readOnly,
                diskWritten: v.disk.written.slice(),
              },
            },
          ],
    ),
  ];
}

function balloonFields(b: VirtioBalloonState): FieldRecord {
  return {
    ...b,
    driverFeatures: b.driverFeatures.slice(),
    queueNum: b.queueNum.slice(),
    queueReady: b.queueReady.slice(),
    desc: b.desc.slice(),
    avail: b.avail.slice(),
    used: b.used.slice(),
    lastAvail: b.lastAvail.slice(),
  };
}

/** Bytes up to and including the last non-zero one. */
function usedLength(bytes: Uint8Array): number {
  let n = bytes.length;
  while (n > 0 && bytes[n - 1] === 0) n--;
  return n;
}
