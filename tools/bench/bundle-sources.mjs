// Bundles workspace packages from their TypeScript sources (the "@amber/source"
// condition, as apps/amber/build.mjs does) so benchmarks run on Node 20 without a build
// step. WASM-backed dependencies stay external: they locate their .wasm next to their
// own files, so the bundle is written inside packages/compress/node_modules, from where
// they resolve.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** Bundles the ES module text `contents` (imports resolved from `resolveDir`) and imports it. */
export async function importBundle(name, contents, resolveDir) {
  const outfile = join(root, "packages/compress/node_modules/.cache/amber-bench", `${name}.mjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    stdin: { contents, resolveDir, loader: "js" },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@amber/source"],
    external: ["@bokuweb/zstd-wasm", "xxhash-wasm"],
    logLevel: "warning",
  });
  return import(pathToFileURL(outfile).href);
}

/**
 * The entry the checkpoint benchmarks bundle (imports resolved from `root`, or from
 * another tree's root): @amber/checkpoint, its Node part as `node`, and the Machine.
 */
export const CHECKPOINT_MACHINE_ENTRY = [
  'export * from "./packages/checkpoint/src/index.ts";',
  'export * as node from "./packages/checkpoint/src/node/index.ts";',
  'export { Machine, CapturedIo } from "./packages/machine/src/index.ts";',
].join(" ");

/** Bundles CHECKPOINT_MACHINE_ENTRY from `tree` as `name`, imports it and initialises the checkpoint codecs. */
export async function importCheckpointMachine(name, tree = root) {
  const ck = await importBundle(name, CHECKPOINT_MACHINE_ENTRY, tree);
  await ck.initCheckpoint();
  return ck;
}

/** Bundles packages/<pkg>/src/index.ts and imports it. */
export function importSource(pkg) {
  const dir = join(root, "packages", pkg);
  return importBundle(pkg, 'export * from "./src/index.ts";', dir);
}
