import type { CheckpointReader, FieldRecord, FieldValue, SectionInput, SectionSpec } from "@amber/checkpoint";
import { MSTATUS, type Privilege, TDATA1_RESET, TRIGGER_COUNT, Triggers } from "@amber/isa";
import type { ClintState } from "./devices/clint.js";
import { type PlicState, upgradePlicStateV1 } from "./devices/plic.js";
import type { UartState } from "./devices/uart16550.js";
import { BALLOON_QUEUE_SIZE, BALLOON_QUEUES, type VirtioBalloonState } from "./devices/virtio-balloon.js";
import { BLK_QUEUE_SIZE, type VirtioBlkState } from "./devices/virtio-blk.js";
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
const VIRTIO_SLOTS = 8;
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
  /** The debug triggers: tselect, and tdata1/tdata2 of each trigger. */
  tselect: number;
  tdata1: Uint32Array;
  tdata2: Uint32Array;
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
  /** The memory balloon, when the machine has one. */
  balloon: VirtioBalloonState | undefined;
  /** By virtio slot: the slots with a disk (undefined: empty slot). */
  virtio: (VirtioDiskState | undefined)[];
}

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
  /** An integer in [min, max]. */
  int(name: string, min: number, max: number): number {
    const v = this.num(name);
    if (!Number.isInteger(v) || v < min || v > max)
      this.bad(name, `is ${show(v)}: not an integer in ${show(min)}..${show(max)}`);
    return v;
  }
  /** A 32-bit register's value (stored signed or unsigned). */
  word(name: string): number {
    return this.int(name, -0x8000_0000, 0xffff_ffff);
  }
  /** A 32-bit value whose bits outside `mask` must be clear (what the register can hold). */
  bits(name: string, mask: number): number {
    const v = this.word(name);
    if ((v & ~mask) !== 0) this.bad(name, `is ${show(v >>> 0)}: bits outside ${show(mask >>> 0)} are set`);
    return v;
  }
  /** A count or an instruction number: a safe integer ≥ 0. */
  count(name: string): number {
    return this.int(name, 0, Number.MAX_SAFE_INTEGER);
  }
  oneOf<T extends number>(name: string, values: readonly T[], what: string): T {
    const v = this.num(name);
    if (!values.includes(v as T)) this.bad(name, `is ${show(v)}: not ${what}`);
    return v as T;
  }
  /** Each element of an integer array within [0, max]. */
  each<T extends ArrayLike<number>>(name: string, array: T, max: number): T {
    for (let i = 0; i < array.length; i++) {
      if (array[i]! > max) this.bad(`${name}[${i}]`, `is ${show(array[i]!)}: above ${show(max)}`);
    }
    return array;
  }
  records(name: string): Fields[] {
    const v = this.get(name);
    if (!Array.isArray(v)) this.bad(name, "is not a list of records");
    return v.map((r, i) => new Fields(`${this.where}.${name}[${i}]`, r));
  }
}

/** A number as messages show it: hexadecimal from 4096 up. */
function show(v: number): string {
  return Number.isInteger(v) && Math.abs(v) >= 4096
    ? `${v < 0 ? "-" : ""}0x${Math.abs(v).toString(16)}`
    : String(v);
}

/**
 * What the hart and the devices can hold, checked on restore: an image whose checksums
 * are right can still carry values no running machine could have (edited, or written by
 * a faulty tool), and the hart trusts its state (a pc of 1 would reach the block cache).
 */
const PRIVILEGES = [0, 1, 3] as const;
/** mstatus bits this hart implements (the rest read as zero). */
const MSTATUS_BITS = Object.values(MSTATUS).reduce((a, b) => a | b, 0);
/** Supervisor and machine software, timer and external interrupt bits (mie, mip). */
const INTERRUPT_BITS = 0xaaa;
const PLIC_MAX_PRIORITY = 7;
/** Highest queue sizes the devices offer. */
const VIRTQUEUE_MAX = BLK_QUEUE_SIZE;
const BALLOON_QUEUE_MAX = BALLOON_QUEUE_SIZE;

/** Bytes up to and including the last non-zero one. */
function usedLength(bytes: Uint8Array): number {
  let n = bytes.length;
  while (n > 0 && bytes[n - 1] === 0) n--;
  return n;
}

/** `bytes` if they fit in `size`; `tooLong` reports bytes that do not. */
function fitting(bytes: Uint8Array, size: number, tooLong: () => never): Uint8Array {
  if (bytes.length > size) tooLong();
  return bytes;
}

const HANDLE_KINDS = ["stdin", "stdout", "stderr", "features"];

function handleKind(r: Fields): string {
  const kind = r.str("kind");
  if (!HANDLE_KINDS.includes(kind))
    r.bad("kind", `is "${kind}": not a handle kind (${HANDLE_KINDS.join(", ")})`);
  return kind;
}

/** A pc-like address: 32 bits, even (instructions are 16-bit aligned with C). */
function evenAddress(f: Fields, name: string): number {
  const v = f.int(name, -0x8000_0000, 0xffff_ffff);
  if ((v & 1) !== 0) f.bad(name, `is ${show(v >>> 0)}: not 2-byte aligned (an instruction address)`);
  return v;
}

function ramSize(m: Fields): number {
  const v = m.int("ramSize", 4096, 0x8000_0000);
  if (v % 4096 !== 0) m.bad("ramSize", `is ${show(v)}: not a multiple of 4 KiB`);
  return v;
}

function initrd(m: Fields): { start: number; end: number } {
  const start = m.int("initrdStart", 0, 0xffff_ffff);
  const end = m.int("initrdEnd", start, 0x1_0000_0000);
  return { start, end };
}

function uartFifo(u: Fields): Uint8Array {
  const rx = u.array("rx", Uint8Array, -1);
  if (rx.length > 16) u.bad("rx", `holds ${rx.length} bytes: the receive FIFO holds 16`);
  return rx;
}

function queueSize(v: Fields): number {
  const n = v.int("queueNum", 1, VIRTQUEUE_MAX);
  if ((n & (n - 1)) !== 0) v.bad("queueNum", `is ${n}: not a power of two`);
  return n;
}

/** The balloon's state from its section, checked as the device could hold it. */
function balloonState(v: Fields): VirtioBalloonState {
  const queueNum = v.array("queueNum", Uint32Array, BALLOON_QUEUES);
  for (const [i, n] of queueNum.entries()) {
    if (n < 1 || n > BALLOON_QUEUE_MAX || (n & (n - 1)) !== 0)
      v.bad(`queueNum[${i}]`, `is ${n}: not a power of two in 1..${BALLOON_QUEUE_MAX}`);
  }
  return {
    deviceFeaturesSel: v.int("deviceFeaturesSel", 0, 0xffff_ffff),
    driverFeaturesSel: v.int("driverFeaturesSel", 0, 0xffff_ffff),
    driverFeatures: v.array("driverFeatures", Uint32Array, 2),
    status: v.int("status", 0, 0xff),
    interruptStatus: v.int("interruptStatus", 0, 3),
    queueSel: v.int("queueSel", 0, 0xffff_ffff),
    queueNum,
    queueReady: v.each("queueReady", v.array("queueReady", Uint8Array, BALLOON_QUEUES), 1),
    desc: v.array("desc", Uint32Array, BALLOON_QUEUES),
    avail: v.array("avail", Uint32Array, BALLOON_QUEUES),
    used: v.array("used", Uint32Array, BALLOON_QUEUES),
    lastAvail: v.each("lastAvail", v.array("lastAvail", Uint32Array, BALLOON_QUEUES), 0xffff),
    numPages: v.int("numPages", 0, 0xffff_ffff),
    actual: v.int("actual", 0, 0xffff_ffff),
    configGeneration: v.int("configGeneration", 0, 0xffff_ffff),
    reportedPages: v.count("reportedPages"),
    inflatedPages: v.count("inflatedPages"),
  };
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
  const c = get("csr0");
  const cl = get("clint");
  const p = get("plic");
  const u = get("uart0");
  const sh = get("semihosting");
  const csr = {} as CsrState;
  for (const k of CSR_FIELDS) csr[k] = c.word(k);
  csr.cycleOffset = c.int("cycleOffset", -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  csr.instretOffset = c.int("instretOffset", -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  csr.hartId = c.int("hartId", 0, 0);
  csr.mstatus = c.bits("mstatus", MSTATUS_BITS);
  if (((csr.mstatus >>> 11) & 3) === 2) c.bad("mstatus", "has MPP = 2, a reserved privilege");
  csr.mie = c.bits("mie", INTERRUPT_BITS);
  csr.mip = c.bits("mip", INTERRUPT_BITS);
  csr.mideleg = c.bits("mideleg", 0x222);
  csr.medeleg = c.bits("medeleg", 0xb3ff);
  csr.mtvec = c.bits("mtvec", ~2);
  csr.stvec = c.bits("stvec", ~2);
  csr.mepc = evenAddress(c, "mepc");
  csr.sepc = evenAddress(c, "sepc");
  csr.pmpcfg = c.array("pmpcfg", Uint8Array, 16);
  csr.pmpaddr = c.array("pmpaddr", Uint32Array, 16);
  csr.tselect = c.int("tselect", 0, TRIGGER_COUNT - 1);
  csr.tdata1 = c.array("tdata1", Uint32Array, TRIGGER_COUNT);
  for (const [i, v] of csr.tdata1.entries()) {
    if (!Triggers.isLegal(v))
      c.bad(`tdata1[${i}]`, `is 0x${v.toString(16)}, not a value the trigger can hold`);
  }
  csr.tdata2 = c.array("tdata2", Uint32Array, TRIGGER_COUNT);
  const h = get("hart0");
  const x = h.array("x", Int32Array, 32);
  if (x[0] !== 0) h.bad("x[0]", `is ${x[0]}: x0 is always 0`);
  return {
    board: {
      ramSize: ramSize(m),
      cmdline: m.str("cmdline"),
      bootargs: m.bool("hasBootargs") ? m.str("bootargs") : undefined,
      instructionsPerSecond: m.int("instructionsPerSecond", 1, Number.MAX_SAFE_INTEGER),
      exitCode: m.bool("exited") ? m.word("exitCode") : undefined,
      resetPending: m.bool("resetPending"),
      idleCycles: m.count("idleCycles"),
      imageEnd: m.int("imageEnd", 0, 0x1_0000_0000),
      fdtAddress: m.int("fdtAddress", 0, 0xffff_ffff),
      initrd: m.bool("hasInitrd") ? initrd(m) : undefined,
      mrom: fitting(m.array("mrom", Uint8Array, -1), mromSize, () =>
        m.bad("mrom", `is longer than the ROM (${mromSize} bytes)`),
      ),
    },
    hart: {
      x,
      pc: evenAddress(h, "pc"),
      priv: h.oneOf("priv", PRIVILEGES, "a privilege level (0 U, 1 S, 3 M)") as Privilege,
      steps: h.count("steps"),
      traps: h.count("traps"),
      reservation: h.word("reservation"),
      reserved: h.bool("reserved"),
    },
    csr,
    clint: {
      msip: cl.int("msip", 0, 1),
      mtimecmp: cl.count("mtimecmp"),
      mtimeOffset: cl.int("mtimeOffset", -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    },
    plic: {
      priority: p.each("priority", p.array("priority", Uint32Array, 96), PLIC_MAX_PRIORITY),
      level: p.each("level", p.array("level", Uint8Array, 96), 1),
      pending: p.each("pending", p.array("pending", Uint8Array, 96), 1),
      claimed: p.each("claimed", p.array("claimed", Uint8Array, 96), 1),
      enable0: p.array("enable0", Uint32Array, 3),
      enable1: p.array("enable1", Uint32Array, 3),
      threshold: p.each("threshold", p.array("threshold", Uint32Array, 2), PLIC_MAX_PRIORITY),
      output: p.each("output", p.array("output", Uint8Array, 2), 1),
    },
    uart: {
      ier: u.int("ier", 0, 0x0f),
      lcr: u.int("lcr", 0, 0xff),
      mcr: u.int("mcr", 0, 0x1f),
      scr: u.int("scr", 0, 0xff),
      dll: u.int("dll", 0, 0xff),
      dlm: u.int("dlm", 0, 0xff),
      fcr: u.int("fcr", 0, 0xff),
      thrEmptyPending: u.bool("thrEmptyPending"),
      rx: uartFifo(u),
    },
    semihosting: {
      handles: sh.records("handles").map((r) => ({
        id: r.int("id", 0, 0x7fff_ffff),
        kind: handleKind(r),
        pos: r.count("pos"),
      })),
      nextHandle: sh.int("nextHandle", 0, 0x7fff_ffff),
      errno: sh.word("errno"),
      cmdlineRead: sh.bool("cmdlineRead"),
    },
    balloon: reader.hasSection(BALLOON_SECTION)
      ? balloonState(
          new Fields(
            `${reader.name}: ${BALLOON_SECTION}`,
            reader.section(
              BALLOON_SECTION,
              SECTION_SPECS.find((s) => s.name === BALLOON_SECTION),
            ).fields,
          ),
        )
      : undefined,
    virtio: Array.from({ length: VIRTIO_SLOTS }, (_, i) => {
      const name = virtioSectionName(i);
      if (!reader.hasSection(name)) return undefined;
      const spec = SECTION_SPECS.find((s) => s.name === name);
      const v = new Fields(`${reader.name}: ${name}`, reader.section(name, spec).fields);
      return {
        device: {
          deviceFeaturesSel: v.int("deviceFeaturesSel", 0, 0xffff_ffff),
          driverFeaturesSel: v.int("driverFeaturesSel", 0, 0xffff_ffff),
          driverFeatures: v.array("driverFeatures", Uint32Array, 2),
          status: v.int("status", 0, 0xff),
          interruptStatus: v.int("interruptStatus", 0, 3),
          queueNum: queueSize(v),
          queueReady: v.int("queueReady", 0, 1),
          desc: v.int("desc", 0, 0xffff_ffff),
          avail: v.int("avail", 0, 0xffff_ffff),
          used: v.int("used", 0, 0xffff_ffff),
          lastAvail: v.int("lastAvail", 0, 0xffff),
          queueSel: v.int("queueSel", 0, 0xffff_ffff),
        },
        disk: {
          source: v.str("diskSource"),
          format: v.str("diskFormat"),
          size: v.count("diskSize"),
          fingerprint: v.str("diskFingerprint"),
          readOnly: v.bool("diskReadOnly"),
          written: v.array("diskWritten", Uint32Array, -1),
        },
      };
    }),
  };
}
