// Save speed as issue 16 states the targets: a full save of a 128 MiB machine with 32 MiB
// touched (< 50 ms) and an incremental save of 1 MiB dirtied (< 3 ms, at 128 MiB and 1 GiB of
// RAM), through the machine's save API (beginSave + atomic write + committed), wall and CPU,
// medians. Each is measured into a directory on disk (the final fdatasync + rename + directory
// fsync included) and into /dev/shm (tmpfs: the same code, the syncs cost nothing), next to the
// `lz4 -1` and `zstd -1` CLIs over the same 32 MiB of page bytes in the same run.
// `--before DIR` also bundles the sources of another checkout (e.g. `git archive main`) and
// interleaves its saves with these, so a change is measured before/after under the same load.
// With --json, one JSON line instead of the text: { load, runs, rows: [{ what, kind, ramMiB,
// place, variant, wallMs, cpuMs, n }] } (kind "full", "incremental" or "anchor"; place "disk" or
// "tmpfs"; variant "this tree" or "before"; cpuMs null for the anchors).
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

const rows = [];
/** The same figures by name, for --json: `fields` says what was measured (kind, ramMiB, place, variant). */
const results = [];
const row = (what, walls, cpus, fields) => {
  rows.push([
    what,
    `${median(walls).toFixed(1)} ms`,
    cpus ? `${median(cpus).toFixed(1)} ms` : "",
    walls.length,
  ]);
  results.push({
    what,
    ...fields,
    wallMs: median(walls),
    cpuMs: cpus ? median(cpus) : null,
    n: walls.length,
  });
};

try {
  // Full saves: each run saves the same machine again (a full image every time, no parent).
  for (const place of places) {
    const states = variants.map((v) => {
      const m = new v.ck.Machine({ ramSize: 128 * MiB });
      for (const p of spread(128 * MiB, 32 * MiB)) m.ram.writeBytes(p * PAGE, makePage(p));
      return { v, m, walls: [], cpus: [] };
    });
    globalThis.gc?.();
    for (let i = 0; i <= runs; i++) {
      for (const s of states) {
        const file = join(place.dir, `full-${s.v.name}.ambc`);
        const [w, c] = measure(() => {
          const save = s.m.beginSave(creator);
          save.committed(s.v.ck.node.writeCheckpointFile(file, save.input));
        });
        // the first one warms the code up
        if (i > 0) {
          s.walls.push(w);
          s.cpus.push(c);
        }
      }
    }
    for (const s of states)
      row(`full save 128 MiB RAM / 32 MiB touched, ${place.name} [${s.v.name}]`, s.walls, s.cpus, {
        kind: "full",
        ramMiB: 128,
        place: place.key,
        variant: s.v.name,
      });
  }

  // Incremental saves: 1 MiB (256 pages spread over RAM) changed, saved on the previous image.
  for (const ramBytes of [128 * MiB, 1024 * MiB]) {
    for (const place of places) {
      const states = variants.map((v) => {
        const m = new v.ck.Machine({ ramSize: ramBytes });
        for (const p of spread(ramBytes, 32 * MiB)) m.ram.writeBytes(p * PAGE, makePage(p));
        const prev = join(place.dir, `inc-${v.name}-base.ambc`);
        const save = m.beginSave(creator);
        save.committed(v.ck.node.writeCheckpointFile(prev, save.input));
        return { v, m, prev, walls: [], cpus: [] };
      });
      globalThis.gc?.();
      const dirty = spread(ramBytes, MiB);
      for (let i = 0; i <= Math.max(runs, 9); i++) {
        for (const s of states) {
          for (const p of dirty) {
            const at = p * PAGE + ((p + i) % PAGE);
            s.m.ram.write(at, 1, s.m.ram.read(at, 1) ^ 0xff);
          }
          const parent = s.v.ck.node.openCheckpoint(s.prev);
          const next = join(place.dir, `inc-${s.v.name}-${i}.ambc`);
          const [w, c] = measure(() => {
            const save = s.m.beginSave(creator, { parent, parentHint: s.prev.split("/").pop() });
            save.committed(s.v.ck.node.writeCheckpointFile(next, save.input));
            if (save.mode !== "dirty") throw new Error(`expected a dirty-page save, got ${save.mode}`);
          });
          parent.close();
          s.prev = next;
          if (i > 0) {
            s.walls.push(w);
            s.cpus.push(c);
          }
        }
      }
      for (const s of states)
        row(
          `incremental save, 1 MiB dirty, ${ramBytes / MiB} MiB RAM, ${place.name} [${s.v.name}]`,
          s.walls,
          s.cpus,
          { kind: "incremental", ramMiB: ramBytes / MiB, place: place.key, variant: s.v.name },
        );
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
      row(`anchor: ${name} CLI of the 32 MiB of page bytes, ${place.name} (no fsync)`, ts, undefined, {
        kind: "anchor",
        tool: name,
        place: place.key,
      });
    }
  }
} finally {
  for (const p of places) rmSync(p.dir, { recursive: true, force: true });
}

const load = execFileSync("cat", ["/proc/loadavg"]).toString().trim();
if (json) console.log(JSON.stringify({ load, runs, rows: results }));
else {
  console.log(`save speed (medians; load average ${load})`);
  for (const [what, wall, cpu, n] of rows)
    console.log(
      `  ${what.padEnd(92)} wall ${wall.padStart(9)}  ${cpu ? `CPU ${cpu.padStart(9)}` : ""}  (n=${n})`,
    );
}
