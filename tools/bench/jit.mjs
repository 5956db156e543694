// Block compiler back ends vs interpreter: runs a guest on the virt board with @amber/isa's
// WebAssembly back end, its JS back end and the interpreter, interleaved in one run, and
// prints the medians of RUNS runs each (MIPS over wall time, and over the process's CPU
// time, which a machine shared with other jobs disturbs less).
//
//   node tools/bench/jit.mjs [guest.elf] [--runs N] [--modes wasm,js,interpreter]
//
// All run in the same process build (bundled from the TypeScript sources), so the ratios
// are side-by-side comparisons (the interpreter is `new Machine({ jit: false })`).
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
const modes = takeFlag(args, "--modes", "wasm,js,interpreter").split(",");
const guest = args.find((a) => !a.startsWith("--")) ?? join(root, "tools/guests/out/rv32imac/bench.elf");

const entry = `
import { readFileSync } from "node:fs";
import { CapturedIo, Machine } from "@amber/machine";
const [file, mode] = process.argv.slice(2);
const m = new Machine({
  io: new CapturedIo(),
  jit: mode !== "interpreter",
  compiler: mode === "interpreter" ? undefined : mode,
});
m.loadElf(new Uint8Array(readFileSync(file)), file);
const t0 = performance.now();
const c0 = process.cpuUsage();
const out = m.run();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(JSON.stringify({
  out: out.kind,
  steps: m.hart.steps,
  backend: m.hart.compilerBackend ?? "interpreter",
  mips: m.hart.steps / ms / 1000,
  cpuMips: m.hart.steps / cpuMs / 1000,
}));
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
  const mips = Object.fromEntries(modes.map((m) => [m, []]));
  const cpuMips = Object.fromEntries(modes.map((m) => [m, []]));
  let steps = 0;
  for (let i = 0; i < runs; i++) {
    for (const mode of modes) {
      const r = spawnSync(process.execPath, [bundle, guest, mode], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${mode} run failed: ${r.stderr}`);
      const result = JSON.parse(r.stdout.trim().split("\n").pop());
      if (steps !== 0 && result.steps !== steps)
        throw new Error(`step counts differ: ${steps} vs ${result.steps}`);
      if (result.backend !== mode) throw new Error(`asked for ${mode}, ran ${result.backend}`);
      steps = result.steps;
      mips[mode].push(result.mips);
      cpuMips[mode].push(result.cpuMips);
    }
  }
  console.log(`${guest}: ${steps} steps, median of ${runs} runs`);
  for (const mode of modes) {
    console.log(
      `  ${mode.padEnd(12)} ${median(mips[mode]).toFixed(0).padStart(6)} MIPS (wall), ${median(cpuMips[mode]).toFixed(0).padStart(6)} MIPS (CPU time)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
