import type { Privilege } from "@amber/isa";
import type { ClintState } from "./devices/clint.js";
import type { PlicState } from "./devices/plic.js";
import type { UartState } from "./devices/uart16550.js";
import type { VirtioBalloonState } from "./devices/virtio-balloon.js";
import type { VirtioBlkState } from "./devices/virtio-blk.js";
import type { SemihostingState } from "./semihosting.js";

// The whole machine's state but RAM as plain values: what a save captures and a restore puts
// back. How it is stored in a checkpoint is state-sections.ts; how it is read back and checked,
// state-from-sections.ts.

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
