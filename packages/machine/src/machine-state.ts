import type { CheckpointReader, FieldRecord, FieldValue, SectionInput, SectionSpec } from "@amber/checkpoint";
import type { Privilege } from "@amber/isa";
import type { ClintState } from "./devices/clint.js";
import type { PlicState } from "./devices/plic.js";
import type { UartState } from "./devices/uart16550.js";
import type { VirtioBlkState } from "./devices/virtio-blk.js";
import { MachineError } from "./machine-error.js";
import type { SemihostingState } from "./semihosting.js";

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
  csr0: 1,
  clint: 1,
  plic: 1,
  uart0: 1,
  semihosting: 1,
} as const;
export type SectionName = keyof typeof SECTION_VERSIONS;

/**
 * Version of the `virtio<i>` sections, one per virtio-mmio slot that holds a disk (empty
 * slots have none): the device's registers and queue state and the disk's reference (see
 * `VirtioDiskState`). The disk's written pages are the `disk<i>` segment.
 */
export const VIRTIO_SECTION_VERSION = 1;
/** The virtio-mmio slots of the board (QEMU virt's eight). */
const VIRTIO_SLOTS = 8;
export const virtioSectionName = (slot: number): string => `virtio${slot}`;
/** Name of the segment holding the pages the guest wrote to the disk in virtio slot `slot`. */
export const diskSegmentName = (slot: number): string => `disk${slot}`;

export const SECTION_SPECS: SectionSpec[] = [
  ...Object.entries(SECTION_VERSIONS).map(([name, version]) => ({ name, version, minVersion: 1 })),
  ...Array.from({ length: VIRTIO_SLOTS }, (_, i) => ({
    name: virtioSectionName(i),
    version: VIRTIO_SECTION_VERSION,
    minVersion: 1,
  })),
];

/**
 * A disk as a save records it: the base it was opened from (found again on restore and
 * checked against `size` and `fingerprint`) and the pages the guest wrote, whose content is
 * the `disk<i>` segment. Pages not listed are the base's.
 */
export interface DiskRecord {
  /** Where the base was opened from, as the host named it (the CLI: a path relative to the image). */
  source: string;
  /** The base's format as the host named it ("raw", "qcow2", "amber"; "" when unknown). */
  format: string;
  size: number;
  /** `diskFingerprint` of the base. */
  fingerprint: string;
  readOnly: boolean;
  /** The written 4 KiB pages as ascending [first, count] pairs. */
  written: Uint32Array;
}

/** A virtio slot with a disk: the device and the disk. */
export interface VirtioDiskState {
  device: VirtioBlkState;
  disk: DiskRecord;
}

/** The board's configuration and run state outside the hart and the devices. */
export interface BoardState {
  ramSize: number;
  cmdline: string;
  bootargs: string | undefined;
  instructionsPerSecond: number;
  exitCode: number | undefined;
  resetPending: boolean;
  idleCycles: number;
  imageEnd: number;
  fdtAddress: number;
  initrd: { start: number; end: number } | undefined;
  /**
   * The boot ROM's bytes (its reset vector names the entry and the device tree); the ROM
   * reads as zero past them (`captureState` gives them up to the last non-zero byte).
   */
  mrom: Uint8Array;
}

export interface HartState {
  /** x0..x31 (x0 always 0). */
  x: Int32Array;
  pc: number;
  priv: Privilege;
  steps: number;
  traps: number;
  reservation: number;
  reserved: boolean;
}

/** Every field of the CSR file that is state (misa and the ids are constants). */
export interface CsrState {
  mstatus: number;
  medeleg: number;
  mideleg: number;
  mie: number;
  mip: number;
  mtvec: number;
  mepc: number;
  mcause: number;
  mtval: number;
  mscratch: number;
  mcounteren: number;
  mcountinhibit: number;
  stvec: number;
  sepc: number;
  scause: number;
  stval: number;
  sscratch: number;
  scounteren: number;
  satp: number;
  cycleOffset: number;
  instretOffset: number;
  hartId: number;
  pmpcfg: Uint8Array;
  pmpaddr: Uint32Array;
}

export const CSR_FIELDS = [
  "mstatus",
  "medeleg",
  "mideleg",
  "mie",
  "mip",
  "mtvec",
  "mepc",
  "mcause",
  "mtval",
  "mscratch",
  "mcounteren",
  "mcountinhibit",
  "stvec",
  "sepc",
  "scause",
  "stval",
  "sscratch",
  "scounteren",
  "satp",
  "cycleOffset",
  "instretOffset",
  "hartId",
] as const;

/** The whole machine's state except RAM, as plain values. */
export interface MachineState {
  board: BoardState;
  hart: HartState;
  csr: CsrState;
  clint: ClintState;
  plic: PlicState;
  uart: UartState;
  semihosting: SemihostingState;
  /** By virtio slot: the slots with a disk (undefined: empty slot). */
  virtio: (VirtioDiskState | undefined)[];
}

const section = (name: SectionName, fields: FieldRecord): SectionInput => ({
  name,
  version: SECTION_VERSIONS[name],
  minVersion: 1,
  fields,
});

/** The state as named, versioned sections with fields by name. */
export function stateToSections(s: MachineState): SectionInput[] {
  const b = s.board;
  const csr: FieldRecord = {};
  for (const k of CSR_FIELDS) csr[k] = s.csr[k];
  csr.pmpcfg = s.csr.pmpcfg.slice();
  csr.pmpaddr = s.csr.pmpaddr.slice();
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
    }),
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

/** Reads fields by name, checking their types: a wrong or missing one is CHECKPOINT_INVALID. */
class Fields {
  constructor(
    private readonly where: string,
    private readonly f: FieldRecord,
  ) {}
  bad(name: string, what: string): never {
    throw new MachineError("CHECKPOINT_INVALID", `${this.where}: section field "${name}" ${what}`);
  }
  private get(name: string): FieldValue {
    const v = this.f[name];
    if (v === undefined) this.bad(name, "is missing");
    return v;
  }
  num(name: string): number {
    const v = this.get(name);
    if (typeof v !== "number" || !Number.isFinite(v)) this.bad(name, "is not a number");
    return v;
  }
  bool(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== "boolean") this.bad(name, "is not a boolean");
    return v;
  }
  str(name: string): string {
    const v = this.get(name);
    if (typeof v !== "string") this.bad(name, "is not a string");
    return v;
  }
  array<T>(name: string, type: new (n: number) => T & ArrayLike<number>, length: number): T {
    const v = this.get(name);
    if (!(v instanceof type) || (length >= 0 && v.length !== length)) {
      this.bad(name, `is not a ${type.name}${length >= 0 ? ` of ${length}` : ""}`);
    }
    return v as T;
  }
  records(name: string): Fields[] {
    const v = this.get(name);
    if (!Array.isArray(v)) this.bad(name, "is not a list of records");
    return v.map((r, i) => new Fields(`${this.where}.${name}[${i}]`, r));
  }
}

/** Bytes up to and including the last non-zero one. */
function usedLength(bytes: Uint8Array): number {
  let n = bytes.length;
  while (n > 0 && bytes[n - 1] === 0) n--;
  return n;
}

/** `bytes` followed by zeros up to `size`; `tooLong` reports bytes that do not fit. */
function padTo(bytes: Uint8Array, size: number, tooLong: () => never): Uint8Array {
  if (bytes.length > size) tooLong();
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

/** Reads the state back from a checkpoint's sections (refusing images of another board). */
export function sectionsToState(reader: CheckpointReader, mromSize: number): MachineState {
  if (reader.header.machine !== CHECKPOINT_MACHINE) {
    throw new MachineError(
      "CHECKPOINT_INVALID",
      `${reader.name}: a checkpoint of "${reader.header.machine}", not of this board (${CHECKPOINT_MACHINE})`,
    );
  }
  const get = (name: SectionName): Fields => {
    if (!reader.hasSection(name)) {
      throw new MachineError("CHECKPOINT_INVALID", `${reader.name}: no "${name}" section`);
    }
    const spec = SECTION_SPECS.find((s) => s.name === name);
    return new Fields(`${reader.name}: ${name}`, reader.section(name, spec).fields);
  };
  const m = get("machine");
  const h = get("hart0");
  const c = get("csr0");
  const cl = get("clint");
  const p = get("plic");
  const u = get("uart0");
  const sh = get("semihosting");
  const csr = {} as CsrState;
  for (const k of CSR_FIELDS) csr[k] = c.num(k);
  csr.pmpcfg = c.array("pmpcfg", Uint8Array, 16);
  csr.pmpaddr = c.array("pmpaddr", Uint32Array, 16);
  return {
    board: {
      ramSize: m.num("ramSize"),
      cmdline: m.str("cmdline"),
      bootargs: m.bool("hasBootargs") ? m.str("bootargs") : undefined,
      instructionsPerSecond: m.num("instructionsPerSecond"),
      exitCode: m.bool("exited") ? m.num("exitCode") : undefined,
      resetPending: m.bool("resetPending"),
      idleCycles: m.num("idleCycles"),
      imageEnd: m.num("imageEnd"),
      fdtAddress: m.num("fdtAddress"),
      initrd: m.bool("hasInitrd") ? { start: m.num("initrdStart"), end: m.num("initrdEnd") } : undefined,
      mrom: padTo(m.array("mrom", Uint8Array, -1), mromSize, () =>
        m.bad("mrom", `is longer than the ROM (${mromSize} bytes)`),
      ),
    },
    hart: {
      x: h.array("x", Int32Array, 32),
      pc: h.num("pc"),
      priv: h.num("priv") as Privilege,
      steps: h.num("steps"),
      traps: h.num("traps"),
      reservation: h.num("reservation"),
      reserved: h.bool("reserved"),
    },
    csr,
    clint: { msip: cl.num("msip"), mtimecmp: cl.num("mtimecmp"), mtimeOffset: cl.num("mtimeOffset") },
    plic: {
      priority: p.array("priority", Uint32Array, 96),
      level: p.array("level", Uint8Array, 96),
      pending: p.array("pending", Uint8Array, 96),
      claimed: p.array("claimed", Uint8Array, 96),
      enable0: p.array("enable0", Uint32Array, 3),
      enable1: p.array("enable1", Uint32Array, 3),
      threshold: p.array("threshold", Uint32Array, 2),
      output: p.array("output", Uint8Array, 2),
    },
    uart: {
      ier: u.num("ier"),
      lcr: u.num("lcr"),
      mcr: u.num("mcr"),
      scr: u.num("scr"),
      dll: u.num("dll"),
      dlm: u.num("dlm"),
      fcr: u.num("fcr"),
      thrEmptyPending: u.bool("thrEmptyPending"),
      rx: u.array("rx", Uint8Array, -1),
    },
    semihosting: {
      handles: sh
        .records("handles")
        .map((r) => ({ id: r.num("id"), kind: r.str("kind"), pos: r.num("pos") })),
      nextHandle: sh.num("nextHandle"),
      errno: sh.num("errno"),
    },
    virtio: Array.from({ length: VIRTIO_SLOTS }, (_, i) => {
      const name = virtioSectionName(i);
      if (!reader.hasSection(name)) return undefined;
      const spec = SECTION_SPECS.find((s) => s.name === name);
      const v = new Fields(`${reader.name}: ${name}`, reader.section(name, spec).fields);
      return {
        device: {
          deviceFeaturesSel: v.num("deviceFeaturesSel"),
          driverFeaturesSel: v.num("driverFeaturesSel"),
          driverFeatures: v.array("driverFeatures", Uint32Array, 2),
          status: v.num("status"),
          interruptStatus: v.num("interruptStatus"),
          queueNum: v.num("queueNum"),
          queueReady: v.num("queueReady"),
          desc: v.num("desc"),
          avail: v.num("avail"),
          used: v.num("used"),
          lastAvail: v.num("lastAvail"),
          queueSel: v.num("queueSel"),
        },
        disk: {
          source: v.str("diskSource"),
          format: v.str("diskFormat"),
          size: v.num("diskSize"),
          fingerprint: v.str("diskFingerprint"),
          readOnly: v.bool("diskReadOnly"),
          written: v.array("diskWritten", Uint32Array, -1),
        },
      };
    }),
  };
}
