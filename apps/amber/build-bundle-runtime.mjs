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
 * @amber/compress reads zstd.wasm from a file in Node (`#zstd-wasm`); a bundle is one file, so
 * the runtime gets the module's bytes inlined instead.
 */
const inlineZstd = {
  name: "amber-inline-zstd",
  setup(b) {
    const require = createRequire(join(here, "../../packages/compress/package.json"));
    const wasm = join(dirname(require.resolve("@bokuweb/zstd-wasm")), "zstd.wasm");
    b.onResolve({ filter: /^#zstd-wasm$/ }, () => ({ path: "zstd-inline", namespace: "amber-zstd" }));
    b.onLoad({ filter: /.*/, namespace: "amber-zstd" }, () => ({
      resolveDir: dirname(wasm),
      loader: "js",
      contents: [
        `import wasm from ${JSON.stringify(wasm)};`,
        "export const canLoadZstdSync = true;",
        "export const defaultZstdWasmSync = () => wasm;",
        "export const defaultZstdWasm = async () => wasm;",
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
