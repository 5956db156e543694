// Sequential read throughput of the VHDX and DMG layers against the raw layer, with
// `qemu-img convert -O raw` of the same files as the anchor (medians of several runs, all
// in one run, so the ratios hold under load). Usage:
//   node tools/bench/image/foreign-read.mjs [--runs 5] [--mib 256]
// Files: the same disk-like 256 MiB pattern as run.mjs; VHDX made by qemu-img convert
// (dynamic, default 8 MiB blocks) and by Amber; DMG (UDZO with 1 MiB zlib chunks, UDRO)
// made by the test-only builder (packages/image/test/support/dmg-builder.ts).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { importBundle, root } from "../bundle-sources.mjs";
import { median } from "../stats.mjs";
import { makeDisk } from "./disk.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const RUNS = arg("--runs", 5);
const SIZE_MIB = arg("--mib", 256);
const MiB = 1024 * 1024;

const I = await importBundle(
  "image-foreign",
  'export * from "@amber/image"; export * as node from "@amber/image/node"; export { buildDmg } from "./test/support/dmg-builder.ts";',
  join(root, "packages/image"),
);

const dir = mkdtempSync(join(tmpdir(), "amber-foreign-bench-"));
const p = (n) => join(dir, n);
const time = (fn) => {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
};
const rows = [];
const load = loadavg()[0].toFixed(1);
try {
  const raw = p("disk.raw");
  const size = SIZE_MIB * MiB;
  makeDisk(raw, size);
  const q = (...args) => {
    const r = spawnSync("qemu-img", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`qemu-img ${args.join(" ")}: ${r.stderr}`);
  };
  q("convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic", raw, p("qemu.vhdx"));
  const img = I.openImage(I.node.nodeImageHost, raw);
  I.node.writeFileAtomic(p("amber.vhdx"), (f) => I.flatten(img, f, { format: "vhdx" }));
  const bytes = img.read(0, size);
  img.close();
  writeFileSync(p("udzo.dmg"), I.buildDmg(bytes, { kind: "zlib", chunkSectors: 2048 }));
  writeFileSync(p("udro.dmg"), I.buildDmg(bytes, { kind: "raw", chunkSectors: 2048 }));

  /** Amber: open, then read every byte in 1 MiB steps through the image. */
  const amberRead = (file, format) => () => {
    const image = I.openImage(I.node.nodeImageHost, file, { format });
    const buf = new Uint8Array(MiB);
    for (let at = 0; at < image.size; at += MiB)
      image.readInto(at, buf.subarray(0, Math.min(MiB, image.size - at)));
    image.close();
  };
  const qemuRead = (file, format) => () => q("convert", "-f", format, "-O", "raw", file, p("out.raw"));
  const cases = [
    ["raw", raw, "raw"],
    ["vhdx (qemu-img made, 8 MiB blocks)", p("qemu.vhdx"), "vhdx"],
    ["vhdx (Amber made)", p("amber.vhdx"), "vhdx"],
    ["dmg UDZO (zlib, 1 MiB chunks)", p("udzo.dmg"), "dmg"],
    ["dmg UDRO (raw chunks)", p("udro.dmg"), "dmg"],
  ];
  const results = [];
  for (const [label, file, format] of cases) {
    const a = [];
    const b = [];
    // Interleaved so both see the same load.
    for (let run = 0; run < RUNS; run++) {
      a.push(time(amberRead(file, format)));
      b.push(time(qemuRead(file, format)));
    }
    results.push({ label, file, amber: median(a), qemu: median(b) });
  }
  const rawAmber = results[0].amber;
  const rawQemu = results[0].qemu;
  for (const r of results) {
    rows.push([
      `${r.label}, ${SIZE_MIB} MiB, ${(statSync(r.file).size / MiB).toFixed(0)} MiB file`,
      `${(size / 1e6 / r.amber).toFixed(0)} MB/s`,
      `${(size / 1e6 / r.qemu).toFixed(0)} MB/s`,
      (r.amber / r.qemu).toFixed(2),
      (r.amber / rawAmber).toFixed(2),
      (r.qemu / rawQemu).toFixed(2),
    ]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `\nSequential read, medians of ${RUNS} runs, Node ${process.version}, 1-min load average ${load} at start\n`,
);
console.log(
  "| format | Amber read | qemu-img convert -O raw | time ratio Amber/qemu-img | Amber time / Amber raw | qemu-img time / qemu-img raw |\n| --- | --- | --- | --- | --- | --- |",
);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
