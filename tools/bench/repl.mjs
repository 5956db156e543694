// The REPL's figures: time from starting `amber repl` (bundled CLI, as `pnpm start` runs
// it after building) to the Lisp prompt, the `:save` pause the user sees (full and
// incremental), and the sizes of a full world and of an incremental world after one
// definition. Lines are typed at a user's pace (0.5 s apart). Median of N runs (default 5);
// Node's own start-up measured in the same run.
//
//   node tools/bench/repl.mjs [--runs N]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, takeFlag } from "./stats.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "5"));
const cli = join(root, "apps/amber/dist/amber.js");
spawnSync(process.execPath, [join(root, "apps/amber/build.mjs")], { stdio: "inherit" });

/** One session: returns ms to the prompt, the two save pauses as the REPL reports them, sizes. */
function session() {
  const dir = mkdtempSync(join(tmpdir(), "amber-repl-bench-"));
  const machine = join(dir, "m");
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, "repl", "--dir", machine], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let prompt;
    child.stdout.on("data", (d) => {
      out += d;
      if (prompt === undefined && out.includes("lisp> ")) {
        prompt = performance.now() - started;
        child.stdin.end(
          "(define (square x) (* x x))\n:save base --full\n(define (cube x) (* x (square x)))\n:save next\n:quit!\n",
        );
      }
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const pauses = [...err.matchAll(/saved \S+ \([^)]*\): .* in ([0-9.]+) ms/g)].map((m) => Number(m[1]));
      if (code !== 0 || pauses.length !== 2) {
        reject(new Error(`repl exited ${code}: ${err}`));
        return;
      }
      const size = (n) => statSync(join(machine, "worlds", `${n}.amber`)).size;
      resolve({
        prompt,
        fullSave: pauses[0],
        incrementalSave: pauses[1],
        full: size("base"),
        incremental: size("next"),
      });
      rmSync(dir, { recursive: true, force: true });
    });
  });
}

const nodeStart = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  spawnSync(process.execPath, ["-e", "0"]);
  nodeStart.push(performance.now() - t);
}
const results = [];
for (let i = 0; i < runs; i++) results.push(await session());
const m = (k) => median(results.map((r) => r[k]));
console.log(`repl (median of ${runs}):`);
console.log(
  `  start to Lisp prompt     ${m("prompt").toFixed(0)} ms   (node -e 0: ${median(nodeStart).toFixed(0)} ms)`,
);
console.log(
  `  :save pause, full        ${m("fullSave").toFixed(1)} ms   world ${(m("full") / 1024).toFixed(1)} KiB`,
);
console.log(
  `  :save pause, incremental ${m("incrementalSave").toFixed(1)} ms   world ${(m("incremental") / 1024).toFixed(1)} KiB (after one definition)`,
);
