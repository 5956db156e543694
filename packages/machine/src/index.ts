export { forgetCompiledModules } from "@amber/isa";
export {
  type AttachedDisk,
  BALLOON_SLOT,
  type MachineDisk,
  type MachineOptions,
  TIMEBASE_HZ,
} from "./board.js";
export { DEFAULT_RAM_SIZE, VIRT } from "./board-layout.js";
export { DebugMemory } from "./debug/debug-memory.js";
export {
  Debugger,
  type Resume,
  type Slice,
  type StopEvent,
  type WatchKind,
  type Watchpoint,
} from "./debug/debugger.js";
export { type GdbEnd, GdbServer } from "./debug/gdb-server.js";
export { RspFraming, type RspInput } from "./debug/rsp-framing.js";
export { diffStates, type StateDiff, statesEqual } from "./debug/state-diff.js";
export { targetDescription } from "./debug/target-description.js";
export { TimeLine, type TimeLineOptions } from "./debug/time-line.js";
export { type FdtNode, type PropValue, writeFdt } from "./device-tree/fdt-writer.js";
export { type VirtTreeOptions, virtDeviceTree } from "./device-tree/virt-device-tree.js";
export { Clint } from "./devices/clint.js";
export { Plic } from "./devices/plic.js";
export { type FinisherRequest, SifiveTest } from "./devices/sifive-test.js";
export { DISK_PAGE, diskFingerprint, FINGERPRINT_FULL_LIMIT } from "./devices/tracked-disk.js";
export { Uart16550 } from "./devices/uart16550.js";
export {
  type BalloonMemory,
  DEVICE_BALLOON,
  F_BALLOON_REPORTING,
  VirtioBalloon,
  type VirtioBalloonState,
} from "./devices/virtio-balloon.js";
export { type DiskBackend, VirtioBlk, type VirtioBlkState } from "./devices/virtio-blk.js";
export type { DmaMemory } from "./devices/virtqueue.js";
export { type ElfImage, type ElfSegment, parseElf } from "./elf.js";
export { GuestClock } from "./guest-clock.js";
export { CapturedIo, type HostIo } from "./host-io.js";
export { IdlePacer } from "./idle-pacer.js";
export { type CheckpointDisk, Machine, type RestoreOptions } from "./machine.js";
export { MachineError, type MachineErrorCode } from "./machine-error.js";
export type {
  BoardState,
  CsrState,
  DiskRecord,
  HartState,
  MachineState,
  VirtioDiskState,
} from "./machine-state.js";
export { type InputEvent, InputLog } from "./replay/input-log.js";
export {
  decodeReplayLog,
  encodeReplayLog,
  REPLAY_FORMAT,
  REPLAY_VERSION,
  type ReplayFile,
  type ReplayLog,
} from "./replay/replay-log.js";
export { resetRom } from "./reset-rom.js";
export type { RunOutcome, TrapReport } from "./run-loop.js";
export type { CheckpointCreator, MachineSave, SaveOptions } from "./saving.js";
export { type HeapInfo, Semihosting, SemihostOp } from "./semihosting.js";
export {
  CONSOLE_SECTION,
  CONTROL_ESCAPE,
  ControlCode,
  ControlFilter,
  savedByGuest,
} from "./session/guest-control.js";
export { GuestControlIo, type SaveWorldPolicy } from "./session/guest-control-io.js";
export {
  type BootOptions,
  DEFAULT_EXPECT_INSTRUCTIONS,
  type ExpectMatch,
  type ExpectOptions,
  type ForkedSession,
  type Forker,
  Session,
  SessionError,
  type SessionOptions,
  type Snapshot,
} from "./session/session.js";
export { sectionsToState } from "./state-from-sections.js";
export {
  CHECKPOINT_MACHINE,
  diskSegmentName,
  RAM_SEGMENT,
  SECTION_SPECS,
  SECTION_VERSIONS,
  stateToSections,
  VIRTIO_SECTION_VERSION,
  virtioSectionName,
} from "./state-sections.js";
