// The mutation fuzzer: damaged qcow2 files, Amber layers and checkpoints (both layouts)
// through the libraries, from reproducible seeds. Not part of CI's time (CI runs a smoke
// run of the same targets: packages/checkpoint/test/mutation-smoke.test.ts).
//
//   node tools/fuzz/fuzz.mjs [--cases N] [--from SEED] [--target NAME] [--timeout MS]
//   node tools/fuzz/fuzz.mjs --target NAME --replay SEED     # one case, with its stack trace
//
// A finding is any exception that is not the library's own error, or a case that does not
// finish within --timeout (work must be bounded by the file's size). Each target runs in a
// worker thread, so a hang is detected and the run goes on with the next seed.
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { importBundle, root } from "../bench/bundle-sources.mjs";
import { takeFlag } from "../bench/stats.mjs";

const args = process.argv.slice(2);
const cases = Number(takeFlag(args, "--cases", "20000"));
const from = Number(takeFlag(args, "--from", "1"));
const only = takeFlag(args, "--target", "");
const timeout = Number(takeFlag(args, "--timeout", "10000"));
const replay = takeFlag(args, "--replay", "");

const ENTRY = `
import { initCodecs } from "@amber/compress";
import { initCheckpoint } from "@amber/checkpoint";
import "@amber/image/node";
export { TARGETS } from "${join(root, "tools/fuzz/targets.ts")}";
export async function init() { await initCodecs(); await initCheckpoint(); }
`;
// Bundled once; workers import the same file.
await importBundle("fuzz-targets", ENTRY, join(root, "packages/checkpoint"));
const bundle = join(root, "packages/compress/node_modules/.cache/amber-bench/fuzz-targets.mjs");

if (replay !== "") {
  const m = await import(bundle);
  await m.init();
  const target = m.TARGETS.find((t) => t.name === only);
  if (target === undefined)
    throw new Error(`--replay needs --target (one of ${m.TARGETS.map((t) => t.name)})`);
  target.run(Number(replay));
  console.log(`${only} seed ${replay}: no finding`);
  process.exit(0);
}

const WORKER = `
import { parentPort, workerData } from "node:worker_threads";
const m = await import(workerData.bundle);
await m.init();
const target = m.TARGETS.find((t) => t.name === workerData.target);
for (let seed = workerData.from; seed < workerData.to; seed++) {
  parentPort.postMessage({ seed, start: true });
  try {
    target.run(seed);
  } catch (e) {
    parentPort.postMessage({ seed, finding: (e && e.name ? e.name + ": " : "") + (e && e.message) });
  }
}
parentPort.postMessage({ done: true });
`;

/** Runs seeds [start, end) of one target; a hung case is recorded and skipped. */
function runTarget(target, start, end) {
  return new Promise((resolve) => {
    const findings = [];
    let current = start;
    let timer;
    const spawn = (s) => {
      const w = new Worker(WORKER, { eval: true, workerData: { bundle, target, from: s, to: end } });
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          findings.push({ seed: current, finding: `no result after ${timeout} ms (unbounded work?)` });
          void w.terminate();
          if (current + 1 < end) spawn(current + 1);
          else resolve(findings);
        }, timeout);
      };
      w.on("message", (msg) => {
        if (msg.done) {
          clearTimeout(timer);
          void w.terminate();
          resolve(findings);
        } else if (msg.start) {
          current = msg.seed;
          arm();
        } else findings.push(msg);
      });
      w.on("error", (e) => {
        findings.push({ seed: current, finding: `worker died: ${e.message}` });
        clearTimeout(timer);
        if (current + 1 < end) spawn(current + 1);
        else resolve(findings);
      });
      arm();
    };
    spawn(start);
  });
}

const m = await import(bundle);
const names = m.TARGETS.map((t) => t.name).filter((n) => only === "" || n === only);
let total = 0;
for (const name of names) {
  const t0 = performance.now();
  const findings = await runTarget(name, from, from + cases);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`${name}: ${cases} cases from seed ${from} in ${s} s, ${findings.length} finding(s)`);
  for (const f of findings.slice(0, 20)) console.log(`  seed ${f.seed}: ${f.finding}`);
  total += findings.length;
}
if (total > 0) console.log("replay one: node tools/fuzz/fuzz.mjs --target NAME --replay SEED");
process.exitCode = total > 0 ? 1 : 0;
