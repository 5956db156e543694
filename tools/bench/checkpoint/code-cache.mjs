// What a V8 code cache would take off a resume: the same image resumed (open + restore +
// first instruction) in fresh processes, the library bundled as CommonJS and loaded through
// `vm.Script` without and with `cachedData` made after one resume (so it holds the
// functions a resume compiles on first call). Interleaved; medians of the resume's CPU time
// (process.cpuUsage, steadier than wall time on a loaded machine) and wall time, and of the
// load (bundle + initCheckpoint). Evidence for the CLI's start-up, which would carry the cache.
// Usage: node tools/bench/checkpoint/code-cache.mjs [--runs N]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { CHECKPOINT_MACHINE_ENTRY, importCheckpointMachine, root } from "../bundle-sources.mjs";
import { median, takeFlag } from "../stats.mjs";
import { makePage } from "./page-data.mjs";

const args = process.argv.slice(2);
const runs = Math.max(3, Number(takeFlag(args, "--runs", "11")) || 11);
const MiB = 1 << 20;
const entry = CHECKPOINT_MACHINE_ENTRY;
// Beside the ES module bundle of machine.mjs, so the WASM packages resolve from there.
const bundle = join(root, "packages/compress/node_modules/.cache/amber-bench/checkpoint-machine.cjs");
await build({
  stdin: { contents: entry, resolveDir: root, loader: "js" },
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  conditions: ["@amber/source"],
  external: ["@bokuweb/zstd-wasm", "xxhash-wasm"],
  logLevel: "warning",
  define: { "import.meta.url": "__importMetaUrl" },
  banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
});

const dir = mkdtempSync(join(tmpdir(), "amber-code-cache-"));
try {
  // The image machine.mjs resumes: the CPU benchmark guest on 256 MiB with 64 MiB of data.
  const ck = await importCheckpointMachine("checkpoint-machine");
  const m = new ck.Machine({ ramSize: 256 * MiB, io: new ck.CapturedIo() });
  m.loadElf(readFileSync(join(root, "tools/guests/out/rv32imac/bench.elf")), "bench.elf");
  const page = new Uint8Array(4096);
  for (let p = 0; p < (64 * MiB) / 4096; p++) m.ram.writeBytes(16 * MiB + p * 4096, makePage(p, page));
  m.run(200_000);
  const image = join(dir, "resume.ambc");
  const s = m.beginSave({ name: "amber-bench", version: "0" });
  s.committed(ck.node.writeCheckpointFile(image, s.input));

  const cache = join(dir, "code.cache");
  const probe = join(dir, "probe.cjs");
  writeFileSync(
    probe,
    `const t0 = performance.now();
const vm = require("node:vm"), fs = require("node:fs"), Module = require("node:module"), path = require("node:path");
const file = ${JSON.stringify(bundle)};
const mode = process.argv[2];
const cachedData = mode === "use" ? fs.readFileSync(${JSON.stringify(cache)}) : undefined;
const script = new vm.Script(Module.wrap(fs.readFileSync(file, "utf8")), { filename: file, cachedData });
if (mode === "use" && script.cachedDataRejected) throw new Error("code cache rejected");
const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
const ck = mod.exports;
ck.initCheckpoint().then(() => {
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const r = ck.node.openCheckpoint(${JSON.stringify(image)});
  const m = ck.Machine.fromCheckpoint(r, { io: new ck.CapturedIo(), baselineBytes: 0 });
  m.run(1);
  const c = process.cpuUsage(c1);
  const t2 = performance.now();
  if (mode === "make") fs.writeFileSync(${JSON.stringify(cache)}, script.createCachedData());
  console.log(JSON.stringify({ load: t1 - t0, wall: t2 - t1, cpu: (c.user + c.system) / 1000 }));
});
`,
  );
  const once = (mode) => JSON.parse(execFileSync(process.execPath, [probe, mode], { encoding: "utf8" }));
  once("make");
  const rows = { none: [], use: [] };
  for (let i = 0; i < runs; i++) for (const mode of ["none", "use"]) rows[mode].push(once(mode));
  const f = (rs, k) => median(rs.map((r) => r[k])).toFixed(1);
  console.log(`Node ${process.version}, medians of ${runs} fresh processes each, interleaved\n`);
  console.log(
    "| resume (open + restore + 1 step) | CPU | wall | load (bundle + init) |\n| --- | ---: | ---: | ---: |",
  );
  for (const [mode, label] of [
    ["none", "compiled on first call"],
    ["use", "from a code cache made after one resume"],
  ]) {
    const rs = rows[mode];
    console.log(`| ${label} | ${f(rs, "cpu")} ms | ${f(rs, "wall")} ms | ${f(rs, "load")} ms |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
