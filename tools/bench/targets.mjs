// Issue 16's target table with today's figures: runs the benchmark scripts with --json, one
// after the other, and prints one markdown table (target | anchor | Amber | ratio or value |
// goal | met?), every ratio from the same run as its anchor. Load average at start and end,
// Node's and QEMU's versions beside it. Exit status 0 whether or not the targets are met (it is
// a report); 1 when a benchmark failed to run (named in one line on stderr); 2 for a bad command
// line.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { root } from "./bundle-sources.mjs";
import { BENCHMARKS, evaluate, formatTable } from "./targets-table.mjs";

const HELP = `Usage: node tools/bench/targets.mjs [--runs N] [--json] [--only a,b]

Runs the benchmarks behind issue 16's targets and prints one markdown table:
target | anchor (same run) | Amber | ratio or value | goal | met?

  --runs N     runs per benchmark, passed to each script (default: each script's own;
               save-speed.mjs runs at least 5, checkpoint/machine.mjs 3, resume-process.mjs 3)
  --json       print one JSON object (rows, raw results, load, versions) instead of the table
  --only a,b   run only these benchmarks: ${BENCHMARKS.join(", ")}
               cpu      tools/bench/cpu.mjs (bench.elf against QEMU)
               paged    tools/bench/cpu.mjs bench-paged.elf (Sv32, S-mode)
               linux    tools/bench/linux-boot.mjs mmu
               save     tools/bench/checkpoint/save-speed.mjs (full and incremental saves)
               resume   tools/bench/checkpoint/machine.mjs --only resume (open to the first
                        instruction inside \`amber resume\`, with its code cache)
               rss      tools/bench/rss.mjs (peak RSS of \`amber run\` on a guest touching T bytes)
               process  tools/bench/resume-process.mjs (\`amber resume\` over \`node -e 0\`)
  -h, --help   this text

Exit status: 0 when every benchmark ran (targets met or not), 1 when one failed to run,
2 for a bad command line.`;

/** Each benchmark's command: node flags, script, arguments (--json and --runs are added). */
const COMMANDS = {
  cpu: [[], "tools/bench/cpu.mjs", ["tools/guests/out/rv32imac/bench.elf"]],
  paged: [[], "tools/bench/cpu.mjs", ["tools/guests/out/rv32imac/bench-paged.elf"]],
  linux: [[], "tools/bench/linux-boot.mjs", ["mmu"]],
  save: [["--expose-gc"], "tools/bench/checkpoint/save-speed.mjs", []],
  resume: [["--expose-gc"], "tools/bench/checkpoint/machine.mjs", ["--only", "resume"]],
  rss: [[], "tools/bench/rss.mjs", []],
  process: [[], "tools/bench/resume-process.mjs", []],
};

function usage(message) {
  console.error(`targets: ${message} (see --help)`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
let runs;
let json = false;
let only = BENCHMARKS;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--json") json = true;
  else if (a === "--runs") {
    runs = args[++i];
    if (!/^[1-9][0-9]*$/.test(runs ?? ""))
      usage(`--runs takes a positive whole number, not ${runs ?? "nothing"}`);
  } else if (a === "--only") {
    only = (args[++i] ?? "").split(",").filter(Boolean);
    const unknown = only.filter((b) => !BENCHMARKS.includes(b));
    if (only.length === 0 || unknown.length)
      usage(`--only takes names from ${BENCHMARKS.join(", ")}; not ${unknown.join(", ") || "nothing"}`);
  } else usage(`unknown argument ${a}`);
}

const version = (cmd) => {
  const r = spawnSync(cmd, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n")[0].trim() : "not installed";
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** Runs one script with --json; returns its parsed last JSON line, or throws one line saying why. */
function runScript(name, [nodeFlags, script, scriptArgs], extra) {
  const argv = [...nodeFlags, join(root, script), ...scriptArgs, ...extra, "--json"];
  if (runs !== undefined) argv.push("--runs", runs);
  const shown = [script, ...scriptArgs, ...extra].join(" ");
  console.error(`targets: running ${shown}${runs ? ` --runs ${runs}` : ""} (load ${load()})`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: "utf8", maxBuffer: 1 << 28 });
  const took = ((performance.now() - t0) / 1000).toFixed(0);
  // The line that says why: an uncaught error's own line, else the last line of the output.
  const last = (text) => {
    const lines = (text ?? "").split("\n").filter((l) => l.trim() && !/^Node\.js v/.test(l));
    return (lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.pop() ?? "").trim();
  };
  if (r.error) throw new Error(`${shown}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${shown} exited ${r.status ?? r.signal}: ${last(r.stderr) || last(r.stdout)}`);
  // Scripts may print other lines (e.g. the CLI's build) before their one JSON line.
  const line = (r.stdout ?? "")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) throw new Error(`${shown}: no JSON line in its output`);
  try {
    const parsed = JSON.parse(line);
    console.error(`targets: ${name} done in ${took} s`);
    return parsed;
  } catch {
    throw new Error(`${shown}: its JSON line does not parse`);
  }
}

const started = { load: load(), at: new Date().toISOString() };
const versions = { node: process.version, qemu: version("qemu-system-riscv32") };
const results = {};
const failures = [];
const run = (names, command, extra = []) => {
  try {
    const r = runScript(names.join(","), command, extra);
    for (const n of names) results[n] = r;
  } catch (e) {
    failures.push(e.message);
    for (const n of names) results[n] = null;
  }
};
for (const name of BENCHMARKS) if (only.includes(name)) run([name], COMMANDS[name]);
const ended = { load: load(), at: new Date().toISOString() };

const rows = evaluate(results);
if (json)
  console.log(JSON.stringify({ started, ended, versions, runs: runs ?? null, rows, results, failures }));
else {
  console.log(`Issue 16 targets, ${started.at} (runs: ${runs ?? "each script's default"})`);
  console.log(`Node ${versions.node}, ${versions.qemu}`);
  console.log(`load average at start: ${started.load}\n`);
  console.log(formatTable(rows));
  console.log(`\nload average at end: ${ended.load}`);
}
if (failures.length) {
  console.error(`targets: ${failures.length} benchmark(s) failed to run: ${failures.join("; ")}`);
  process.exit(1);
}
