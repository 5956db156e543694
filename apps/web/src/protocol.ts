/** Messages between the page (main thread) and the machine's Web Worker. */

/** What the page can boot or open. */
export type BootRequest =
  | { kind: "lisp" }
  | { kind: "linux" }
  /** A RISC-V ELF program at a URL, booted bare as `amber run` does. */
  | { kind: "elf"; url: string }
  /** A world image at a URL, read lazily with HTTP Range requests where the server allows. */
  | { kind: "url"; url: string }
  /** A world image picked from the file system (its bytes). */
  | { kind: "file"; name: string; bytes: Uint8Array };

export type ToWorker =
  /** `storage`: "indexeddb" skips OPFS (`?storage=indexeddb`), else OPFS where the browser has it. */
  | { type: "boot"; request: BootRequest; guests: string; storage?: "indexeddb" }
  /** Console input for the guest (a line in line mode, keystrokes in raw mode). */
  | { type: "input"; data: string }
  /** A monitor command line (":save first"). */
  | { type: "monitor"; line: string }
  /** The answer to a `confirm` question. */
  | { type: "answer"; id: number; yes: boolean }
  /** A world as one `.amber` file (incremental ones squashed with their parents). */
  | { type: "download"; name?: string };

/** What the worker reports about the running world. */
export interface Status {
  machine: string;
  state: string;
  instructions: number;
  mips: number;
  world: string | undefined;
  storage: string;
}

export type FromWorker =
  | { type: "output"; data: Uint8Array }
  /** The machine is up: how the terminal should treat keys (Lisp reads lines, Linux's tty echoes). */
  | { type: "ready"; machine: string; mode: "line" | "raw"; banner: string }
  /** The guest waits for input; `prompt` is its unfinished last line. */
  | { type: "idle"; prompt: string }
  /** Monitor data (`out`) and Amber's own talk (`say`). */
  | { type: "monitor"; text: string; stream: "out" | "say" }
  /** A monitor line finished (ok false: it failed, the reason was said). */
  | { type: "done"; line: string; ok: boolean; prompt?: string }
  | { type: "confirm"; id: number; question: string }
  | { type: "status"; status: Status }
  | { type: "file"; name: string; bytes: Uint8Array; digest: string }
  | { type: "error"; message: string };
