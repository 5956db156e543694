/** The cache directory `--cache DIR` chose for this process (default: `@amber/registry/node`'s). */
let cacheDir: string | undefined;

/** Takes the running command's `--cache DIR` (undefined: the default). */
export function useCache(dir: string | undefined): void {
  cacheDir = dir;
}

export function chosenCacheDir(): string | undefined {
  return cacheDir;
}
