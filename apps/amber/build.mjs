// Bundles the CLI into one file. Workspace packages are bundled from their TypeScript
// sources (the "@amber/source" condition), so the app never depends on their dist/.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildBundleRuntime } from "./build-bundle-runtime.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

/** zstd's WASM module is read from a file beside the code that loads it: ship it beside the bundle. */
function zstdWasmPath() {
  const require = createRequire(join(here, "../../packages/compress/package.json"));
  const entry = require.resolve("@bokuweb/zstd-wasm");
  return join(dirname(entry), "zstd.wasm");
}

/** Code-split chunks beside the entry: `chunk-HASH.js`. */
const CHUNK = /^chunk-[A-Z0-9]+\.js$/;

export async function bundle(outfile = `${here}dist/amber.js`) {
  const outdir = dirname(outfile);
  mkdirSync(outdir, { recursive: true });
  // Chunks of an earlier build (their names are their content hashes): not shipped twice.
  for (const f of readdirSync(outdir)) if (CHUNK.test(f)) rmSync(join(outdir, f));
  await build({
    entryPoints: { [basename(outfile, ".js")]: `${here}src/bin.ts` },
    outdir,
    // Each command's code is its own chunk, loaded when that command runs (src/cli-commands.ts):
    // `amber resume` reads, compiles and runs only what it needs. Chunks sit beside the entry,
    // where the code finds zstd.wasm, lisp.elf and bundle-runtime/ (import.meta.url).
    splitting: true,
    chunkNames: "chunk-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@amber/source"],
    // ES module entries first: they tree-shake (hash-wasm's UMD main carries every
    // algorithm's WASM, 250 KB the CLI parsed at every start).
    mainFields: ["module", "main"],
    // No source map: it would point at the workspace's sources, which the package does not ship.
    sourcemap: false,
    // Half the bytes Node reads, decodes and parses at every start (about a third of an
    // `amber resume`'s CPU before the guest runs). Not keepNames: its __name() calls would
    // break code run from its own source text (the serial back ends' worker); messages
    // name errors by their explicit `name` fields.
    minify: true,
    banner: {
      js: [
        "#!/usr/bin/env node",
        "import { createRequire as __amberRequire } from 'node:module';",
        "import { fileURLToPath as __amberPath } from 'node:url';",
        "const require = __amberRequire(import.meta.url);",
        "const __filename = __amberPath(import.meta.url);",
        "const __dirname = __amberPath(new URL('.', import.meta.url));",
      ].join("\n"),
    },
    logLevel: "warning",
  });
  rmSync(`${outfile}.map`, { force: true }); // left by earlier builds that made one
  copyFileSync(zstdWasmPath(), join(dirname(outfile), "zstd.wasm"));
  // `amber repl` boots the project's Lisp world by default: ship its ELF beside the bundle.
  copyFileSync(join(here, "../../tools/guests/lisp/out/lisp.elf"), join(dirname(outfile), "lisp.elf"));
  // `amber bundle` writes the runtime and a loader into every bundle: build them beside the CLI.
  await buildBundleRuntime(join(dirname(outfile), "bundle-runtime"));
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
