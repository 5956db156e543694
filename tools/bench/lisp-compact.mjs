// Tidy memory before saving: the size of a Lisp world that built and dropped a large
// structure (a 100,000-element list, most of the 2 MiB cell heap), saved as it is and
// saved after the guest's compacting collection (`:save --compact`), and the pause the
// compaction adds (wall ms and guest instructions). Stored pages: `amber inspect --json`;
// each full world is also put through `zstd -3`, to compare with compression alone.
// Through the bundled CLI (`amber repl`, as `pnpm start` runs it).
// Median of N runs (default 5); Node's own start-up (`node -e 0`) is the anchor measured
// in the same run.
//
//   node tools/bench/lisp-compact.mjs [--runs N] [--json]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, takeFlag } from "./stats.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "5"));
const json = args.includes("--json");
const cli = join(root, "apps/amber/dist/amber.js");
spawnSync(process.execPath, [join(root, "apps/amber/build.mjs")], { stdio: json ? "ignore" : "inherit" });

const SCRIPT = `(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (sum l acc) (if (null? l) acc (sum (cdr l) (+ acc (car l)))))
(define keep (iota 1000))
(define big (iota 100000))
(length big)
(set! big #f)
(gc)
:save big --full
:save small --compact
:save small-full --full
:quit!
`;

/** One session: the three saves' reports (bytes on disk, pages, pause) and the compaction's pause. */
function session() {
  const dir = mkdtempSync(join(tmpdir(), "amber-bench-compact-"));
  try {
    const machine = join(dir, "m");
    const r = spawnSync(process.execPath, [cli, "repl", "--dir", machine], {
      input: SCRIPT,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`amber repl exited ${r.status}: ${r.stderr}`);
    const saves = {};
    for (const m of r.stderr.matchAll(
      /saved (\S+) [^:]*: .*?, at instruction [0-9,]+, in ([0-9.]+) ms(?:; the guest compacted in ([0-9.]+) ms, ([0-9,]+) instructions)?/g,
    )) {
      const file = join(machine, "worlds", `${m[1]}.amber`);
      const info = spawnSync(process.execPath, [cli, "inspect", file, "--json"], { encoding: "utf8" });
      const ram = JSON.parse(info.stdout).segments.find((s) => s.name === "ram");
      const zstd = spawnSync("zstd", ["-q", "-c", "-3", file]);
      saves[m[1]] = {
        bytes: statSync(file).size,
        zstdBytes: zstd.status === 0 ? zstd.stdout.length : Number.NaN,
        pages: ram.storedPages,
        saveMs: Number(m[2]),
        compactMs: m[3] === undefined ? undefined : Number(m[3]),
        compactSteps: m[4] === undefined ? undefined : Number(m[4].replaceAll(",", "")),
      };
    }
    if (Object.keys(saves).length !== 3) throw new Error(`expected three saves:\n${r.stderr}`);
    return saves;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeStart() {
  const t = performance.now();
  spawnSync(process.execPath, ["-e", "0"]);
  return performance.now() - t;
}

const samples = [];
const anchors = [];
for (let i = 0; i < runs; i++) {
  anchors.push(nodeStart());
  samples.push(session());
}
const med = (name, key) => median(samples.map((s) => s[name][key]));
const result = {
  runs,
  load: (await import("node:os")).loadavg()[0],
  nodeStartMs: median(anchors),
  big: {
    bytes: med("big", "bytes"),
    zstdBytes: med("big", "zstdBytes"),
    pages: med("big", "pages"),
    saveMs: med("big", "saveMs"),
  },
  compactedIncremental: {
    bytes: med("small", "bytes"),
    pages: med("small", "pages"),
    saveMs: med("small", "saveMs"),
    compactMs: med("small", "compactMs"),
    compactInstructions: med("small", "compactSteps"),
  },
  compactedFull: {
    bytes: med("small-full", "bytes"),
    zstdBytes: med("small-full", "zstdBytes"),
    pages: med("small-full", "pages"),
    saveMs: med("small-full", "saveMs"),
  },
};
result.ratioFull = result.big.bytes / result.compactedFull.bytes;
result.ratioZstd = result.big.zstdBytes / result.compactedFull.zstdBytes;
result.compactPerNodeStart = result.compactedIncremental.compactMs / result.nodeStartMs;
if (json) console.log(JSON.stringify(result, null, 2));
else {
  const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
  console.log(
    `median of ${runs} runs, load ${result.load.toFixed(2)}; anchor: node -e 0 in ${result.nodeStartMs.toFixed(0)} ms`,
  );
  console.log(`full world, no compaction:      ${kb(result.big.bytes)}, ${result.big.pages} pages`);
  console.log(
    `full world after --compact:     ${kb(result.compactedFull.bytes)}, ${result.compactedFull.pages} pages (${result.ratioFull.toFixed(1)}× smaller)`,
  );
  console.log(
    `both full worlds through zstd -3 (anchor: compression alone): ${kb(result.big.zstdBytes)} vs ${kb(result.compactedFull.zstdBytes)} (${result.ratioZstd.toFixed(1)}×)`,
  );
  console.log(
    `incremental --compact on big:   ${kb(result.compactedIncremental.bytes)}, ${result.compactedIncremental.pages} pages`,
  );
  console.log(
    `compaction pause: ${result.compactedIncremental.compactMs.toFixed(1)} ms, ${result.compactedIncremental.compactInstructions.toLocaleString("en")} guest instructions (${result.compactPerNodeStart.toFixed(2)}× node -e 0); save pauses ${result.big.saveMs.toFixed(1)} / ${result.compactedIncremental.saveMs.toFixed(1)} / ${result.compactedFull.saveMs.toFixed(1)} ms`,
  );
}
