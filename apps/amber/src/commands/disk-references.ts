import * as fs from "node:fs";
import * as path from "node:path";

/**
 * How a world names the files its machine refers to (disk bases): `%n%/rest`, `rest` in the
 * n-th directory (from 1) of the world's search path, the one list of directories in its
 * header (packages/checkpoint/docs/FORMAT.md, "Search path"). The directories are stored
 * relative to the world's own directory, or absolute; moving disks is then one rewrite of
 * that list (`amber relocate`), never an edit of the machine's state.
 */

const REFERENCE = /^%(\d+)%\/(.+)$/;

/**
 * A reference for the file `source` (as the machine was given it: relative to the working
 * directory or absolute) in a world saved at `world`: its directory, relative to the world's
 * (absolute when the world sits on another root), joins `searchPath` if not already there.
 */
export function diskReference(world: string, source: string, searchPath: string[]): string {
  const worldDir = path.dirname(path.resolve(world));
  const abs = path.resolve(source);
  const rel = path.relative(worldDir, path.dirname(abs));
  const dir = path.isAbsolute(rel) ? path.dirname(abs) : rel === "" ? "." : rel;
  let n = searchPath.indexOf(dir);
  if (n < 0) n = searchPath.push(dir) - 1;
  return `%${n + 1}%/${path.basename(abs)}`;
}

/** Where a reference in the world at `world` points, resolved as the CLI does. */
export interface ResolvedReference {
  /** The reference as the world stores it. */
  reference: string;
  /** The file, resolved against the world's directory (relative to the working directory when the world's path is). */
  file: string;
  /** For a `%n%` reference: n (from 1) and the directory as stored; undefined for a plain path. */
  entry?: { index: number; dir: string };
  /** Set when the reference names a directory the search path does not have. */
  problem?: string;
}

export function resolveReference(
  world: string,
  searchPath: readonly string[],
  reference: string,
): ResolvedReference {
  const worldDir = path.dirname(world);
  const m = REFERENCE.exec(reference);
  if (m === null) {
    const file = path.isAbsolute(reference) ? reference : path.join(worldDir, reference);
    return { reference, file };
  }
  const index = Number(m[1]);
  const dir = searchPath[index - 1];
  if (dir === undefined) {
    return {
      reference,
      file: m[2]!,
      problem: `names directory %${index}% but the world's search path has ${searchPath.length}`,
    };
  }
  const base = path.isAbsolute(dir) ? dir : path.join(worldDir, dir);
  return { reference, file: path.join(base, m[2]!), entry: { index, dir } };
}

/** Whether a resolved reference names a file that is there (not whether it is the right one). */
export function referenceFound(r: ResolvedReference): boolean {
  if (r.problem !== undefined) return false;
  try {
    return fs.statSync(r.file).isFile();
  } catch {
    return false;
  }
}
