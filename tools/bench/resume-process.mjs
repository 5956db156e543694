// `amber resume` as a whole process against Node's own start-up (issue 16: "`amber resume`
// whole process over `node -e 0`"). Resumes an image of the CPU benchmark guest (256 MiB of
// RAM, 64 MiB of data touched, as checkpoint/machine.mjs makes it) for one instruction with the
// bundled CLI, interleaved with `node -e 0` and `amber --version` (node, version, resume, node,
// ...) so other jobs on the machine disturb all three alike. Each process runs under
// /usr/bin/time for its CPU time (user + system) and peak RSS; without it those are n/a.
// Prints medians, and the overhead over `node -e 0` as the median of the per-round differences.
//
//   node tools/bench/resume-process.mjs [--runs N] [--json]     (N at least 3, default 7)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle } from "../../apps/amber/build.mjs";
import { importCheckpointMachine, root } from "./bundle-sources.mjs";
import { makePage } from "./checkpoint/page-data.mjs";
import { cliArgv } from "./cli-process.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const runs = Math.max(3, Number(takeFlag(args, "--runs", "7")) || 7);
const json = args.includes("--json");
const timeTool = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const PAGE = 4096;
const MiB = 1 << 20;
const RAM = 256 * MiB;
const DATA = 16 * MiB;
const TOUCHED = 64 * MiB;
const GUEST = join(root, "tools/guests/out/rv32imac/bench.elf");

/** Runs `node argv` (under /usr/bin/time when there is one): wall ms, CPU ms, peak RSS bytes. */
function timed(argv) {
  const t0 = performance.now();
  const r = timeTool
    ? spawnSync(timeTool, ["-f", "AMBER-TIME %U %S %M", process.execPath, ...argv], { encoding: "utf8" })
    : spawnSync(process.execPath, argv, { encoding: "utf8" });
  const wallMs = performance.now() - t0;
  if (r.error) throw r.error;
  let stderr = r.stderr;
  let cpuMs = Number.NaN;
  let maxRssBytes = Number.NaN;
  const m = /AMBER-TIME (\S+) (\S+) (\S+)\n?$/.exec(stderr);
  if (m) {
    cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
    maxRssBytes = Number(m[3]) * 1024;
    stderr = stderr.slice(0, m.index);
  }
  return { status: r.status, stderr, wallMs, cpuMs, maxRssBytes };
}

const dir = mkdtempSync(join(tmpdir(), "amber-resume-process-"));
let result;
try {
  const ck = await importCheckpointMachine("resume-process");
  const cli = join(dir, "amber.js");
  await bundle(cli);

  const m = new ck.Machine({ ramSize: RAM, io: new ck.CapturedIo() });
  m.loadElf(readFileSync(GUEST), "bench.elf");
  const page = new Uint8Array(PAGE);
  for (let p = 0; p < TOUCHED / PAGE; p++) m.ram.writeBytes(DATA + p * PAGE, makePage(p, page));
  m.run(200_000);
  const image = join(dir, "resume.ambc");
  const save = m.beginSave({ name: "amber-bench", version: "0" });
  save.committed(ck.node.writeCheckpointFile(image, save.input));
  const steps = m.hart.steps;

  const commands = {
    node0: ["-e", "0"],
    // As the installed `amber` runs: with its shebang's Node flags (cli-process.mjs).
    version: cliArgv(cli, ["--version"]),
    // --max-insns runs out after the first instruction: exit status 124 is the expected end.
    resume: cliArgv(cli, ["resume", image, "--max-insns", String(steps + 1)]),
  };
  const samples = { node0: [], version: [], resume: [] };
  for (let i = 0; i < runs; i++) {
    for (const [name, argv] of Object.entries(commands)) {
      const r = timed(argv);
      const expected = name === "resume" ? 124 : 0;
      if (r.status !== expected)
        throw new Error(
          `${name} exited ${r.status} (expected ${expected}): ${r.stderr.trim().split("\n").pop()}`,
        );
      samples[name].push(r);
    }
  }
  const summary = (xs) => ({
    wallMs: median(xs.map((x) => x.wallMs)),
    cpuMs: median(xs.map((x) => x.cpuMs)),
    maxRssBytes: median(xs.map((x) => x.maxRssBytes)),
  });
  const overhead = (key) => median(samples.resume.map((r, i) => r[key] - samples.node0[i][key]));
  result = {
    runs,
    image: { bytes: statSync(image).size, steps, ramBytes: RAM, touchedBytes: TOUCHED },
    node0: summary(samples.node0),
    version: summary(samples.version),
    resume: summary(samples.resume),
    /** `amber resume` minus `node -e 0`, median of the per-round differences. */
    overWallMs: overhead("wallMs"),
    overCpuMs: overhead("cpuMs"),
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (x, unit = "ms") => (Number.isFinite(x) ? `${x.toFixed(0)} ${unit}` : "n/a");
if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `\`amber resume\` whole process, ${(result.image.bytes / MiB).toFixed(1)} MiB image (256 MiB RAM, 64 MiB touched), medians of ${runs}`,
  );
  console.log("| process | wall | CPU (user + sys) | peak RSS |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, label] of [
    ["node0", "`node -e 0`"],
    ["version", "`amber --version`"],
    ["resume", "`amber resume IMG --max-insns N+1`"],
  ]) {
    const s = result[name];
    console.log(`| ${label} | ${fmt(s.wallMs)} | ${fmt(s.cpuMs)} | ${fmt(s.maxRssBytes / MiB, "MiB")} |`);
  }
  console.log(
    `\`amber resume\` over \`node -e 0\`: +${fmt(result.overCpuMs)} CPU, +${fmt(result.overWallMs)} wall`,
  );
}
