// `fork(20)` against 20 sequential resumes: the same Lisp work (a recursive Fibonacci per
// copy) from one saved world, run in 20 worker threads side by side or one after another
// in one session. Wall seconds, medians of RUNS runs, through `amber script` (the bundled
// CLI). The gain is bounded by the host's free cores.
//
//   node tools/bench/fork.mjs [--runs N] [--copies N] [--json]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { bundle } from "../../apps/amber/build.mjs";
import { root } from "./bundle-sources.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "3"));
const copies = Number(takeFlag(args, "--copies", "20"));
const json = args.includes("--json");

const work = mkdtempSync(join(tmpdir(), "amber-bench-fork-"));
const amber = await bundle(join(work, "cli", "amber.js"));
const script = join(work, "fork-bench.mjs");
writeFileSync(
  script,
  `
const [elf, copies] = [amber.args[0], Number(amber.args[1])];
const lisp = await amber.boot({ elf });
await lisp.expect("lisp> ");
lisp.type("(define (f n) (if (< n 2) n (+ (f (- n 1)) (f (- n 2)))))\\n");
await lisp.expect("lisp> ");
lisp.save("ready");
const work = (i) => \`(+ \${i} (f 18))\\n\`;

let t = performance.now();
for (let i = 0; i < copies; i++) {
  lisp.restore("ready");
  lisp.type(work(i));
  await lisp.expect("lisp> ");
}
const sequential = (performance.now() - t) / 1000;

t = performance.now();
const forks = await lisp.fork(copies);
await Promise.all(forks.map(async (w, i) => { await w.type(work(i)); await w.expect("lisp> "); await w.close(); }));
const forked = (performance.now() - t) / 1000;
console.log(JSON.stringify({ sequential, forked }));
`,
);

const results = [];
for (let i = 0; i < runs; i++) {
  const r = spawnSync(
    process.execPath,
    [amber, "script", script, join(root, "tools/guests/lisp/out/lisp.elf"), String(copies)],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`amber script: ${r.stderr}`);
  results.push(JSON.parse(r.stdout));
}
rmSync(work, { recursive: true, force: true });
const sequential = median(results.map((r) => r.sequential));
const forked = median(results.map((r) => r.forked));
const result = {
  runs,
  copies,
  cores: cpus().length,
  sequentialSeconds: sequential,
  forkSeconds: forked,
  speedUp: sequential / forked,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `fork(${copies}) vs ${copies} sequential resumes, Lisp (f 18) each (median of ${runs}, ${result.cores} cores)`,
  );
  console.log("| way | wall seconds |");
  console.log("| --- | ---: |");
  console.log(`| ${copies} sequential restores in one session | ${sequential.toFixed(2)} |`);
  console.log(`| fork(${copies}), worker threads (start-up included) | ${forked.toFixed(2)} |`);
  console.log(`| speed-up | ${result.speedUp.toFixed(2)}× |`);
}
