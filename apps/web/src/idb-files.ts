import { type BlockFile, MemoryBlockFile } from "@amber/checkpoint";
import type { WorldFiles } from "@amber/monitor";

const DB = "amber-worlds";
const FILES = "files";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/**
 * World files in IndexedDB, where the browser has no OPFS: one record per file, keyed
 * `machine/name`, replaced whole in one transaction (so never half written).
 */
export class IdbWorldFiles implements WorldFiles {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly machine: string,
  ) {}

  static async open(machine: string): Promise<IdbWorldFiles> {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(FILES);
    return new IdbWorldFiles(await request(open), machine);
  }

  private store(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(FILES, mode).objectStore(FILES);
  }

  async list() {
    const prefix = `${this.machine}/`;
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const keys = (await request(this.store("readonly").getAllKeys(range))) as string[];
    const out: { name: string; size: number; modified: number }[] = [];
    for (const key of keys) {
      const rec = (await request(this.store("readonly").get(key))) as { bytes: Uint8Array; modified: number };
      out.push({ name: key.slice(prefix.length), size: rec.bytes.length, modified: rec.modified });
    }
    return out;
  }

  async open(name: string): Promise<BlockFile | undefined> {
    const rec = (await request(this.store("readonly").get(`${this.machine}/${name}`))) as
      | { bytes: Uint8Array }
      | undefined;
    return rec === undefined ? undefined : new MemoryBlockFile(rec.bytes, this.describe(name), false);
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    const tx = this.db.transaction(FILES, "readwrite");
    tx.objectStore(FILES).put({ bytes: bytes.slice(), modified: Date.now() }, `${this.machine}/${name}`);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  describe(name: string): string {
    return `indexeddb:${this.machine}/${name}`;
  }
}
