/** What a monitor command is and what it acts on and talks through. */
import type { WorldSession } from "./world-session.js";

/** What monitor commands act on and talk through (the CLI's terminal, the web page). */
export interface MonitorHost {
  /** The live world; its store keeps the saved ones. */
  readonly session: WorldSession;
  /** Data (register dumps, listings): stdout. */
  out(text: string): void;
  /** Talk (confirmations, notices): stderr. */
  say(text: string): void;
  /** Asks a yes/no question; no answer (end of input) is no. */
  confirm(question: string): Promise<boolean>;
  /** A progress bar for long saves (no-op where there is nowhere to draw one). */
  progress(label: string): { update(done: number, total: number): void; stop(): void };
  /** Ends the session with this exit status. */
  quit(status: number): void;
  /**
   * Serves gdb's remote protocol for the live world on `address` ([HOST:]PORT) until the
   * client detaches (`:gdb`); absent where the host cannot listen (a web page).
   */
  gdb?(address: string): Promise<void>;
  /**
   * Opens a file for `:disk-trace FILE` (created or truncated), where the host can write
   * files; absent where it cannot (`:disk-trace on` then shows the writes in the monitor).
   */
  openTraceFile?(name: string): { write(text: string): void; close(): void };
  /**
   * `:compact auto [on|off]`: switches the host's idle-time recompression of fast-saved
   * worlds (undefined: leaves it) and returns a line saying how it stands; absent where the
   * host has none.
   */
  idleCompact?(on: boolean | undefined): string;
}

export interface MonitorCommand {
  name: string;
  args: string;
  summary: string;
  /** Completes the argument being typed: world names. */
  completesWorlds?: boolean;
  run(host: MonitorHost, args: string[]): void | Promise<void>;
}
