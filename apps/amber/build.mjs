// Bundles the CLI into one file. Workspace packages are bundled from their TypeScript
// sources (the "@amber/source" condition), so the app never depends on their dist/.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
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

/**
 * commander requires node:child_process when loaded, only to run executable subcommands,
 * which amber has none of; loading it (with net and dgram) was several ms of every start.
 * Here commander gets it on first use.
 */
const lazyChildProcess = {
  name: "amber-lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer)
        ? { path: "child_process", namespace: "amber-lazy" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "amber-lazy" }, () => ({
      loader: "js",
      contents:
        'let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require("node:child_process"))[k] });',
    }));
  },
};

/** Chunks of code-split builds (an earlier layout of dist/): not shipped. */
const CHUNK = /^chunk-[A-Z0-9]+\.js$/;

/**
 * The CLI is two files: `outfile` (dist/amber.js, the `amber` bin) is src/launcher.ts, which
 * compiles the CLI proper, amber-main.cjs beside it, with V8's code cache (see launcher.ts).
 */
export async function bundle(outfile = `${here}dist/amber.js`) {
  const outdir = dirname(outfile);
  mkdirSync(outdir, { recursive: true });
  for (const f of readdirSync(outdir)) if (CHUNK.test(f)) rmSync(join(outdir, f));
  const main = join(outdir, "amber-main.cjs");
  await build({
    entryPoints: [`${here}src/bin.ts`],
    outfile: main,
    bundle: true,
    platform: "node",
    // A script (run by the launcher in a function taking require, module, __filename,
    // __dirname and __amberUrl): V8 caches compiled scripts, not ES modules, in Node 20.
    format: "cjs",
    target: "node20",
    conditions: ["@amber/source"],
    // ES module entries first: they tree-shake (hash-wasm's UMD main carries every
    // algorithm's WASM, 250 KB the CLI parsed at every start).
    mainFields: ["module", "main"],
    // The code finds what ships beside it (zstd.wasm, lisp.elf, bundle-runtime/) and starts
    // worker threads from the launcher's URL.
    define: { "import.meta.url": "__amberUrl" },
    plugins: [lazyChildProcess],
    // No source map: it would point at the workspace's sources, which the package does not ship.
    sourcemap: false,
    // Half the bytes Node reads, decodes and parses at every start. Not keepNames: its
    // __name() calls would break code run from its own source text (the serial back ends'
    // worker); messages name errors by their explicit `name` fields.
    minify: true,
    logLevel: "warning",
  });
  const id = createHash("sha256").update(readFileSync(main)).digest("hex").slice(0, 16);
  await build({
    entryPoints: [`${here}src/launcher.ts`],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    define: { AMBER_MAIN_ID: JSON.stringify(id) },
    // Run as `amber` (the package's bin), V8's young generation stays at 2 MiB per semi-space
    // (default up to 16): a guest that writes much RAM or a kernel whose boot compiles much
    // code made it grow and stay committed (Linux to 150 M instructions: 126 → 102 MB
    // resident, the CPU time unchanged; tools/bench/checkpoint/machine.mjs --only rss).
    // `env -S` splits the flags (GNU coreutils ≥ 8.30, BSD, macOS); `node amber.js` runs
    // with Node's defaults.
    banner: { js: "#!/usr/bin/env -S node --max-semi-space-size=2" },
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
