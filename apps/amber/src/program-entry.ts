import { fileURLToPath } from "node:url";

let entry: string | undefined;

/** Records the file the `amber` program runs from (bin.ts's own URL), for worker threads. */
export function setProgramEntry(url: string): void {
  entry = fileURLToPath(url);
}

/**
 * The first argument of a worker thread running this program (`new Worker(entry, { argv:
 * [PROGRAM_WORKER_ARG], ... })`): the program then serves the worker (bin.ts) instead of
 * parsing a command line. It lets a command-line run tell it is no worker without loading
 * node:worker_threads (several ms of every start).
 */
export const PROGRAM_WORKER_ARG = "--amber-worker";

/**
 * The file a worker thread runs this program from: the bundle's entry (the bundle's other
 * chunks are modules, not programs), or undefined when running from TypeScript sources.
 */
export function programEntry(): string | undefined {
  return entry?.endsWith(".js") ? entry : undefined;
}
