// Save speed as issue 16 states the targets: a full save of a 128 MiB machine with 32 MiB
// touched (< 50 ms) and an incremental save of 1 MiB dirtied (< 3 ms, at 128 MiB and 1 GiB of
// RAM), through the machine's save API, wall and CPU (of the whole process), medians. Each is
// measured into a directory on disk and into /dev/shm (tmpfs: the same code, the syncs cost
// nothing), two ways:
//  - stop-the-world: beginSave + writeCheckpointFile (encode, write, fdatasync, read-back,
//    rename, directory fsync) + committed, all while the guest waits (`amber run --save-at`);
//  - background (the REPL's :save): the pause, beginSave + startCheckpointFile (the state
//    captured, the pages encoded: a small incremental image into memory, its file created and
//    written after the pause; a full one streamed into the OS's page cache), which is all the
//    guest waits for; and
//    the time until the image is durable in place (`durable` resolved, committed), which
//    overlaps with the guest running (here nothing else runs);
//  - background with the guest run between batches of 64 pages (the REPL's :save does so):
//    the first pause (state captured, copy-on-write snapshot taken), the longest stall
//    between two guest slices, and the time to durable.
// Anchors in the same run: `dd conv=fsync` of the same bytes (what durability of that much
// data costs on this disk) and the `lz4 -1` / `zstd -1` CLIs over the 32 MiB of page bytes.
// `--before DIR` also bundles the sources of another checkout (e.g. `git archive main`) and
// interleaves its saves with these, so a change is measured before/after under the same load.
// With --json, one JSON line instead of the text: { load, runs, rows: [{ what, kind, ramMiB,
// place, variant, wallMs, cpuMs, n, ... }] } (kind "full", "incremental", "anchor" (the full
// save's anchors) or "anchor-1MiB"; place "disk" or "tmpfs"; variant "this tree" or "before";
// cpuMs null for the anchors). One row per kind, RAM size, place and variant: wallMs and cpuMs
// are the background save's pause (what the guest waits for; an older tree's stop-the-world
// save), and the other figures ride along as bestMs, durableMs, stopTheWorldMs,
// firstPauseMs and longestStallMs.
// Usage: node --expose-gc tools/bench/checkpoint/save-speed.mjs [--runs N] [--before DIR] [--json]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importBundle, root } from "../bundle-sources.mjs";
import { median, takeFlag } from "../stats.mjs";
import { makePage } from "./page-data.mjs";

const args = process.argv.slice(2);
const runs = Math.max(5, Number(takeFlag(args, "--runs", "7")) || 7);
const before = takeFlag(args, "--before", "");
const json = args.includes("--json");
const PAGE = 4096;
const MiB = 1 << 20;
const creator = { name: "amber-bench", version: "0" };

const source = [
  'export * from "./packages/checkpoint/src/index.ts";',
  'export * as node from "./packages/checkpoint/src/node/index.ts";',
  'export { Machine } from "./packages/machine/src/index.ts";',
].join(" ");
const variants = [{ name: "this tree", ck: await importBundle("save-speed", source, root) }];
if (before) variants.unshift({ name: "before", ck: await importBundle("save-speed-before", source, before) });
for (const v of variants) await v.ck.initCheckpoint();

const places = [
  { name: "disk, synced", key: "disk", dir: mkdtempSync(join(tmpdir(), "amber-save-speed-")) },
  { name: "tmpfs, no sync cost", key: "tmpfs", dir: mkdtempSync(join("/dev/shm", "amber-save-speed-")) },
];

function spread(ramBytes, bytes) {
  const total = ramBytes / PAGE;
  const n = bytes / PAGE;
  return Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
}

/** Runs `fn` and returns [wall ms, CPU ms] (user + system of this process). */
function measure(fn) {
  const c = process.cpuUsage();
  const t = performance.now();
  fn();
  const wall = performance.now() - t;
  const u = process.cpuUsage(c);
  return [wall, (u.user + u.system) / 1000];
}

/**
 * A background save: [pause wall, pause CPU, durable wall, durable CPU] (durable: from the
 * start until the image is in place and committed).
 */
async function measureBackground(v, m, file, options) {
  const c = process.cpuUsage();
  const t = performance.now();
  const save = m.beginSave(creator, options);
  const pending = v.ck.node.startCheckpointFile(file, save.input);
  const pause = performance.now() - t;
  const pc = process.cpuUsage(c);
  save.committed(await pending.durable);
  const durable = performance.now() - t;
  const dc = process.cpuUsage(c);
  return {
    mode: save.mode,
    times: [pause, (pc.user + pc.system) / 1000, durable, (dc.user + dc.system) / 1000],
  };
}

/**
 * A background save with the guest run between batches of 64 pages, as the REPL's :save
 * does (here the "guest" does nothing): [first pause wall, CPU until then, longest stall
 * between two batches, NaN (no CPU figure), durable wall, durable CPU]. The first pause is the state captured
 * and the snapshot taken; a stall is the writer's turn between two guest slices.
 */
async function measureSliced(v, m, file, options) {
  const c = process.cpuUsage();
  const t = performance.now();
  let last = t;
  let first;
  let firstCpu;
  let longest = 0;
  const between = () => {
    const now = performance.now();
    if (first === undefined) {
      first = now - t;
      const u = process.cpuUsage(c);
      firstCpu = (u.user + u.system) / 1000;
    } else longest = Math.max(longest, now - last);
    last = performance.now();
  };
  const save = m.beginSave(creator, { ...options, every: 64, between });
  const pending = v.ck.node.startCheckpointFile(file, save.input);
  longest = Math.max(longest, performance.now() - last);
  if (first === undefined) [first, firstCpu] = [performance.now() - t, 0];
  save.committed(await pending.durable);
  const durable = performance.now() - t;
  const dc = process.cpuUsage(c);
  return {
    mode: save.mode,
    times: [first, firstCpu, longest, Number.NaN, durable, (dc.user + dc.system) / 1000],
  };
}

/** A stop-the-world save: [wall, CPU]. */
function measureStopped(v, m, file, options) {
  let mode;
  const times = measure(() => {
    const save = m.beginSave(creator, options);
    save.committed(v.ck.node.writeCheckpointFile(file, save.input));
    mode = save.mode;
  });
  return { mode, times };
}

const rows = [];
const row = (what, walls, cpus) =>
  rows.push([
    what,
    `${median(walls).toFixed(1)} ms`,
    cpus ? `${median(cpus).toFixed(1)} ms` : "",
    walls.length,
    `${Math.min(...walls).toFixed(1)} ms`,
  ]);

/** The ways to save, for a variant (an older tree may not save in the background). */
function ways(v) {
  const all = [
    {
      name: "stop-the-world",
      run: async (m, f, o) => measureStopped(v, m, f, o),
      cols: ["total"],
      keys: ["stopTheWorld"],
    },
  ];
  if (typeof v.ck.node.startCheckpointFile === "function")
    all.push({
      name: "background",
      run: (m, f, o) => measureBackground(v, m, f, o),
      cols: ["pause (guest waits)", "to durable"],
      keys: ["pause", "durable"],
    });
  if (typeof v.ck.node.startCheckpointFile === "function")
    all.push({
      name: "background, guest run every 64 pages",
      run: (m, f, o) => measureSliced(v, m, f, o),
      cols: ["first pause", "longest stall", "to durable"],
      keys: ["firstPause", "longestStall", "slicedDurable"],
    });
  return all;
}

/** Per variant and way: samples of each column's [wall, CPU]. */
function collectors() {
  return variants.flatMap((v) =>
    ways(v).map((w) => ({ v, w, samples: w.cols.map(() => ({ walls: [], cpus: [] })) })),
  );
}

function keep(c, times) {
  for (const [k, s] of c.samples.entries()) {
    s.walls.push(times[2 * k]);
    s.cpus.push(times[2 * k + 1]);
  }
}

/** The results by name, for --json: one row per kind, RAM size, place and variant. */
const results = [];

/**
 * Prints each way's columns, and gives --json one row per variant: the pause as its wall and
 * CPU figures (an older tree without background saves: its stop-the-world save), the best
 * pause and the other ways' figures beside it.
 */
function report(label, cs, fields) {
  for (const c of cs)
    for (const [k, s] of c.samples.entries())
      row(
        `${label}, ${c.w.name}: ${c.w.cols[k]} [${c.v.name}]`,
        s.walls,
        s.cpus.some(Number.isNaN) ? undefined : s.cpus,
      );
  for (const v of variants) {
    const figures = {};
    for (const c of cs.filter((x) => x.v === v))
      for (const [k, s] of c.samples.entries()) figures[c.w.keys[k]] = s;
    const main = figures.pause ?? figures.stopTheWorld;
    const extra = {};
    for (const [key, s] of Object.entries(figures))
      if (s !== main && key !== "slicedDurable") extra[`${key}Ms`] = median(s.walls);
    results.push({
      what: label,
      ...fields,
      variant: v.name,
      wallMs: median(main.walls),
      cpuMs: median(main.cpus),
      n: main.walls.length,
      bestMs: Math.min(...main.walls),
      ...extra,
    });
  }
}

/** `dd conv=fsync` of `bytes` into `dir`: the disk's own cost of making that much durable. */
function ddAnchor(dir, bytes, label, fields) {
  const src = join(dir, `anchor-${bytes}.raw`);
  const raw = new Uint8Array(bytes);
  for (let i = 0; i < bytes / PAGE; i++) raw.set(makePage(i), i * PAGE);
  writeFileSync(src, raw);
  const ts = [];
  for (let i = 0; i < runs; i++)
    ts.push(
      measure(() =>
        execFileSync("dd", [
          `if=${src}`,
          `of=${join(dir, "anchor.out")}`,
          "bs=1M",
          "conv=fsync",
          "status=none",
        ]),
      )[0],
    );
  row(`anchor: dd conv=fsync of ${label} (process start included)`, ts);
  results.push({
    what: `dd conv=fsync of ${label}`,
    ...fields,
    wallMs: median(ts),
    cpuMs: null,
    n: ts.length,
  });
}

try {
  // Full saves: each run saves the same machine again (a full image every time, no parent).
  for (const place of places) {
    const machines = new Map(
      variants.map((v) => {
        const m = new v.ck.Machine({ ramSize: 128 * MiB });
        for (const p of spread(128 * MiB, 32 * MiB)) m.ram.writeBytes(p * PAGE, makePage(p));
        return [v, m];
      }),
    );
    const cs = collectors();
    globalThis.gc?.();
    for (let i = 0; i <= runs; i++) {
      for (const c of cs) {
        const file = join(place.dir, `full-${c.v.name}-${c.w.name}.ambc`);
        const { times } = await c.w.run(machines.get(c.v), file, {});
        // the first one warms the code up
        if (i > 0) keep(c, times);
      }
    }
    report(`full save 128 MiB RAM / 32 MiB touched, ${place.name}`, cs, {
      kind: "full",
      ramMiB: 128,
      place: place.key,
    });
    ddAnchor(place.dir, 32 * MiB, `32 MiB, ${place.name}`, {
      kind: "anchor",
      tool: "dd conv=fsync",
      place: place.key,
    });
    machines.clear();
    globalThis.gc?.();
  }

  // Incremental saves: 1 MiB (256 pages spread over RAM) changed, saved on the previous image.
  for (const ramBytes of [128 * MiB, 1024 * MiB]) {
    for (const place of places) {
      const cs = collectors().map((c) => {
        const m = new c.v.ck.Machine({ ramSize: ramBytes });
        for (const p of spread(ramBytes, 32 * MiB)) m.ram.writeBytes(p * PAGE, makePage(p));
        const prev = join(place.dir, `inc-${c.v.name}-${c.w.name}-base.ambc`);
        const save = m.beginSave(creator);
        save.committed(c.v.ck.node.writeCheckpointFile(prev, save.input));
        return { ...c, m, prev, base: prev };
      });
      globalThis.gc?.();
      const dirty = spread(ramBytes, MiB);
      for (let i = 0; i <= Math.max(runs, 9); i++) {
        for (const c of cs) {
          for (const p of dirty) {
            const at = p * PAGE + ((p + i) % PAGE);
            c.m.ram.write(at, 1, c.m.ram.read(at, 1) ^ 0xff);
          }
          const parent = c.v.ck.node.openCheckpoint(c.prev);
          const next = join(place.dir, `inc-${c.v.name}-${c.w.name}-${i}.ambc`);
          const { mode, times } = await c.w.run(c.m, next, {
            parent,
            parentHint: c.prev.split("/").pop(),
          });
          if (mode !== "dirty") throw new Error(`expected a dirty-page save, got ${mode}`);
          parent.close();
          c.prev = next;
          if (i > 0) keep(c, times);
        }
      }
      report(`incremental save, 1 MiB dirty, ${ramBytes / MiB} MiB RAM, ${place.name}`, cs, {
        kind: "incremental",
        ramMiB: ramBytes / MiB,
        place: place.key,
      });
      if (ramBytes === 128 * MiB)
        ddAnchor(place.dir, MiB, `1 MiB, ${place.name}`, {
          kind: "anchor-1MiB",
          tool: "dd conv=fsync",
          place: place.key,
        });
      cs.length = 0;
      globalThis.gc?.();
    }
  }

  // Anchors: the same 32 MiB of page bytes through the CLIs (process start included).
  const raw = new Uint8Array(32 * MiB);
  for (const [i, p] of spread(128 * MiB, 32 * MiB).entries()) raw.set(makePage(p), i * PAGE);
  for (const place of places) {
    const rawPath = join(place.dir, "pages.raw");
    writeFileSync(rawPath, raw);
    for (const [name, cmd, argv] of [
      ["lz4 -1", "lz4", ["-1", "-q", "-f", rawPath, `${rawPath}.lz4`]],
      ["zstd -1", "zstd", ["-1", "-q", "-f", rawPath, "-o", `${rawPath}.zst`]],
    ]) {
      const ts = [];
      for (let i = 0; i < runs; i++) ts.push(measure(() => execFileSync(cmd, argv))[0]);
      row(`anchor: ${name} CLI of the 32 MiB of page bytes, ${place.name} (no fsync)`, ts);
      results.push({
        what: `${name} CLI of the 32 MiB of page bytes`,
        kind: "anchor",
        tool: name,
        place: place.key,
        wallMs: median(ts),
        cpuMs: null,
        n: ts.length,
      });
    }
  }
} finally {
  for (const p of places) rmSync(p.dir, { recursive: true, force: true });
}

const load = execFileSync("cat", ["/proc/loadavg"]).toString().trim();
if (json) console.log(JSON.stringify({ load, runs, rows: results }));
else {
  console.log(
    `save speed (medians, and the best wall time: the least disturbed by load; load average ${load})`,
  );
  for (const [what, wall, cpu, n, best] of rows)
    console.log(
      `  ${what.padEnd(110)} wall ${wall.padStart(9)}  ${cpu ? `CPU ${cpu.padStart(9)}` : "".padEnd(13)}  best wall ${best.padStart(9)}  (n=${n})`,
    );
}
