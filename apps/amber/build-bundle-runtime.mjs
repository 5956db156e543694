// Builds what `amber bundle` writes into every bundle, beside the bundled CLI:
//   dist/bundle-runtime/runtime.js   the runtime (machine, images, checkpoint reader) as one
//                                    platform-neutral script, zstd's WASM inlined; it goes
//                                    into the checked payload
//   dist/bundle-runtime/loader.mjs   the plain-text head of `app.mjs` (an ES module)
//   dist/bundle-runtime/loader.cjs   the head of `--exe` bundles (a CommonJS script for
//                                    Node's single executable applications)
//   dist/bundle-runtime/postject.cjs postject (npm), which `--exe` loads on demand: its 4.7 MB
//                                    (LIEF as WASM) stay out of the CLI every command loads
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const commands = join(here, "src/commands");

/**
 * @bokuweb/zstd-wasm reads its .wasm from a file (Node) or a URL (browsers); a bundle is one
 * file, so its module is built with the WASM bytes inlined.
 */
const inlineZstd = {
  name: "amber-inline-zstd",
  setup(b) {
    const require = createRequire(join(here, "../../packages/compress/package.json"));
    const dist = join(dirname(require.resolve("@bokuweb/zstd-wasm")), "../esm");
    b.onResolve({ filter: /^@bokuweb\/zstd-wasm$/ }, () => ({
      path: "zstd-inline",
      namespace: "amber-zstd",
    }));
    b.onLoad({ filter: /.*/, namespace: "amber-zstd" }, () => ({
      resolveDir: dist,
      loader: "js",
      contents: [
        'import { Module, waitInitialized } from "./module.js";',
        'import wasm from "./zstd.wasm";',
        "export const init = async () => { Module.init(wasm); await waitInitialized(); };",
        'export * from "./simple/decompress.js";',
        'export * from "./simple/compress.js";',
      ].join("\n"),
    }));
  },
};

const common = {
  bundle: true,
  conditions: ["@amber/source"],
  mainFields: ["module", "main"],
  logLevel: "warning",
  legalComments: "none",
};

/** Writes the three files into `outdir` (default dist/bundle-runtime). */
export async function buildBundleRuntime(outdir = join(here, "dist/bundle-runtime")) {
  await build({
    ...common,
    entryPoints: [join(commands, "bundle-runtime-entry.ts")],
    outfile: join(outdir, "runtime.js"),
    platform: "neutral",
    format: "iife",
    globalName: "amberBundleRuntime",
    target: "es2022",
    minify: true,
    loader: { ".wasm": "binary" },
    plugins: [inlineZstd],
  });
  await build({
    ...common,
    entryPoints: [join(commands, "bundle-loader-module.ts")],
    outfile: join(outdir, "loader.mjs"),
    platform: "neutral",
    format: "esm",
    target: "es2022",
  });
  await build({
    ...common,
    entryPoints: [join(commands, "bundle-loader-executable.ts")],
    outfile: join(outdir, "loader.cjs"),
    platform: "node",
    format: "cjs",
    target: "node20",
  });
  await build({
    ...common,
    entryPoints: [createRequire(join(here, "package.json")).resolve("postject")],
    outfile: join(outdir, "postject.cjs"),
    platform: "node",
    format: "cjs",
    target: "node20",
  });
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildBundleRuntime();
