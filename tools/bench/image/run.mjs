// Benchmarks of @amber/image, with qemu-img side by side in the same run (DESIGN.md:
// medians of several runs, ratios taken in one run). Usage:
//   node tools/bench/image/run.mjs [--runs 5] [--convert-mib 256]
// 1. random 4 KiB reads and writes across a 1 GiB sparse image of three layers (raw base,
//    qcow2 diff, Amber diff): ops/s, shadowed writes and writes into a writable qcow2 top;
// 2. sequential convert of a 256 MiB raw disk to qcow2 and to amber (MB/s) next to
//    `qemu-img convert` on the same file;
// 3. peak memory under a 64 MiB memory limit while touching 1 GiB (child process, maxRSS).
import { spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importBundle, root } from "../bundle-sources.mjs";
import { median } from "../stats.mjs";
import { fillPage, makeDisk, rng } from "./disk.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const RUNS = arg("--runs", 5);
const CONVERT_MIB = arg("--convert-mib", 256);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The image package and its Node entry, bundled from sources next to compress's WASM deps. */
async function load() {
  const m = await importBundle(
    "image",
    'export * from "@amber/image"; export * as node from "@amber/image/node"; export { initCodecs } from "@amber/compress";',
    join(root, "packages/image"),
  );
  await m.initCodecs();
  return m;
}

const time = (fn) => {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
};

if (process.argv.includes("--peak-child")) {
  // 3. Touch 1 GiB through a 64 MiB limit: shadowed writes to every page, then read all back.
  const I = await load();
  const budget = new I.MemoryBudget({ limitBytes: 64 * MiB, spillFile: I.node.tempSpillFile });
  const image = new I.Image([], { size: GiB, budget, cacheReads: true });
  const page = new Uint8Array(4096);
  const t = time(() => {
    for (let p = 0; p < GiB / 4096; p++) {
      page[0] = p & 0xff;
      page[1] = (p >> 8) & 0xff;
      image.write(p * 4096, page);
    }
    for (let p = 0; p < GiB / 4096; p += 1) image.read(p * 4096, 16);
  });
  console.log(
    JSON.stringify({
      seconds: t,
      budgetPeak: budget.peakBytes,
      maxRss: process.resourceUsage().maxRSS * 1024,
      spilled: image.spilledPageCount,
    }),
  );
  image.close();
  process.exit(0);
}

const I = await load();
const dir = mkdtempSync(join(tmpdir(), "amber-image-bench-"));
const p = (n) => join(dir, n);
const hasQemuImg = spawnSync("qemu-img", ["--version"]).status === 0;
const rows = [];
try {
  // ---- 1. random 4 KiB I/O over three layers ----
  const base = p("base.raw");
  const fd = openSync(base, "w");
  ftruncateSync(fd, GiB);
  const page = new Uint8Array(4096);
  const r = rng(1);
  for (let i = 0; i < 4096; i++)
    writeSync(fd, fillPage(page, i), 0, 4096, Math.floor(r() * (GiB / 4096)) * 4096);
  closeSync(fd);
  const baseImage = I.openImage(I.node.nodeImageHost, base);
  for (let i = 0; i < 4096; i++)
    baseImage.write(Math.floor(r() * (GiB / 4096)) * 4096, fillPage(page, i + 9000));
  I.node.writeFileAtomic(p("mid.qcow2"), (f) =>
    I.saveDiff(baseImage, f, { format: "qcow2", backingName: "base.raw", backingFormat: "raw" }),
  );
  baseImage.close();
  const midImage = I.openImage(I.node.nodeImageHost, p("mid.qcow2"));
  for (let i = 0; i < 4096; i++)
    midImage.write(Math.floor(r() * (GiB / 4096)) * 4096, fillPage(page, i + 20000));
  I.node.writeFileAtomic(p("top.amber"), (f) =>
    I.saveDiff(midImage, f, { format: "amber", backingName: "mid.qcow2", backingFormat: "qcow2" }),
  );
  midImage.close();

  const OPS = 20000;
  const reads = [];
  const writes = [];
  const rwTop = [];
  for (let run = 0; run < RUNS; run++) {
    const img = I.openImage(I.node.nodeImageHost, p("top.amber"));
    const rr = rng(100 + run);
    reads.push(
      OPS /
        time(() => {
          for (let i = 0; i < OPS; i++) img.read(Math.floor(rr() * (GiB / 4096)) * 4096, 4096);
        }),
    );
    writes.push(
      OPS /
        time(() => {
          for (let i = 0; i < OPS; i++) img.write(Math.floor(rr() * (GiB / 4096)) * 4096, page);
        }),
    );
    img.close();
    // Writes into a writable qcow2 top over the same three layers (copy-on-write of 64 KiB clusters).
    I.node.writeFileAtomic(p("rw.qcow2"), (f) =>
      I.writeQcow2({ size: GiB, pageSize: 4096, initByte: 0, pages: () => [], readPage: () => page }, f, {
        backingName: "top.amber",
        backingFormat: "amber",
      }),
    );
    const rw = I.openImage(I.node.nodeImageHost, p("rw.qcow2"), { writable: true });
    rwTop.push(
      OPS /
        time(() => {
          for (let i = 0; i < OPS; i++) rw.write(Math.floor(rr() * (GiB / 4096)) * 4096, page);
          rw.close();
        }),
    );
  }
  rows.push(["random 4 KiB read, 1 GiB, 3 layers (raw+qcow2+amber)", `${median(reads).toFixed(0)} ops/s`]);
  rows.push(["random 4 KiB write, shadowed (dirty pages)", `${median(writes).toFixed(0)} ops/s`]);
  rows.push([
    "random 4 KiB write into a writable qcow2 top (incl. close/refcount rebuild)",
    `${median(rwTop).toFixed(0)} ops/s`,
  ]);

  // ---- 2. convert 256 MiB ----
  const disk = p("disk.raw");
  makeDisk(disk, CONVERT_MIB * MiB);
  const size = CONVERT_MIB * MiB;
  const conv = (label, fn) => {
    const ts = [];
    for (let run = 0; run < RUNS; run++) ts.push(time(fn));
    const t = median(ts);
    rows.push([
      `convert raw→${label}, ${CONVERT_MIB} MiB`,
      `${(size / 1e6 / t).toFixed(0)} MB/s (${t.toFixed(2)} s)`,
    ]);
    return t;
  };
  const amberConvert = (format, extra) => () => {
    const img = I.openImage(I.node.nodeImageHost, disk);
    const name = `out${extra.compression ? "-c" : ""}.${format}`;
    I.node.writeFileAtomic(p(name), (f) => I.flatten(img, f, { format, ...extra }));
    img.close();
  };
  const a1 = conv("qcow2 (amber)", amberConvert("qcow2", {}));
  const q1 = hasQemuImg
    ? conv("qcow2 (qemu-img convert)", () =>
        spawnSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", disk, p("q.qcow2")]),
      )
    : Number.NaN;
  const a2 = conv("qcow2 -c zlib (amber)", amberConvert("qcow2", { compression: "zlib" }));
  const q2 = hasQemuImg
    ? conv("qcow2 -c zlib (qemu-img convert -c)", () =>
        spawnSync("qemu-img", ["convert", "-c", "-f", "raw", "-O", "qcow2", disk, p("qc.qcow2")]),
      )
    : Number.NaN;
  conv("amber zstd-3 (amber)", amberConvert("amber", {}));
  rows.push([
    "  sizes: amber qcow2 / qemu-img qcow2 / amber -c / qemu-img -c / amber",
    [p("out.qcow2"), p("q.qcow2"), p("out-c.qcow2"), p("qc.qcow2"), p("out.amber")]
      .map((f) => {
        try {
          return `${(statSync(f).size / MiB).toFixed(1)} MiB`;
        } catch {
          return "-";
        }
      })
      .join(" / "),
  ]);
  rows.push([
    "  ratio amber/qemu-img time: qcow2, qcow2 -c",
    `${(a1 / q1).toFixed(2)}, ${(a2 / q2).toFixed(2)}`,
  ]);

  // ---- 3. peak memory ----
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--peak-child"], {
    encoding: "utf8",
  });
  const peak = JSON.parse(child.stdout.trim().split("\n").pop());
  rows.push([
    "touch 1 GiB (write every page + read back) under a 64 MiB limit",
    `budget peak ${(peak.budgetPeak / MiB).toFixed(1)} MiB, process maxRSS ${(peak.maxRss / MiB).toFixed(0)} MiB, ${peak.spilled} pages spilled, ${peak.seconds.toFixed(1)} s`,
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\n| benchmark (medians of ${RUNS} runs, Node ${process.version}) | result |\n| --- | --- |`);
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
