// Bundles the CLI into one file. Workspace packages are bundled from their TypeScript
// sources (the "@amber/source" condition), so the app never depends on their dist/.
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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
 * Built-ins that dependencies require when loaded but use only in what few runs do: each
 * such require gives the dependency a stand-in that loads the module on first use.
 * commander's node:child_process runs executable subcommands, which amber has none of
 * (with net and dgram, several ms of every start); cli-progress's readline (and Node's
 * streams with it) moves the cursor of a progress bar, drawn only on a terminal.
 */
const LAZY_BUILTINS = [
  { importer: /[\\/]commander[\\/]/, module: /^(node:)?child_process$/, name: "node:child_process" },
  { importer: /[\\/]cli-progress[\\/]/, module: /^(node:)?readline$/, name: "node:readline" },
];
const lazyBuiltins = {
  name: "amber-lazy-builtins",
  setup(b) {
    b.onResolve({ filter: /^(node:)?(child_process|readline)$/ }, (args) => {
      const lazy = LAZY_BUILTINS.find((l) => l.module.test(args.path) && l.importer.test(args.importer));
      return lazy ? { path: lazy.name, namespace: "amber-lazy" } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "amber-lazy" }, (args) => ({
      loader: "js",
      contents: `let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require(${JSON.stringify(args.path)}))[k] });`,
    }));
  },
};

/**
 * hash-wasm (BLAKE3) carries its WASM module as base64 and decodes it with a JavaScript
 * loop, which runs once per process, cold: measured about a tenth of an `amber resume`'s
 * CPU time over Node's own start. Node's Buffer decodes it natively; the loop stays for
 * hosts without Buffer. Fails the build if hash-wasm's code no longer has the function.
 */
const DECODE_BASE64 = "function decodeBase64(data) {";
const nativeBase64 = {
  name: "amber-native-base64",
  setup(b) {
    b.onLoad({ filter: /[\\/]hash-wasm[\\/]dist[\\/]index\.esm\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      if (!text.includes(DECODE_BASE64)) throw new Error(`${args.path}: no ${DECODE_BASE64}`);
      return {
        loader: "js",
        contents: text.replace(
          DECODE_BASE64,
          // A copy: hash-wasm hands the whole ArrayBuffer to WebAssembly.compile.
          `${DECODE_BASE64} if (typeof Buffer === "function") return new Uint8Array(Buffer.from(data, "base64"));`,
        ),
      };
    });
  },
};

/**
 * esbuild gives each `import * as fs from "node:fs"` its own copy of the module's namespace
 * (a getter per export, made by its __toESM helper): 21 copies of node:fs, 21 of node:path,
 * thousands of closures made at every start. In ES modules there is one namespace object per
 * module: the helper is made to keep the first copy of each module's (for ES module importers,
 * the calls with isNodeMode set) and hand it to every importer.
 */
const TO_ESM =
  /var ([\w$]+)=\(([\w$]+),([\w$]+),([\w$]+)\)=>\(\4=\2!=null\?[\w$]+\([\w$]+\(\2\)\):\{\},[\w$]+\(\3\|\|!\2\|\|!\2\.__esModule\?[\w$]+\(\4,"default",\{value:\2,enumerable:!0\}\):\4,\2\)\);/g;
function shareNamespaces(text, file) {
  const found = [...text.matchAll(TO_ESM)];
  if (found.length !== 1) throw new Error(`${file}: ${found.length} esbuild __toESM helpers, expected 1`);
  const [helper, name] = found[0];
  const at = found[0].index + helper.length;
  const memo = `${name}=(f=>{let c=new WeakMap;return(n,e)=>{if(!e||n==null||typeof n!="object")return f(n,e);let t=c.get(n);if(t===void 0)c.set(n,t=f(n,e));return t}})(${name});`;
  return text.slice(0, at) + memo + text.slice(at);
}

/**
 * amber-main.cjs as the launcher compiles it: one function expression taking what a CommonJS
 * module gets (and the launcher's URL), written so at build time. Wrapped at every start
 * instead, V8 copied the 0.6 MB source once more, and all of it ASCII (esbuild's default
 * charset, asserted here) so that the launcher reads it as Latin-1, without UTF-8 decoding.
 */
function finishMain(file) {
  const text = shareNamespaces(readFileSync(file, "utf8"), file);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range itself
  const wide = /[^\x00-\x7f]/.exec(text);
  if (wide !== null) throw new Error(`${file}: non-ASCII character at ${wide.index}`);
  writeFileSync(file, `(function (exports, require, module, __filename, __dirname, __amberUrl) {${text}\n})`);
}

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
    plugins: [lazyBuiltins, nativeBase64],
    // No source map: it would point at the workspace's sources, which the package does not ship.
    sourcemap: false,
    // Half the bytes Node reads, decodes and parses at every start. Not keepNames: its
    // __name() calls would break code run from its own source text (the serial back ends'
    // worker); messages name errors by their explicit `name` fields.
    minify: true,
    charset: "ascii",
    logLevel: "warning",
  });
  finishMain(main);
  const id = createHash("sha256").update(readFileSync(main)).digest("hex").slice(0, 16);
  // The launcher is a CommonJS script (see launcher.ts), wherever it is written: this tells
  // Node so (apps/amber's own package.json says "module", and without any Node would first
  // try it one way, then the other).
  writeFileSync(join(outdir, "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);
  await build({
    entryPoints: [`${here}src/launcher.ts`],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
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
  // Executable, so that `apps/amber/dist/amber.js ARGS` runs as the installed `amber` does,
  // through its shebang and its flags (npm makes a package's bin executable when it installs it).
  chmodSync(outfile, 0o755);
  rmSync(`${outfile}.map`, { force: true }); // left by earlier builds that made one
  copyFileSync(zstdWasmPath(), join(dirname(outfile), "zstd.wasm"));
  // `amber repl` boots the project's Lisp world by default: ship its ELF beside the bundle.
  copyFileSync(join(here, "../../tools/guests/lisp/out/lisp.elf"), join(dirname(outfile), "lisp.elf"));
  // `amber bundle` writes the runtime and a loader into every bundle: build them beside the CLI.
  await buildBundleRuntime(join(dirname(outfile), "bundle-runtime"));
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
