import {
  type BlockFile,
  CheckpointReader,
  INCOMPAT_INCREMENTAL,
  isCheckpointError,
  MemoryBlockFile,
  writeCheckpoint,
} from "@amber/checkpoint";
import { type Machine, SECTION_SPECS } from "@amber/machine";
import { MonitorError } from "./monitor-error.js";
import { worldFailure } from "./open-world.js";
import type {
  DamagedWorld,
  StoredWorld,
  StoreSaveRequest,
  WorldInfo,
  WorldRef,
  WorldStore,
} from "./world-store.js";

/** Extension of a world's image file (as in a CLI machine directory). */
export const WORLD_EXT = ".amber";
/** What a world's name may be (it becomes a file name, NAME.amber): letters, digits, ".", "_" and "-", at most 64, not starting with a dot. */
export const WORLD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME = WORLD_NAME;

/** Whether `name` may name a world: `WORLD_NAME`, and not itself ending in ".amber". */
export function isWorldName(name: string): boolean {
  return WORLD_NAME.test(name) && !name.endsWith(WORLD_EXT);
}
/** Deepest parent chain followed when opening a world (a cycle or a hostile store stops here). */
const MAX_CHAIN = 256;

/**
 * Flat storage of named files, as a browser gives it (OPFS, IndexedDB) or memory does.
 * Names are world file names (`NAME.amber`) plus the store's own small metadata file.
 */
export interface WorldFiles {
  /** Files with their size and last-modified time (ms). */
  list(): Promise<{ name: string; size: number; modified: number }[]>;
  /** Random access to a file, or undefined when there is none of that name. */
  open(name: string): Promise<BlockFile | undefined>;
  /** Replaces (or creates) a file whole: readers of the old one never see half of the new. */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Where a file is, for messages (e.g. "opfs:/worlds/first.amber"). */
  describe(name: string): string;
}

/** Files kept in memory: for tests, and the browser's last resort. */
export class MemoryWorldFiles implements WorldFiles {
  private readonly files = new Map<string, { bytes: Uint8Array; modified: number }>();
  private clock = 0;

  async list() {
    return [...this.files].map(([name, f]) => ({ name, size: f.bytes.length, modified: f.modified }));
  }

  async open(name: string): Promise<BlockFile | undefined> {
    const f = this.files.get(name);
    return f === undefined ? undefined : new MemoryBlockFile(f.bytes, this.describe(name), false);
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    // Monotonic even within one millisecond, so "oldest first" is the order of saving.
    this.clock = Math.max(this.clock + 1, Date.now());
    this.files.set(name, { bytes: bytes.slice(), modified: this.clock });
  }

  describe(name: string): string {
    return `memory:${name}`;
  }
}

/** The store's metadata file: which world is current. */
const META = "store.json";

/**
 * A world store over flat files (`NAME.amber`, as in a machine directory's `worlds/`):
 * the web app's OPFS and IndexedDB stores, and memory. A save is encoded in memory while
 * the guest runs on (exact as of the save instant), then written whole; incremental worlds
 * name their parent as `PARENT.amber`, exactly as the CLI does, so a world moves between a
 * browser and a machine directory as it is.
 */
export class FilesWorldStore implements WorldStore {
  constructor(
    readonly files: WorldFiles,
    /** Recorded in every image's header as its creator. */
    private readonly creator: { name: string; version: string },
  ) {}

  private async worldFiles() {
    return (await this.files.list())
      .filter((f) => f.name.endsWith(WORLD_EXT) && NAME.test(f.name.slice(0, -WORLD_EXT.length)))
      .sort((a, b) => a.modified - b.modified || (a.name < b.name ? -1 : 1));
  }

  async names(): Promise<string[]> {
    return (await this.worldFiles()).map((f) => f.name.slice(0, -WORLD_EXT.length));
  }

  async list(): Promise<(WorldInfo | DamagedWorld)[]> {
    const out: (WorldInfo | DamagedWorld)[] = [];
    for (const f of await this.worldFiles()) {
      const name = f.name.slice(0, -WORLD_EXT.length);
      try {
        const r = await this.openOne(f.name, { withoutParent: true });
        try {
          const hint = r.header.parentHint;
          out.push({
            name,
            created: new Date(r.header.createdAt),
            bytes: f.size,
            parent: hint === "" ? undefined : baseName(hint),
            instructions: r.header.instructionCount,
            digest: r.digest,
          });
        } finally {
          r.close();
        }
      } catch (e) {
        out.push({ name, error: isCheckpointError(e) ? e.message : (e as Error).message });
      }
    }
    return out;
  }

  async current(): Promise<string | undefined> {
    const file = await this.files.open(META);
    if (file === undefined) return undefined;
    try {
      const meta = JSON.parse(new TextDecoder().decode(file.read(0, file.size()))) as { current?: unknown };
      return typeof meta.current === "string" && NAME.test(meta.current) ? meta.current : undefined;
    } catch {
      return undefined; // a damaged metadata file only forgets which world was current
    } finally {
      file.close();
    }
  }

  async setCurrent(name: string): Promise<void> {
    await this.files.write(META, new TextEncoder().encode(`${JSON.stringify({ current: name })}\n`));
  }

  async nextName(): Promise<string> {
    const taken = new Set(await this.names());
    for (let i = 1; ; i++) if (!taken.has(`world-${i}`)) return `world-${i}`;
  }

  checkName(name: string): string {
    if (!isWorldName(name)) {
      throw new MonitorError(
        `"${name}" is not a world name: use letters, digits, ".", "_" and "-" (at most 64, not starting with a dot)`,
        "usage",
      );
    }
    return name;
  }

  locationOf(name: string): string {
    return this.files.describe(`${name}${WORLD_EXT}`);
  }

  async find(ref: string): Promise<WorldRef | undefined> {
    if (!NAME.test(ref)) return undefined;
    const file = await this.files.open(`${ref}${WORLD_EXT}`);
    if (file === undefined) return undefined;
    file.close();
    return { name: ref, location: this.locationOf(ref) };
  }

  async open(ref: WorldRef): Promise<CheckpointReader> {
    return this.openOne(`${ref.name}${WORLD_EXT}`, {});
  }

  /** Opens one image file; its parent chain first (parents are found by the hint's file name). */
  private async openOne(
    fileName: string,
    options: { withoutParent?: boolean },
    depth = 0,
  ): Promise<CheckpointReader> {
    const file = await this.files.open(fileName);
    if (file === undefined) throw new MonitorError(`${this.files.describe(fileName)}: no such world`);
    const where = this.files.describe(fileName);
    let head: CheckpointReader;
    try {
      head = CheckpointReader.open(file, { sections: SECTION_SPECS, withoutParent: true });
    } catch (e) {
      file.close();
      return worldFailure(e, where);
    }
    const hint = head.header.parentHint;
    if (options.withoutParent || (head.header.incompatibleFeatures & INCOMPAT_INCREMENTAL) === 0) return head;
    head.close();
    if (depth >= MAX_CHAIN) throw new MonitorError(`${where}: parent chain deeper than ${MAX_CHAIN}`);
    const parentName = `${baseName(hint)}${WORLD_EXT}`;
    const parent = await this.openOne(parentName, {}, depth + 1);
    const again = await this.files.open(fileName);
    if (again === undefined) throw new MonitorError(`${where}: vanished while opening`);
    try {
      return CheckpointReader.open(again, { sections: SECTION_SPECS, parent });
    } catch (e) {
      parent.close();
      again.close();
      return worldFailure(e, where);
    }
  }

  save(machine: Machine, name: string, request: StoreSaveRequest): StoredWorld {
    // A world opened from elsewhere (a URL) is not in these files: an image naming it as
    // parent could not be opened again, so the first save after it is full.
    const parent =
      request.parent !== undefined && request.parent.location === this.locationOf(request.parent.name)
        ? request.parent
        : undefined;
    const memory = new MemoryBlockFile(new Uint8Array(0), this.locationOf(name));
    let digest: string;
    let pages: number;
    try {
      const save = machine.beginSave(this.creator, {
        parent: parent?.reader,
        parentHint: parent === undefined ? undefined : `${parent.name}${WORLD_EXT}`,
        every: request.every,
        between: request.between,
      });
      try {
        const written = writeCheckpoint(memory, {
          ...save.input,
          sections: [...save.input.sections, ...request.sections],
        });
        pages = save.pagesWritten();
        save.committed(written);
        digest = written.digest;
      } finally {
        save.end();
      }
    } catch (e) {
      return worldFailure(e, this.locationOf(name));
    }
    const bytes = memory.contents();
    const reader = CheckpointReader.open(new MemoryBlockFile(bytes, this.locationOf(name), false), {
      sections: SECTION_SPECS,
      parent: parent?.reader,
    });
    return {
      ref: { name, location: this.locationOf(name) },
      parent: parent?.name,
      digest,
      pages,
      bytes: bytes.length,
      reader,
      persisted: this.files.write(`${name}${WORLD_EXT}`, bytes),
    };
  }
}

/** "dir/first.amber" → "first". */
function baseName(hint: string): string {
  return (hint.split("/").pop() ?? hint).replace(/\.amber$/, "");
}
