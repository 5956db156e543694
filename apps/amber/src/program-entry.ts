import { fileURLToPath } from "node:url";

let entry: string | undefined;

/** Records the file the `amber` program runs from (bin.ts's own URL), for worker threads. */
export function setProgramEntry(url: string): void {
  entry = fileURLToPath(url);
}

/**
 * The file a worker thread runs this program from: the bundle's entry (the bundle's other
 * chunks are modules, not programs), or undefined when running from TypeScript sources.
 */
export function programEntry(): string | undefined {
  return entry?.endsWith(".js") ? entry : undefined;
}
