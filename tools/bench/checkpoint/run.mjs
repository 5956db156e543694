// Benchmarks @amber/checkpoint: full save of a synthetic RAM next to `zstd -3` of the raw
// dump, incremental saves at two RAM sizes through @amber/machine's save API (what `amber
// resume --save-at` and the REPL's `:save` do), and open-to-first-page latency of a 1 GiB image.
// Usage: node tools/bench/checkpoint/run.mjs [--runs N]   (npx -y pnpm@10.34.8 --filter @amber/checkpoint bench)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importBundle, root } from "../bundle-sources.mjs";
import { median } from "../stats.mjs";
import { makePage } from "./page-data.mjs";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 3) || 3;

/** The checkpoint package, its Node entry and the machine, bundled from sources. */
function load() {
  return importBundle(
    "checkpoint",
    [
      'export * from "./packages/checkpoint/src/index.ts";',
      'export * as node from "./packages/checkpoint/src/node/index.ts";',
      'export { Machine } from "./packages/machine/src/index.ts";',
    ].join(" "),
    root,
  );
}

const PAGE = 4096;
const MiB = 1 << 20;

function touchedPages(ramBytes, touchedBytes) {
  const total = ramBytes / PAGE;
  const n = touchedBytes / PAGE;
  const step = total / n;
  return Array.from({ length: n }, (_, i) => Math.floor(i * step));
}

function time(fn) {
  const t = performance.now();
  const r = fn();
  return { ms: performance.now() - t, r };
}

const ck = await load();
await ck.initCheckpoint();
const dir = mkdtempSync(join(tmpdir(), "amber-ckpt-bench-"));
const rows = [];

function input(ramBytes, pages, extra = {}) {
  return {
    machine: "riscv32-virt",
    creator: { name: "amber-bench", version: "0" },
    instructionCount: 1n,
    sections: [{ name: "cpu0", version: 1, fields: { pc: 0x80000000, x: new Uint32Array(32) } }],
    segments: [
      {
        name: "ram",
        base: 0x80000000,
        size: ramBytes,
        pages: { pages: () => pages, readPage: (i) => makePage(i) },
      },
    ],
    ...extra,
  };
}

try {
  // 1. Full save: 128 MiB RAM, 32 MiB touched, with each codec (the pages already in memory,
  // as a machine's are); `lz4` and `zstd -3` of the raw dump (CLI) in the same run as
  // anchors; then `compact` (the saved image recompressed to zstd, digest kept).
  const ram128 = 128 * MiB;
  const touched = touchedPages(ram128, 32 * MiB);
  const held = new Map(touched.map((p) => [p, makePage(p)]));
  const full = join(dir, "full.ambc");
  const fullInput = (codec) => ({
    ...input(ram128, touched),
    codec,
    segments: [
      {
        ...input(ram128, touched).segments[0],
        pages: { pages: () => touched, readPage: (i) => held.get(i) },
      },
    ],
  });
  const saveRuns = Math.max(runs, 5);
  for (const codec of ["none", "lz4", "zstd"]) {
    const saves = [];
    const cpu = [];
    for (let i = 0; i < saveRuns; i++) {
      const c = process.cpuUsage();
      saves.push(time(() => ck.node.writeCheckpointFile(full, fullInput(codec))).ms);
      const u = process.cpuUsage(c);
      cpu.push((u.user + u.system) / 1000);
    }
    rows.push([
      `full save, 128 MiB RAM, 32 MiB touched (amber, codec ${codec}${codec === "none" ? ": the machine's default" : ""}, incl. fsync)`,
      `${median(saves).toFixed(0)} ms (CPU ${median(cpu).toFixed(0)})`,
      `${(statSync(full).size / MiB).toFixed(2)} MiB`,
    ]);
  }
  const raw = new Uint8Array(ram128);
  for (const p of touched) raw.set(held.get(p), p * PAGE);
  const rawPath = join(dir, "ram.raw");
  writeFileSync(rawPath, raw);
  for (const [name, cmd, argv, out] of [
    [
      "lz4 of the raw 128 MiB dump (CLI)",
      "lz4",
      ["-1", "-q", "-f", rawPath, `${rawPath}.lz4`],
      `${rawPath}.lz4`,
    ],
    [
      "zstd -3 of the raw 128 MiB dump (CLI)",
      "zstd",
      ["-3", "-q", "-f", rawPath, "-o", `${rawPath}.zst`],
      `${rawPath}.zst`,
    ],
  ]) {
    const ts = [];
    for (let i = 0; i < saveRuns; i++) ts.push(time(() => execFileSync(cmd, argv)).ms);
    rows.push([name, `${median(ts).toFixed(0)} ms`, `${(statSync(out).size / MiB).toFixed(2)} MiB`]);
  }
  {
    const ts = [];
    let digestKept = true;
    for (let i = 0; i < runs; i++) {
      const w = ck.node.writeCheckpointFile(full, fullInput("none"));
      const r = time(() => ck.node.compactCheckpointFile(full));
      digestKept &&= r.r.digest === w.digest;
      ts.push(r.ms);
    }
    rows.push([
      `compact: that image (codec none) recompressed to zstd-3 in place${digestKept ? ", digest kept" : " — DIGEST CHANGED"}`,
      `${median(ts).toFixed(0)} ms`,
      `${(statSync(full).size / MiB).toFixed(2)} MiB`,
    ]);
  }

  // 2. Incremental save, 1 MiB dirtied, at 128 MiB and 1 GiB RAM, through the machine's
  // API: a machine with 32 MiB touched saves a full image (its baseline), then each run
  // changes one byte in each of 256 pages spread over RAM and saves an incremental image on
  // the previous one (beginSave with the baseline as parent, write, committed). Timed:
  // beginSave + atomic write (fsync, read-back, rename) + committed, median of at least 9
  // saves after one untimed save (a session saves more than once: the code is warm). Then,
  // for comparison, the same save on a parent that is not the baseline (every page compared).
  const creator = { name: "amber-bench", version: "0" };
  for (const ramBytes of [128 * MiB, 1024 * MiB]) {
    globalThis.gc?.(); // (node --expose-gc) not the previous phase's garbage
    const m = new ck.Machine({ ramSize: ramBytes });
    for (const p of touchedPages(ramBytes, 32 * MiB)) m.ram.writeBytes(p * PAGE, makePage(p));
    let prev = join(dir, `m-base-${ramBytes}.ambc`);
    {
      const s = m.beginSave(creator);
      s.committed(ck.node.writeCheckpointFile(prev, s.input));
    }
    const dirty = touchedPages(ramBytes, MiB);
    globalThis.gc?.();
    const ts = [];
    const cpu = [];
    let size = 0;
    let stored = 0;
    const incRuns = Math.max(runs, 9) + 1;
    for (let i = 0; i < incRuns; i++) {
      for (const p of dirty) {
        const at = p * PAGE + ((p + i) % PAGE);
        m.ram.write(at, 1, m.ram.read(at, 1) ^ 0xff); // a small change to an existing page
      }
      const parent = ck.node.openCheckpoint(prev);
      const next = join(dir, `m-inc-${ramBytes}-${i}.ambc`);
      const c = process.cpuUsage();
      const t = performance.now();
      const s = m.beginSave(creator, { parent, parentHint: prev.split("/").pop() });
      const r = ck.node.writeCheckpointFile(next, s.input);
      s.committed(r);
      if (i > 0) {
        ts.push(performance.now() - t);
        const used = process.cpuUsage(c);
        cpu.push((used.user + used.system) / 1000);
      }
      if (s.mode !== "dirty") throw new Error(`expected a dirty-page save, got ${s.mode}`);
      size = statSync(next).size;
      stored = r.stats.storedPages;
      parent.close();
      prev = next;
    }
    rows.push([
      `incremental save, 1 MiB dirtied, ${ramBytes / MiB} MiB RAM (machine API, dirty epochs, delta vs parent)`,
      `${median(ts).toFixed(1)} ms (best ${Math.min(...ts).toFixed(1)}, CPU ${median(cpu).toFixed(1)})`,
      `${(size / 1024).toFixed(1)} KiB, ${stored} pages`,
    ]);
    if (ramBytes === 128 * MiB) {
      // The same change saved on an image that is not the baseline: every page compared.
      const base = ck.node.openCheckpoint(join(dir, `m-base-${ramBytes}.ambc`));
      const cs = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const s = m.beginSave(creator, { parent: base, parentHint: `m-base-${ramBytes}.ambc` });
        try {
          ck.node.writeCheckpointFile(join(dir, "m-cmp.ambc"), s.input);
        } finally {
          s.end();
        }
        cs.push(performance.now() - t);
        if (s.mode !== "compare") throw new Error(`expected a compared save, got ${s.mode}`);
      }
      base.close();
      rows.push([
        `incremental save on a parent that is not the baseline, ${ramBytes / MiB} MiB RAM (every page compared)`,
        `${median(cs).toFixed(1)} ms`,
        `${(statSync(join(dir, "m-cmp.ambc")).size / 1024).toFixed(1)} KiB`,
      ]);
    }
  }

  // The 1 GiB image opened below: a full image written without the machine.
  const bigBase = join(dir, `base-${1024 * MiB}.ambc`);
  ck.node.writeCheckpointFile(bigBase, input(1024 * MiB, touchedPages(1024 * MiB, 32 * MiB)));

  // 3. Open-to-first-page of the 1 GiB image.
  const big = join(dir, `base-${1024 * MiB}.ambc`);
  const lat = [];
  for (let i = 0; i < Math.max(runs, 5); i++) {
    lat.push(
      time(() => {
        const r = ck.node.openCheckpoint(big);
        const p = r.segment("ram").readPage(4096 * 8);
        r.close();
        return p;
      }).ms,
    );
  }
  rows.push([
    "open 1 GiB image + read first page",
    `${median(lat).toFixed(2)} ms`,
    `${(statSync(big).size / MiB).toFixed(1)} MiB file`,
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`Node ${process.version}, medians of ${runs} runs\n`);
console.log("| benchmark | time | size |\n| --- | ---: | ---: |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
