// Whole-machine save/restore as a user sees it, at 256 MiB of guest RAM, next to
// Firecracker's published snapshot figures (full 180 ms, diff 70 ms at 256 MB, resume < 8 ms):
//   - resume: `amber resume IMG` start to the first guest instruction, next to `node -e 0`
//     and the bundled CLI's `--version` (Node and CLI start-up), and measured inside a fresh
//     process (open image + restore machine + first instruction);
//   - full and diff saves (the machine's save API: dirty epochs, XOR-delta, atomic write);
//   - save-and-continue: the longest time the guest does not run while an image is written.
// (Resident memory is tools/bench/rss.mjs: the CLI's peak RSS on a guest touching T bytes.)
// With --json, one JSON line instead of the table: { node, runs, rows: [{ benchmark, time,
// size, anchor }] (the table's text), resume: { insideMs, againMs (a second resume in that
// process: code compiled), compactedMs (the image compacted to zstd), processMs, node0Ms,
// versionMs, imageBytes } }, the parts not run absent.
// Usage: node --expose-gc tools/bench/checkpoint/machine.mjs [--runs N] [--only save,continue,resume] [--json]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundle } from "../../../apps/amber/build.mjs";
import { importCheckpointMachine, root } from "../bundle-sources.mjs";
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

  // 3. Resume: an image of the guest with 64 MiB of data, resumed by the bundled CLI for one
  // instruction; Node's and the CLI's start-up measured in the same run.
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
    const wall = (argv) => {
      const t = performance.now();
      const r = spawnSync(process.execPath, argv, { encoding: "utf8" });
      const d = performance.now() - t;
      if (r.error) throw r.error;
      return d;
    };
    const probe = join(dir, "probe.mjs");
    writeFileSync(
      probe,
      [
        `const t0 = performance.now();`,
        `const ck = await import(${JSON.stringify(pathToFileURL(join(root, "packages/compress/node_modules/.cache/amber-bench/checkpoint-machine.mjs")).href)});`,
        `await ck.initCheckpoint();`,
        `const image = process.argv[2];`,
        `const t1 = performance.now();`,
        `const r = ck.node.openCheckpoint(image);`,
        `const m = ck.Machine.fromCheckpoint(r, { io: new ck.CapturedIo(), baselineBytes: 0 });`,
        `m.run(1);`,
        `const t2 = performance.now();`,
        // The same again in this process: V8 has compiled the code by now, so this is
        // Amber's own work (the first one also pays for compiling ~270 functions on first call).
        `const r2 = ck.node.openCheckpoint(image);`,
        `const m2 = ck.Machine.fromCheckpoint(r2, { io: new ck.CapturedIo(), baselineBytes: 0 });`,
        `m2.run(1);`,
        `const t3 = performance.now();`,
        `r.close(); r2.close();`,
        `console.log(JSON.stringify({ load: t1 - t0, resume: t2 - t1, again: t3 - t2 }));`,
      ].join("\n"),
    );
    const node0 = [];
    const version = [];
    const resume = [];
    const inside = [];
    const again = [];
    const insideZstd = [];
    for (let i = 0; i < Math.max(runs, 7); i++) {
      node0.push(wall(["-e", "0"]));
      version.push(wall([cli, "--version"]));
      resume.push(wall([cli, "resume", image, "--max-insns", String(steps + 1)]));
      const r = JSON.parse(execFileSync(process.execPath, [probe, image], { encoding: "utf8" }));
      inside.push(r.resume);
      again.push(r.again);
      insideZstd.push(
        JSON.parse(execFileSync(process.execPath, [probe, compacted], { encoding: "utf8" })).resume,
      );
    }
    results.resume = {
      insideMs: median(inside),
      againMs: median(again),
      compactedMs: median(insideZstd),
      processMs: median(resume),
      node0Ms: median(node0),
      versionMs: median(version),
      imageBytes: statSync(image).size,
    };
    rows.push([
      "resume to the first guest instruction, inside a fresh process (open + restore + 1 step)",
      ms(median(inside)),
      `${(statSync(image).size / MiB).toFixed(1)} MiB image`,
      "Firecracker resume: < 8 ms",
    ]);
    rows.push([
      "the same again in that process (code compiled: Amber's own work)",
      ms(median(again)),
      "",
      "",
    ]);
    rows.push([
      "resume in a fresh process, the image compacted (zstd: the first page decodes a zstd block)",
      ms(median(insideZstd)),
      `${(statSync(compacted).size / MiB).toFixed(1)} MiB image`,
      "",
    ]);
    rows.push([
      "`amber resume IMG --max-insns N+1` (whole process)",
      ms(median(resume)),
      "",
      `\`node -e 0\`: ${ms(median(node0))}, \`amber --version\`: ${ms(median(version))}`,
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
