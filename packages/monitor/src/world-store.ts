import type { CheckpointReader, SectionInput } from "@amber/checkpoint";
import type { Machine, MachineDisk } from "@amber/machine";

/** A saved world as a store names it. */
export interface WorldRef {
  /** The world's name (or, for an image outside the store, what the user typed). */
  name: string;
  /** Where it lives, for messages and identity: a path, an OPFS file, a URL. */
  location: string;
}

/** One saved world, as `:saves` lists it (read from its header, not its pages). */
export interface WorldInfo {
  name: string;
  created: Date;
  bytes: number;
  /** The world this one is incremental on, or undefined for a full image. */
  parent: string | undefined;
  instructions: bigint;
  digest: string;
}

/** A world whose header could not be read. */
export interface DamagedWorld {
  name: string;
  error: string;
}

/** What a save asks the store to write. */
export interface StoreSaveRequest {
  /** The world the save is incremental on (absent: a full image). */
  parent?: { name: string; location: string; reader: CheckpointReader };
  /** Pages written between two calls of `between` (the guest runs on in `between`). */
  every: number;
  between: () => void;
  /** Extra sections (the REPL's console tail). */
  sections: SectionInput[];
}

/** What a store wrote. */
export interface StoredWorld {
  ref: WorldRef;
  /** The world this one is incremental on (the store may save in full a world whose parent it cannot keep track of). */
  parent: string | undefined;
  digest: string;
  /** RAM pages stored in this image. */
  pages: number;
  bytes: number;
  /** The new image, open (with its parent chain): the parent of the next incremental save. */
  reader: CheckpointReader;
  /**
   * Settles once the image is durable where the store keeps it. A store that writes
   * synchronously (files) has nothing left to do; a browser store copies it to OPFS.
   */
  persisted: Promise<void>;
}

/**
 * Where a machine's worlds are kept. The monitor knows only this interface: the CLI gives
 * it a machine directory (`worlds/NAME.amber` files), the web app the browser's storage
 * (OPFS, IndexedDB where OPFS is missing). Writing is synchronous in the caller's eyes
 * (the guest runs on between batches of pages, so the image is exact as of the save
 * instant); everything else may take its time.
 */
export interface WorldStore {
  /** Names of the saved worlds, oldest first. */
  names(): Promise<string[]>;
  /** Every world's header, oldest first; damaged ones say why. */
  list(): Promise<(WorldInfo | DamagedWorld)[]>;
  /** The world saved or restored last (what a new session resumes), if any. */
  current(): Promise<string | undefined>;
  setCurrent(name: string): Promise<void>;
  /** A name not taken yet (world-1, world-2, …). */
  nextName(): Promise<string>;
  /** Checks a name typed for a new world (it becomes a file name); throws MonitorError. */
  checkName(name: string): string;
  /** Where a world of this name is (or would be) kept. */
  locationOf(name: string): string;
  /** A saved world by name (or, where the store allows, by path or URL). */
  find(ref: string): Promise<WorldRef | undefined>;
  /** Opens a world for reading, its parent chain too; pages are read on first touch. */
  open(ref: WorldRef): Promise<CheckpointReader>;
  /**
   * The bases of the disks a saved world holds, by slot, to restore it with (where the
   * store can open files: the CLI finds them through the world's search path); `close`
   * releases them when the world is replaced. Absent: worlds with disks cannot be restored.
   */
  openDisks?(reader: CheckpointReader, ref: WorldRef): { disks: MachineDisk[]; close(): void };
  /** Saves the machine as `name`, replacing an older world of that name only once the new one is whole. */
  save(machine: Machine, name: string, request: StoreSaveRequest): StoredWorld;
  /**
   * Recompresses a saved world stored with a fast codec (saves use none) to zstd, in place
   * and atomically (a reader sees the old file or the new one, never a broken one), the
   * digest kept so children still find it; undefined when it is stored compressed already.
   * Optional: a store that cannot leaves `:compact` saying so.
   */
  compact?(ref: WorldRef): CompactedWorld | undefined;
}

/** What `WorldStore.compact` did. */
export interface CompactedWorld {
  bytesBefore: number;
  bytesAfter: number;
  digest: string;
}
