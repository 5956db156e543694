import * as fs from "node:fs";
import * as path from "node:path";
import { type CheckpointReader, isCheckpointError } from "@amber/checkpoint";
import { compactCheckpointFile, openCheckpoint } from "@amber/checkpoint/node";
import { CODEC_IDS, FramedReader } from "@amber/compress";
import { type MachineDisk, SECTION_SPECS } from "@amber/machine";
import {
  type CompactedWorld,
  type DamagedWorld,
  MonitorError,
  type StoredWorld,
  type StoreSaveRequest,
  type WorldInfo,
  type WorldRef,
  type WorldStore,
} from "@amber/monitor";
import { saveImageInBackground } from "../commands/background-save.js";
import { openSavedDisks } from "../commands/checkpoint.js";
import { openImage } from "../commands/checkpoint-open.js";
import { machineDisks } from "../commands/image-disks.js";
import { isRemoteRef } from "../commands/registry-open.js";
import { UserError } from "../user-error.js";
import { checkWorldName, type MachineDirectory, WORLD_EXT, WORLDS_DIR } from "./machine-directory.js";

/** Where a world is: a registry REF as it is (saves name it as their parent), a file by its absolute path. */
function located(location: string): string {
  return isRemoteRef(location) ? location : path.resolve(location);
}

/** A path as the REPL shows it: relative to the working directory when that is shorter to read. */
function shown(file: string): string {
  const abs = path.resolve(file);
  return path.relative(process.cwd(), abs) || abs;
}

/**
 * The CLI's world store: a machine directory (`worlds/NAME.amber`, `machine.json` naming
 * the current world), created on the first save. `:restore` and `:diff` also take the
 * path of any image file.
 */
export class NodeWorldStore implements WorldStore {
  constructor(
    /** The machine directory, created on first use when `create` is true. */
    private readonly dir: (create: boolean) => MachineDirectory | undefined,
    /** Where the directory is (or will be). */
    private readonly root: string,
  ) {}

  async names(): Promise<string[]> {
    return this.dir(false)?.worlds() ?? [];
  }

  async list(): Promise<(WorldInfo | DamagedWorld)[]> {
    const dir = this.dir(false);
    return dir === undefined ? [] : listWorlds(dir);
  }

  async current(): Promise<string | undefined> {
    return this.dir(false)?.current;
  }

  async setCurrent(name: string): Promise<void> {
    this.dir(false)?.setCurrent(name);
  }

  async nextName(): Promise<string> {
    return this.dir(false)?.nextWorldName() ?? "world-1";
  }

  checkName(name: string): string {
    return checkWorldName(name);
  }

  locationOf(name: string): string {
    return shown(this.dir(false)?.worldPath(name) ?? path.join(this.root, WORLDS_DIR, `${name}${WORLD_EXT}`));
  }

  async find(ref: string): Promise<WorldRef | undefined> {
    const dir = this.dir(false);
    if (dir !== undefined && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref) && dir.hasWorld(ref)) {
      return { name: ref, location: shown(dir.worldPath(ref)) };
    }
    if (fs.existsSync(ref) && fs.statSync(ref).isFile()) return { name: ref, location: shown(ref) };
    return undefined;
  }

  async open(ref: WorldRef) {
    return openImage(located(ref.location));
  }

  /** A world's disks, found through its search path as `amber resume` finds them; a missing one is one line. */
  openDisks(reader: CheckpointReader, ref: WorldRef): { disks: MachineDisk[]; close(): void } {
    if (isRemoteRef(ref.location))
      throw new MonitorError(
        `${ref.location}: a world from a registry with disks cannot be restored here (pull it, then give its disks' place with amber relocate)`,
      );
    let opened: ReturnType<typeof openSavedDisks>;
    try {
      opened = openSavedDisks(reader, ref.location, []);
    } catch (e) {
      if (e instanceof UserError) throw new MonitorError(e.message);
      throw e;
    }
    const { images, specs } = opened;
    return {
      disks: machineDisks(images, specs),
      close: () => {
        for (const i of images) i.close();
      },
    };
  }

  /**
   * Saves in the background (see `saveImageInBackground`): returns once the image is encoded,
   * the guest running on while the OS writes and syncs it; `persisted` settles when it is
   * durable in place (or rejects with one line, the previous world of that name intact).
   */
  save(machine: Parameters<WorldStore["save"]>[0], name: string, request: StoreSaveRequest): StoredWorld {
    const target = this.dir(true)!.worldPath(name);
    const parent = request.parent;
    const saved = saveImageInBackground(machine, target, {
      parent: parent === undefined ? undefined : { reader: parent.reader, path: located(parent.location) },
      every: request.every,
      between: request.between,
      sections: request.sections,
    });
    let reader: CheckpointReader;
    try {
      reader = saved.open();
    } catch (e) {
      // Nothing to keep a failed save's reader for: let the save finish (or fail) on its own.
      saved.durable.catch(() => {});
      throw e;
    }
    return {
      ref: { name, location: shown(target) },
      parent: parent?.name,
      digest: saved.digest,
      pages: saved.pages,
      bytes: saved.bytes,
      reader,
      persisted: saved.durable.catch((e: unknown) => {
        throw e instanceof UserError ? new MonitorError(e.message) : e;
      }),
    };
  }

  /** Saved worlds of the machine directory still stored with a fast codec, oldest first (for the idle pass). */
  fastWorlds(): { name: string; file: string }[] {
    const dir = this.dir(false);
    if (dir === undefined || dir.readOnly) return [];
    return dir
      .worlds()
      .map((name) => ({ name, file: dir.worldPath(name) }))
      .filter((w) => {
        try {
          return storedFast(w.file);
        } catch {
          return false; // a damaged world is :saves' business, not the idle pass's
        }
      });
  }

  compact(ref: WorldRef): CompactedWorld | undefined {
    const file = located(ref.location);
    if (isRemoteRef(file) || !storedFast(file)) return undefined;
    const bytesBefore = fs.statSync(file).size;
    const { digest, size } = compactCheckpointFile(file, { sections: SECTION_SPECS });
    return { bytesBefore, bytesAfter: size, digest };
  }
}

/** Whether some segment of the image at `file` is stored with a fast codec (none, lz4): what saves write. */
function storedFast(file: string): boolean {
  const r = openCheckpoint(file, { sections: SECTION_SPECS, withoutParent: true });
  try {
    return r.segments.some((g) => {
      const framed = FramedReader.open(r.store.segmentData(g.entry).source);
      return framed.codecId === CODEC_IDS.none || framed.codecId === CODEC_IDS.lz4;
    });
  } finally {
    r.close();
  }
}

/** Reads every world's header (not its pages) for `:saves`. */
export function listWorlds(dir: MachineDirectory): (WorldInfo | DamagedWorld)[] {
  return dir.worlds().map((name) => {
    const file = dir.worldPath(name);
    try {
      const r = openCheckpoint(file, { sections: SECTION_SPECS, withoutParent: true });
      try {
        const hint = r.header.parentHint;
        return {
          name,
          created: new Date(r.header.createdAt),
          bytes: fs.statSync(file).size,
          parent: hint === "" ? undefined : path.basename(hint).replace(/\.amber$/, ""),
          instructions: r.header.instructionCount,
          digest: r.digest,
        };
      } finally {
        r.close();
      }
    } catch (e) {
      return { name, error: isCheckpointError(e) ? e.message : (e as Error).message };
    }
  });
}
