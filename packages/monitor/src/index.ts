// The console's control channel lives with the machine's Session, which speaks it too.
export {
  CONSOLE_SECTION,
  CONTROL_ESCAPE,
  ControlCode,
  ControlFilter,
  GuestControlIo,
  type SaveWorldPolicy,
} from "@amber/machine";
export { diffImages, formatImageDiff, type ImageDiff } from "./checkpoint-diff.js";
export { ConsoleIo } from "./console-io.js";
export { DiskWatch, diskTraceLine, type SnoopedWrite, type TraceSink } from "./disk-watch.js";
export {
  FilesWorldStore,
  isWorldName,
  MemoryWorldFiles,
  WORLD_EXT,
  WORLD_NAME,
  type WorldFiles,
} from "./files-world-store.js";
export { describeTrap, formatBytes, hex8, parseCount, parseSize } from "./format.js";
export { formatRegisters, hexDump } from "./machine-views.js";
export {
  completeMonitor,
  MONITOR_COMMANDS,
  type MonitorCommand,
  type MonitorHost,
  parseMonitorLine,
  saveWorldAs,
} from "./monitor-commands.js";
export { MonitorError } from "./monitor-error.js";
export { worldFailure } from "./open-world.js";
export { QUIET_GUEST_SECONDS, QuietWatch } from "./quiet-watch.js";
export type { Baseline, SessionEvents, SessionState } from "./session-events.js";
export { WorldSession } from "./world-session.js";
export type {
  CompactedWorld,
  DamagedWorld,
  StoredWorld,
  StoreSaveRequest,
  WorldInfo,
  WorldRef,
  WorldStore,
} from "./world-store.js";
