// Block compiler vs interpreter: runs a guest on the virt board with @amber/isa's block
// compiler on and off, interleaved in one run, and prints the medians of RUNS runs each.
//
//   node tools/bench/jit.mjs [guest.elf] [--runs N]
//
// Both sides run in the same process build (bundled from the TypeScript sources), so the
// ratio is a side-by-side comparison (the interpreter side is `new Machine({ jit: false })`).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { median, takeFlag } from "./stats.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "5"));
const guest = args.find((a) => !a.startsWith("--")) ?? join(root, "tools/guests/out/rv32imac/bench.elf");

const entry = `
import { readFileSync } from "node:fs";
import { CapturedIo, Machine } from "@amber/machine";
const [file, mode] = process.argv.slice(2);
const m = new Machine({ io: new CapturedIo(), jit: mode !== "interpreter" });
m.loadElf(new Uint8Array(readFileSync(file)), file);
const t0 = performance.now();
const out = m.run();
const ms = performance.now() - t0;
console.log(JSON.stringify({ out: out.kind, steps: m.hart.steps, mips: m.hart.steps / ms / 1000 }));
`;

const dir = mkdtempSync(join(tmpdir(), "amber-jit-bench-"));
try {
  writeFileSync(join(dir, "entry.mjs"), entry);
  const bundle = join(dir, "bench.mjs");
  await build({
    entryPoints: [join(dir, "entry.mjs")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "esm",
    conditions: ["@amber/source"],
    nodePaths: [join(root, "packages/machine/node_modules"), join(root, "apps/amber/node_modules")],
    logLevel: "warning",
  });
  const mips = { compiler: [], interpreter: [] };
  let steps = 0;
  for (let i = 0; i < runs; i++) {
    for (const mode of ["compiler", "interpreter"]) {
      const r = spawnSync(process.execPath, [bundle, guest, mode], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${mode} run failed: ${r.stderr}`);
      const result = JSON.parse(r.stdout.trim().split("\n").pop());
      if (steps !== 0 && result.steps !== steps)
        throw new Error(`step counts differ: ${steps} vs ${result.steps}`);
      steps = result.steps;
      mips[mode].push(result.mips);
    }
  }
  const c = median(mips.compiler);
  const n = median(mips.interpreter);
  console.log(`${guest}: ${steps} steps, median of ${runs} runs`);
  console.log(
    `  block compiler ${c.toFixed(0)} MIPS, interpreter ${n.toFixed(0)} MIPS, ×${(c / n).toFixed(2)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
