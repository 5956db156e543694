// Resident memory of `amber run` on a guest that touched T bytes, against issue 16's bound
// 1.2 × T + 50 MB, on the user's path: the bundled CLI built outside the workspace and run
// through its shebang's Node flags (cli-process.mjs), with its code cache warm (a second run
// of the command, as users mostly see it). The guest is tools/guests/src/touch.c: it writes
// T MiB of RAM from 16 MiB up, reads it back, then computes for ≈ 10 M instructions (so even
// at T = 0 the machine compiles its code, as any guest doing work does); RAM is 256 MiB. T is
// what the machine holds at the end (`--stats` pagesTouched × 4 KiB: the data, the program,
// its stack and the device tree). The figure is the process's peak RSS (`/usr/bin/time`'s
// maximum resident set size; where there is none, Node's own resourceUsage().maxRSS at exit
// through a preloaded script), the median of --runs runs (default 3), interleaved over T so
// load disturbs every size alike. Anchors: `node -e 0`, and Node running a hot JavaScript
// loop (its optimising compiler's code and heap paged in, which every guest that runs long
// enough pays too): the floor under any figure here.
//
//   node tools/bench/rss.mjs [--runs N] [--sizes 0,16,64,192] [--json]
//
// --json prints one line: { node, runs, flags, peakBy, rss: [{ dataBytes, touchedBytes,
// rssBytes, boundBytes }], node0RssBytes, nodeJitRssBytes }.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle } from "../../apps/amber/build.mjs";
import { root } from "./bundle-sources.mjs";
import { cliArgv, shebangFlags } from "./cli-process.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const runs = Math.max(1, Number(takeFlag(args, "--runs", "3")) || 3);
const sizes = takeFlag(args, "--sizes", "0,16,64,192").split(",").map(Number);
const json = args.includes("--json");
const MiB = 1 << 20;
const PAGE = 4096;
const GUEST = join(root, "tools/guests/out/rv32imac/touch.elf");
const timeTool = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
/** A hot loop: V8's optimising compiler runs, as it does for any guest that runs a while. */
const HOT_LOOP =
  "let s = 0; for (let k = 0; k < 300; k++) for (let i = 0; i < 100000; i++) s = (s * 31 + i) | 0; if (s === 1) console.log(s);";

const dir = mkdtempSync(join(tmpdir(), "amber-rss-"));
const probe = join(dir, "peak-rss.cjs");
writeFileSync(
  probe,
  'process.on("exit", () => process.stderr.write("\\nAMBER-PEAK-RSS " + process.resourceUsage().maxRSS * 1024 + "\\n"));\n',
);

/** Runs `node argv`; its status, stderr (without the measuring tool's line) and peak RSS in bytes. */
function peak(argv, env) {
  const r = timeTool
    ? spawnSync(timeTool, ["-f", "AMBER-PEAK-RSS %M", process.execPath, ...argv], { encoding: "utf8", env })
    : spawnSync(process.execPath, ["--require", probe, ...argv], { encoding: "utf8", env });
  if (r.error) throw r.error;
  const m = /\n?AMBER-PEAK-RSS (\d+)\n?$/.exec(r.stderr);
  if (!m) throw new Error(`no peak RSS for node ${argv.join(" ")}: ${r.stderr.trim().split("\n").pop()}`);
  const rssBytes = Number(m[1]) * (timeTool ? 1024 : 1);
  return { status: r.status, stderr: r.stderr.slice(0, m.index), stdout: r.stdout, rssBytes };
}

let result;
try {
  const cli = join(dir, "cli", "amber.js");
  await bundle(cli);
  const env = { ...process.env, AMBER_CODE_CACHE: join(dir, "code-cache") };
  const runTouch = (mib) => {
    const r = peak(cliArgv(cli, ["run", "--ram", "256M", "--stats", GUEST, String(mib)]), env);
    const stats = r.stderr.split("\n").find((l) => l.startsWith('{"instructions"'));
    if (r.status !== 0 || !stats || !r.stdout.startsWith(`touched ${mib} MiB`))
      throw new Error(`amber run touch.elf ${mib} exited ${r.status}: ${r.stderr.trim().split("\n").pop()}`);
    return { rssBytes: r.rssBytes, touchedBytes: JSON.parse(stats).pagesTouched * PAGE };
  };
  runTouch(0); // writes the `run` command's code cache
  const samples = sizes.map(() => []);
  const node0 = [];
  const nodeJit = [];
  for (let i = 0; i < runs; i++) {
    node0.push(peak(["-e", "0"], env).rssBytes);
    nodeJit.push(peak(["-e", HOT_LOOP], env).rssBytes);
    for (const [k, mib] of sizes.entries()) samples[k].push(runTouch(mib));
  }
  result = {
    node: process.version,
    runs,
    flags: shebangFlags(cli),
    peakBy: timeTool ? "/usr/bin/time" : "process.resourceUsage().maxRSS",
    rss: sizes.map((mib, k) => {
      const touchedBytes = median(samples[k].map((s) => s.touchedBytes));
      return {
        dataBytes: mib * MiB,
        touchedBytes,
        rssBytes: median(samples[k].map((s) => s.rssBytes)),
        boundBytes: 1.2 * touchedBytes + 50e6,
      };
    }),
    node0RssBytes: median(node0),
    nodeJitRssBytes: median(nodeJit),
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const mib = (x) => (x < MiB ? `${(x / 1024).toFixed(0)} KiB` : `${(x / MiB).toFixed(1)} MiB`);
if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `\`amber run --ram 256M touch.elf T\` (node ${result.flags.join(" ")}), peak RSS by ${result.peakBy}, medians of ${runs}\n`,
  );
  console.log("| guest touched T | peak RSS | bound 1.2·T + 50 MB | of the bound | RSS − T |");
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (const r of result.rss)
    console.log(
      `| ${mib(r.touchedBytes)} | ${mib(r.rssBytes)} | ${mib(r.boundBytes)} | ${(r.rssBytes / r.boundBytes).toFixed(2)} | ${mib(r.rssBytes - r.touchedBytes)} |`,
    );
  console.log(
    `\n\`node -e 0\`: ${mib(result.node0RssBytes)}; Node running a hot loop: ${mib(result.nodeJitRssBytes)}`,
  );
}
