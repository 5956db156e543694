/** What a `WorldSession` is doing, what it tells its terminal, and the world it saves on. */
import type { CheckpointReader } from "@amber/checkpoint";

/** What the guest is doing. */
export type SessionState =
  /** Running guest code (slices scheduled on the event loop). */
  | "running"
  /** Idle in `wfi`, waiting for console input. */
  | "waiting"
  /** Stopped by the monitor (`:step`, a breakpoint, Ctrl-C, a trap without handler). */
  | "paused"
  /** The guest powered off. */
  | "exited";

/** What the session tells its terminal. */
export interface SessionEvents {
  /** The guest went idle waiting for input. */
  idle(): void;
  /** The guest stopped where the monitor must say why (breakpoint, trap). */
  stopped(message: string): void;
  /** The guest powered off with this status. */
  exited(code: number): void;
  /**
   * Running the guest failed: a page of its world read lazily failed its checksum, a disk
   * read failed... The session is paused; the terminal reports it and ends. Without this
   * handler the error is thrown on (from the event loop).
   */
  failed?(error: unknown): void;
  /**
   * The guest asked to be saved as world `name` (Amber Lisp's `(save-world "name")`),
   * having compacted itself; it waits until this settles. Save it (`WorldSession.save`
   * with `guestAwaits: true`) or throw a MonitorError saying why not: the guest gets
   * the message as an error. Without this handler the request is refused.
   */
  saveWorld?(name: string): Promise<void>;
}

/** The image a world came from (restored) or was last saved as: the parent of the next incremental save. */
export interface Baseline {
  /** World name (or the image's path when it is not in the store). */
  name: string;
  /** Where the image is (see WorldRef.location). */
  location: string;
  reader: CheckpointReader;
  /** Guest steps at that instant: more means there is unsaved work. */
  steps: number;
}
