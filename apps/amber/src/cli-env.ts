import type { HostIo } from "@amber/machine";
import type { SerialSpec } from "./serial/serial-spec.js";
import type { SerialPort } from "./serial/socket-serial.js";

/**
 * Everything the CLI touches outside itself, so tests can run it in-process and
 * the same code drives the real terminal.
 */
export interface CliEnv {
  /** Guest I/O (stdout = the guest's output) — data, never Amber's own messages. */
  io: HostIo;
  /** Amber's own messages (errors, stats, traces). */
  stderr(text: string): void;
  readFile(path: string): Uint8Array;
  /** Monotonic host time in seconds, for statistics only (never seen by the guest). */
  now(): number;
  /** CPU time the process has used, in seconds (all its threads), for statistics only. */
  cpuNow(): number;
  /** The host's clock for `--host-time`: milliseconds, and a way to wait without spinning. */
  hostClock: { now(): number; sleep(ms: number): void };
  /**
   * Opens a `--serial` back end other than stdio (`io` is stdio); absent where there is no
   * real process (in-process tests), which then refuse `--serial`.
   */
  openSerial?(spec: Exclude<SerialSpec, { kind: "stdio" }>): SerialPort;
}
