import { type BlockFile, MemoryBlockFile } from "@amber/checkpoint";
import type { WorldFiles } from "@amber/monitor";

/**
 * World files in the Origin Private File System, one directory per machine
 * (`/machines/lisp/first.amber`). Writes go through `createWritable`, which writes a swap
 * file and replaces the old one only on `close()`, so a reload mid-save never leaves half a
 * world. A world is read into memory when opened (local and fast; worlds are small, their
 * untouched RAM is never stored).
 */
export class OpfsWorldFiles implements WorldFiles {
  private constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly label: string,
  ) {}

  /** The machine's directory in OPFS, or undefined where the browser has no OPFS. */
  static async open(machine: string): Promise<OpfsWorldFiles | undefined> {
    try {
      const root = await navigator.storage.getDirectory();
      const machines = await root.getDirectoryHandle("machines", { create: true });
      return new OpfsWorldFiles(await machines.getDirectoryHandle(machine, { create: true }), machine);
    } catch {
      return undefined;
    }
  }

  async list() {
    const out: { name: string; size: number; modified: number }[] = [];
    const entries = (this.dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
    for await (const handle of entries) {
      if (handle.kind !== "file") continue;
      const file = await (handle as FileSystemFileHandle).getFile();
      out.push({ name: handle.name, size: file.size, modified: file.lastModified });
    }
    return out;
  }

  async open(name: string): Promise<BlockFile | undefined> {
    let handle: FileSystemFileHandle;
    try {
      handle = await this.dir.getFileHandle(name);
    } catch {
      return undefined;
    }
    const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
    return new MemoryBlockFile(bytes, this.describe(name), false);
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    const handle = await this.dir.getFileHandle(name, { create: true });
    const writable = await handle.createWritable();
    await writable.write(bytes as Uint8Array<ArrayBuffer>);
    await writable.close();
  }

  describe(name: string): string {
    return `opfs:/machines/${this.label}/${name}`;
  }
}
