import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Script } from "node:vm";
import { ExitCode } from "./exit-codes.js";

/**
 * The `amber` program as installed: dist/amber.js is this launcher, and the CLI itself is
 * dist/amber-main.cjs, one script compiled here with V8's code cache. Compiling the CLI's
 * 0.6 MB was about a quarter of an `amber resume`'s start-up; with the cache V8 deserialises
 * what an earlier run compiled (its functions included) instead. Node 20 has no code cache
 * for ES modules, hence a script.
 *
 * The launcher itself is a CommonJS script too (build.mjs writes a package.json saying so
 * beside it): as an ES module, Node set up its ES module loader and built an ES module view
 * of node:fs (loading fs's streams with it) before the first line ran, about a tenth of an
 * `amber resume`'s start-up.
 *
 * The cache is a file per build of the CLI, Node version and architecture, in
 * AMBER_CODE_CACHE (a directory; "off" for none), else $XDG_CACHE_HOME/amber/code-cache,
 * else ~/.cache/amber/code-cache. A cache V8 rejects (another V8, other flags) is ignored
 * and replaced; one that cannot be read or written (read-only, no home) only costs the
 * compile, as without a cache. Written atomically (temporary file, rename), once, at exit.
 *
 * One cache per command (the first argument when it is a word; "other" for options alone,
 * as `--version` or none): a cache holds the functions the run that wrote it compiled, so
 * one written by `amber --version` would leave an `amber resume` compiling its own code at
 * every start. A run refused as a bad command line (exit status 2: a mistyped command)
 * writes none.
 */
declare const AMBER_MAIN_ID: string; // build.mjs: a digest of amber-main.cjs

const dir = __dirname;
const mainFile = join(dir, "amber-main.cjs");
const cacheDir = codeCacheDir();
const command = /^[a-z][a-z0-9-]{0,31}$/.test(process.argv[2] ?? "") ? process.argv[2] : "other";
const buildPrefix = `amber-main-${AMBER_MAIN_ID}-`;
const cacheName = `${buildPrefix}${command}-${process.version}-${process.arch}.v8cache`;

function codeCacheDir(): string | undefined {
  const chosen = process.env.AMBER_CODE_CACHE;
  if (chosen === "off") return undefined;
  if (chosen) return chosen;
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME && join(process.env.HOME, ".cache"));
  return base ? join(base, "amber", "code-cache") : undefined;
}

function readCache(): Buffer | undefined {
  if (cacheDir === undefined) return undefined;
  try {
    return readFileSync(join(cacheDir, cacheName));
  } catch {
    return undefined;
  }
}

function writeCache(data: Buffer): void {
  if (cacheDir === undefined) return;
  try {
    mkdirSync(cacheDir, { recursive: true });
    const temp = join(cacheDir, `${cacheName}.${process.pid}.tmp`);
    writeFileSync(temp, data);
    renameSync(temp, join(cacheDir, cacheName));
    // Caches of other builds of the CLI are never read again.
    for (const f of readdirSync(cacheDir)) {
      if (f.startsWith("amber-main-") && f.endsWith(".v8cache") && !f.startsWith(buildPrefix)) {
        rmSync(join(cacheDir, f), { force: true });
      }
    }
  } catch {
    // A read-only or full disk: runs compile the CLI as without a cache.
  }
}

const cached = readCache();
// The file is one function expression, all ASCII (build.mjs): Latin-1 reads it as it is.
const script = new Script(readFileSync(mainFile, "latin1"), { filename: mainFile, cachedData: cached });
if (cached === undefined || script.cachedDataRejected === true) {
  // At exit, so the functions this run compiled are in the cache too.
  process.once("exit", (status) => {
    if (status !== ExitCode.Usage) writeCache(script.createCachedData());
  });
}
// A compiled script cannot import() without --experimental-vm-modules: lend it this
// script's, which Node gives ES module semantics (a user's `amber script FILE`; see
// import-module.ts).
(globalThis as { __amberImport?: (url: string) => Promise<unknown> }).__amberImport = (url) => import(url);
// The CLI's own `import.meta.url` is this launcher's: worker threads run this file.
const main = { exports: {} };
script.runInThisContext()(main.exports, require, main, mainFile, dir, pathToFileURL(__filename).href);
