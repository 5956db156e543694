// Whole-machine save/restore as a user sees it, at 256 MiB of guest RAM, next to
// Firecracker's published snapshot figures (full 180 ms, diff 70 ms at 256 MB, resume < 8 ms):
//   - resume: open image + restore machine + first instruction inside `amber resume IMG` (a
//     fresh process, with and without the CLI's code cache) and in one process with the
//     library (first, second, warm); the whole process next to `node -e 0` and the bundled
//     CLI's `--version` (Node and CLI start-up);
//   - full and diff saves (the machine's save API: dirty epochs, XOR-delta, atomic write);
//   - save-and-continue: the longest time the guest does not run while an image is written.
// (Resident memory is tools/bench/rss.mjs: the CLI's peak RSS on a guest touching T bytes.)
// With --json, one JSON line instead of the table: { node, runs, rows: [{ benchmark, time,
// size, anchor }] (the table's text), resume: { firstMs (`amber resume` with its code cache,
// open to first instruction: the judged figure), firstCpuMs (its CPU time: all the process's
// threads), firstNoCacheMs and firstNoCacheCpuMs (without a cache), insideMs,
// againMs, warmMs (the library's first, second and 20th resume in one process), compactedMs
// (the image compacted to zstd, with the cache), processMs, node0Ms, versionMs, imageBytes },
// the parts not run absent.
// Usage: node --expose-gc tools/bench/checkpoint/machine.mjs [--runs N] [--only save,continue,resume] [--json]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundle } from "../../../apps/amber/build.mjs";
import { importCheckpointMachine, root } from "../bundle-sources.mjs";
import { shebangFlags } from "../cli-process.mjs";
import { median, takeFlag } from "../stats.mjs";
import { makePage } from "./page-data.mjs";

const args = process.argv.slice(2);
const runs = Math.max(3, Number(takeFlag(args, "--runs", "5")) || 5);
// --only save,continue,resume: run only those parts (default all).
const only = takeFlag(args, "--only", "save,continue,resume").split(",");
const want = (part) => only.includes(part);
const json = args.includes("--json");
const PAGE = 4096;
const MiB = 1 << 20;
const RAM = 256 * MiB;
const GUEST = join(root, "tools/guests/out/rv32imac/bench.elf");

const ck = await importCheckpointMachine("checkpoint-machine");
const dir = mkdtempSync(join(tmpdir(), "amber-machine-bench-"));
const rows = [];
/** The measured figures by name, for --json. */
const results = {};
const creator = { name: "amber-bench", version: "0" };
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

/** Where the data lies in RAM: above the guest, below the device tree. */
const DATA = 16 * MiB;

/** The CPU benchmark guest on 256 MiB at step 200 000, with `touched` bytes of data at DATA. */
function bootMachine(touched) {
  const m = new ck.Machine({ ramSize: RAM, io: new ck.CapturedIo() });
  m.loadElf(readFileSync(GUEST), "bench.elf");
  const page = new Uint8Array(PAGE);
  for (let p = 0; p < touched / PAGE; p++) m.ram.writeBytes(DATA + p * PAGE, makePage(p, page));
  m.run(200_000);
  return m;
}

function time(fn) {
  const t = performance.now();
  const r = fn();
  return { ms: performance.now() - t, r };
}

try {
  // 1. Full saves at 256 MiB RAM (everything touched, and a quarter), then diff saves.
  for (const touched of want("save") ? [224 * MiB, 64 * MiB] : []) {
    globalThis.gc?.();
    const m = bootMachine(touched);
    const file = join(dir, `full-${touched}.ambc`);
    const ts = [];
    let size = 0;
    for (let i = 0; i < runs; i++) {
      const { ms: t, r } = time(() => {
        const s = m.beginSave(creator);
        const w = ck.node.writeCheckpointFile(file, s.input);
        s.committed(w);
        return w;
      });
      ts.push(t);
      size = r.size;
    }
    rows.push([
      `full save, 256 MiB RAM, ${touched / MiB} MiB of it touched (the machine's default: codec none, fsync)`,
      ms(median(ts)),
      `${(size / MiB).toFixed(1)} MiB`,
      "Firecracker full: 180 ms (raw 256 MB)",
    ]);
    if (touched !== 64 * MiB) {
      // The same compressed while saving (zstd -3), as saves were before "save fast, compress later".
      const raw = [];
      for (let i = 0; i < runs; i++) {
        raw.push(
          time(() => {
            const s = m.beginSave(creator);
            try {
              size = ck.node.writeCheckpointFile(file, { ...s.input, codec: "zstd" }).size;
            } finally {
              s.end();
            }
          }).ms,
        );
      }
      rows.push([
        `full save, 256 MiB RAM, ${touched / MiB} MiB touched, compressed while saving (zstd-3, fsync)`,
        ms(median(raw)),
        `${(size / MiB).toFixed(1)} MiB`,
        "Firecracker full: 180 ms (raw 256 MB)",
      ]);
    }
    if (touched !== 64 * MiB) continue;
    // Diff saves: pages dirtied by the host between saves, each save on the previous image.
    for (const dirtyBytes of [MiB, 16 * MiB]) {
      const n = dirtyBytes / PAGE;
      const step = touched / PAGE / n;
      let prev = file;
      const ds = [];
      let dsize = 0;
      for (let i = 0; i <= runs; i++) {
        for (let k = 0; k < n; k++) {
          const at = DATA + Math.floor(k * step) * PAGE + ((k * 64 + i * 8) % PAGE);
          m.ram.write(at, 4, (m.ram.read(at, 4) ^ (0x9e3779b9 * (i + 1))) >>> 0);
        }
        const parent = ck.node.openCheckpoint(prev);
        const next = join(dir, `diff-${dirtyBytes}-${i}.ambc`);
        const { ms: t, r } = time(() => {
          const s = m.beginSave(creator, { parent, parentHint: prev.split("/").pop() });
          const w = ck.node.writeCheckpointFile(next, s.input);
          s.committed(w);
          return w;
        });
        if (i > 0) ds.push(t); // the first one warms the code up
        dsize = r.size;
        parent.close();
        prev = next;
      }
      rows.push([
        `diff save, 256 MiB RAM, ${dirtyBytes / MiB} MiB dirtied (dirty epochs, delta, fsync)`,
        ms(median(ds)),
        `${(dsize / 1024).toFixed(0)} KiB`,
        "Firecracker diff: 70 ms",
      ]);
    }
  }

  // 2. Save-and-continue: the guest runs 100 000 steps after every 64 pages written (as
  // `amber run/resume --save-at` and the REPL do); the pause is the longest stretch without
  // guest progress, from the save instant to the image's rename.
  if (want("continue")) {
    globalThis.gc?.();
    const m = bootMachine(64 * MiB);
    const pauses = [];
    const firsts = [];
    const tails = [];
    const totals = [];
    let stopped = [];
    for (let i = 0; i < runs; i++) {
      let last = performance.now();
      const start = last;
      let longest = 0;
      let first;
      const s = m.beginSave(creator, {
        every: 64,
        between: () => {
          const now = performance.now();
          first ??= now - start;
          longest = Math.max(longest, now - last);
          m.run(100_000);
          last = performance.now();
        },
      });
      s.committed(ck.node.writeCheckpointFile(join(dir, "running.ambc"), s.input));
      const end = performance.now();
      pauses.push(Math.max(longest, end - last));
      firsts.push(first);
      tails.push(end - last);
      totals.push(end - start);
      stopped.push(
        time(() => {
          const t = m.beginSave(creator);
          t.committed(ck.node.writeCheckpointFile(join(dir, "stopped.ambc"), t.input));
        }).ms,
      );
    }
    rows.push([
      "save-and-continue, 256 MiB RAM, 64 MiB touched: longest guest pause",
      ms(median(pauses)),
      `save ${ms(median(totals))}`,
      `stop-the-world save: ${ms(median(stopped))}; pause before the first slice ${ms(median(firsts))}, after the last page (finish, fsync, rename) ${ms(median(tails))}`,
    ]);
    stopped = [];
  }

  // 3. Resume: an image of the guest with 64 MiB of data. The judged figure is the user's:
  // `amber resume IMG --max-insns N+1 --stats` in a fresh process, with the V8 code cache the
  // CLI keeps (made by an earlier run, as any second `amber resume` has it), from opening the
  // image to the first guest instruction run (the stats' restoreSeconds + seconds). Beside it:
  // the same without a code cache (AMBER_CODE_CACHE=off: V8 compiles on first call), and in
  // one process with the library (no cache) the first resume, the second and the warm one
  // (the 20th: V8 has compiled and optimised the code, so it is Amber's own work).
  // Node's and the CLI's start-up measured in the same rounds.
  if (want("resume")) {
    const cli = join(dir, "amber.js");
    await bundle(cli);
    const m = bootMachine(64 * MiB);
    const image = join(dir, "resume.ambc");
    const s = m.beginSave(creator);
    s.committed(ck.node.writeCheckpointFile(image, s.input));
    const steps = m.hart.steps;
    // The same image compacted ("save fast, compress later", as the REPL does when idle):
    // its first page read decodes a zstd block.
    const compacted = join(dir, "resume-zstd.ambc");
    ck.node.compactCheckpointFile(image, { dst: compacted });
    const spawn = (argv, env) => {
      const t = performance.now();
      const r = spawnSync(process.execPath, argv, { encoding: "utf8", env: { ...process.env, ...env } });
      const d = performance.now() - t;
      if (r.error) throw r.error;
      return { ms: d, r };
    };
    const wall = (argv) => spawn(argv).ms;
    // The CLI as installed runs through its shebang, with the Node flags written there.
    const nodeFlags = shebangFlags(cli);
    const codeCache = join(dir, "code-cache");
    /**
     * `amber resume IMG` for one instruction: [open → first instruction (ms), whole process
     * (ms), the CPU time of open → first instruction (ms: all the process's threads)].
     */
    const resumeCli = (img, cache) => {
      const argv = [...nodeFlags, cli, "resume", img, "--max-insns", String(steps + 1), "--stats"];
      const { ms: whole, r } = spawn(argv, {
        AMBER_CODE_CACHE: cache,
      });
      const line = r.stderr.split("\n").find((l) => l.startsWith("{"));
      // 124: stopped by --max-insns, as asked
      if (r.status !== 124 || line === undefined) throw new Error(`amber resume: ${r.status}: ${r.stderr}`);
      const stats = JSON.parse(line);
      return [
        (stats.restoreSeconds + stats.seconds) * 1000,
        whole,
        (stats.restoreCpuSeconds + stats.runCpuSeconds) * 1000,
      ];
    };
    resumeCli(image, codeCache); // writes the code cache, as a user's first `amber resume` does
    const probe = join(dir, "probe.mjs");
    writeFileSync(
      probe,
      [
        `const ck = await import(${JSON.stringify(pathToFileURL(join(root, "packages/compress/node_modules/.cache/amber-bench/checkpoint-machine.mjs")).href)});`,
        `await ck.initCheckpoint();`,
        `const image = process.argv[2];`,
        `const times = [];`,
        // The first resume pays for compiling ~270 functions on first call; by the 20th V8
        // has compiled and optimised them.
        `for (let i = 0; i < 20; i++) {`,
        `  const t = performance.now();`,
        `  const r = ck.node.openCheckpoint(image);`,
        `  const m = ck.Machine.fromCheckpoint(r, { io: new ck.CapturedIo(), baselineBytes: 0 });`,
        `  m.run(1);`,
        `  times.push(performance.now() - t);`,
        `  r.close();`,
        `}`,
        `console.log(JSON.stringify({ first: times[0], again: times[1], warm: times[19] }));`,
      ].join("\n"),
    );
    const f = {
      node0: [],
      version: [],
      first: [],
      firstCpu: [],
      firstNoCache: [],
      firstNoCacheCpu: [],
      process: [],
      compacted: [],
    };
    const lib = { first: [], again: [], warm: [] };
    for (let i = 0; i < Math.max(runs, 7); i++) {
      f.node0.push(wall(["-e", "0"]));
      f.version.push(wall([...nodeFlags, cli, "--version"]));
      const [first, whole, firstCpu] = resumeCli(image, codeCache);
      f.first.push(first);
      f.firstCpu.push(firstCpu);
      f.process.push(whole);
      const [noCache, , noCacheCpu] = resumeCli(image, "off");
      f.firstNoCache.push(noCache);
      f.firstNoCacheCpu.push(noCacheCpu);
      f.compacted.push(resumeCli(compacted, codeCache)[0]);
      const r = JSON.parse(execFileSync(process.execPath, [probe, image], { encoding: "utf8" }));
      for (const k of Object.keys(lib)) lib[k].push(r[k]);
    }
    results.resume = {
      firstMs: median(f.first),
      firstCpuMs: median(f.firstCpu),
      firstNoCacheMs: median(f.firstNoCache),
      firstNoCacheCpuMs: median(f.firstNoCacheCpu),
      warmMs: median(lib.warm),
      insideMs: median(lib.first),
      againMs: median(lib.again),
      compactedMs: median(f.compacted),
      processMs: median(f.process),
      node0Ms: median(f.node0),
      versionMs: median(f.version),
      imageBytes: statSync(image).size,
    };
    const size = `${(statSync(image).size / MiB).toFixed(1)} MiB image`;
    rows.push([
      "`amber resume`: open to the first guest instruction, fresh process, with the CLI's V8 code cache (the user's path); CPU beside",
      `${ms(median(f.first))} (CPU ${ms(median(f.firstCpu))})`,
      size,
      "Firecracker resume: < 8 ms",
    ]);
    rows.push([
      "the same without a code cache (AMBER_CODE_CACHE=off: V8 compiles on first call)",
      `${ms(median(f.firstNoCache))} (CPU ${ms(median(f.firstNoCacheCpu))})`,
      "",
      "",
    ]);
    rows.push([
      "the library in one process (open + restore + 1 step): first resume, second, 20th (warm: Amber's own work)",
      `${ms(median(lib.first))}, ${ms(median(lib.again))}, ${ms(median(lib.warm))}`,
      "",
      "",
    ]);
    rows.push([
      "`amber resume` with the code cache, the image compacted (zstd: the first page decodes a zstd block)",
      ms(median(f.compacted)),
      `${(statSync(compacted).size / MiB).toFixed(1)} MiB image`,
      "",
    ]);
    rows.push([
      "`amber resume IMG --max-insns N+1` (whole process, with the code cache)",
      ms(median(f.process)),
      "",
      `\`node -e 0\`: ${ms(median(f.node0))}, \`amber --version\`: ${ms(median(f.version))}`,
    ]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (json) {
  const table = rows.map(([benchmark, time, size, anchor]) => ({ benchmark, time, size, anchor }));
  console.log(JSON.stringify({ node: process.version, runs, rows: table, ...results }));
} else {
  console.log(`Node ${process.version}, medians of ${runs} runs\n`);
  console.log("| benchmark | time | size | anchor |\n| --- | ---: | ---: | --- |");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}
