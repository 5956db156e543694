// Bundles a workspace package from its TypeScript sources (the "@amber/source" condition,
// as apps/amber/build.mjs does) so the bench runs on Node 20 without a build step.
// WASM-backed dependencies stay external: they locate their .wasm next to their own files.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Bundles packages/<pkg>/src/index.ts into that package's node_modules cache and imports it. */
export async function importSource(pkg) {
  const dir = join(root, "packages", pkg);
  // Inside the package's node_modules so the externals resolve from the package itself.
  const outfile = join(dir, "node_modules/.cache/amber-bench", `${pkg}.mjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(dir, "src/index.ts")],
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
