import type { CheckpointReader } from "@amber/checkpoint";
import { MSTATUS, type Privilege, TRIGGER_COUNT, Triggers } from "@amber/isa";
import { BALLOON_QUEUE_SIZE, BALLOON_QUEUES, type VirtioBalloonState } from "./devices/virtio-balloon.js";
import { BLK_QUEUE_SIZE } from "./devices/virtio-blk.js";
import { MachineError } from "./machine-error.js";
import { CSR_FIELDS, type CsrState, type MachineState } from "./machine-state.js";
import { Fields, show } from "./state-fields.js";
import {
  BALLOON_SECTION,
  CHECKPOINT_MACHINE,
  SECTION_SPECS,
  type SectionName,
  VIRTIO_SLOTS,
  virtioSectionName,
} from "./state-sections.js";

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
