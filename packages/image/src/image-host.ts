import type { BlockFile } from "./block-file.js";
import { MemoryBlockFile } from "./block-file.js";
import { ImageError } from "./errors.js";

/**
 * Where image files come from. The core resolves names and opens files only through this,
 * so it runs unchanged in Node ("@amber/image/node": nodeImageHost) and in browsers.
 */
export interface ImageHost {
  /** Opens an existing file; throws ImageError NOT_FOUND when it does not exist. */
  open(path: string, writable: boolean): BlockFile;
  exists(path: string): boolean;
  /** `name` as seen from the directory of `from` (absolute names stay as they are). */
  relativeTo(name: string, from: string): string;
  /** A canonical form of a path, to detect the same file reached twice in a backing chain. */
  canonical(path: string): string;
}

/** A host whose files live in a Map: for tests and for browsers holding images in memory. */
export class MemoryImageHost implements ImageHost {
  readonly files = new Map<string, MemoryBlockFile>();

  add(path: string, bytes: Uint8Array = new Uint8Array(0)): MemoryBlockFile {
    const f = new MemoryBlockFile(bytes, path);
    this.files.set(path, f);
    return f;
  }

  open(path: string, writable: boolean): BlockFile {
    const f = this.files.get(path);
    if (f === undefined) throw new ImageError("NOT_FOUND", `${path}: no such file`);
    if (writable) return f;
    const view = f;
    return {
      name: path,
      writable: false,
      size: () => view.size(),
      read: (o, l) => view.read(o, l),
      write: () => {
        throw new ImageError("READ_ONLY", `${path} is read-only`);
      },
      close: () => {},
    };
  }

  exists(path: string): boolean {
    return this.files.has(path);
  }

  relativeTo(name: string, from: string): string {
    if (name.startsWith("/")) return name;
    const dir = from.includes("/") ? from.slice(0, from.lastIndexOf("/") + 1) : "";
    return dir + name;
  }

  canonical(path: string): string {
    return path;
  }
}
