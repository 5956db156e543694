// CPU benchmark: runs the CPU-heavy guest on Amber and, where installed, on
// qemu-system-riscv32, side by side in one run, the two interleaved (Amber, QEMU, Amber,
// QEMU, ...) so that other jobs on the machine disturb both alike. Prints medians of RUNS
// runs: MIPS over wall time and, where /usr/bin/time exists, over each whole process's
// CPU time (user + system), which a loaded machine disturbs less.
//
//   node tools/bench/cpu.mjs [guest.elf] [--runs N] [--json]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cliArgv } from "./cli-process.mjs";
import { median, takeFlag } from "./stats.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "5"));
const json = args.includes("--json");
const timeTool = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const positional = args.filter((a) => !a.startsWith("--"));
const guest = positional[0] ?? join(root, "tools/guests/out/rv32imac/bench.elf");
const cli = join(root, "apps/amber/dist/amber.js");

function build() {
  const r = spawnSync(process.execPath, [join(root, "apps/amber/build.mjs")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("building the CLI failed");
}

/**
 * Runs `cmd args` (under /usr/bin/time when there is one) and returns its output, wall
 * time and CPU time in seconds (NaN without /usr/bin/time).
 */
function timed(cmd, cmdArgs) {
  const t0 = performance.now();
  const r = timeTool
    ? spawnSync(timeTool, ["-f", "AMBER-CPU %U %S", cmd, ...cmdArgs], {
        encoding: "utf8",
        maxBuffer: 1 << 26,
      })
    : spawnSync(cmd, cmdArgs, { encoding: "utf8", maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  let stderr = r.stderr;
  let cpu = Number.NaN;
  const m = /AMBER-CPU (\S+) (\S+)\n?$/.exec(stderr);
  if (m) {
    cpu = Number(m[1]) + Number(m[2]);
    stderr = stderr.slice(0, m.index);
  }
  return { status: r.status, stdout: r.stdout, stderr, wall, cpu };
}

function runAmber() {
  // As the installed `amber` runs: with its shebang's Node flags (cli-process.mjs).
  const r = timed(process.execPath, cliArgv(cli, ["run", guest, "--stats"]));
  if (r.status !== 0) throw new Error(`amber exited ${r.status}: ${r.stderr}`);
  const stats = JSON.parse(r.stderr.trim().split("\n").pop());
  return {
    wall: r.wall,
    cpu: r.cpu,
    seconds: stats.seconds,
    instructions: stats.instructions,
    mips: stats.mips,
    stdout: r.stdout,
  };
}

function hasQemu() {
  return spawnSync("qemu-system-riscv32", ["--version"], { encoding: "utf8" }).status === 0;
}

function runQemu() {
  const r = timed("qemu-system-riscv32", [
    "-M",
    "virt",
    "-bios",
    "none",
    "-nographic",
    "-semihosting-config",
    "enable=on,target=native",
    "-kernel",
    guest,
  ]);
  return { wall: r.wall, cpu: r.cpu, stdout: r.stderr + r.stdout };
}

if (!existsSync(guest)) {
  console.error(`bench: ${guest} not found (build guests with tools/guests/build.sh)`);
  process.exit(1);
}
build();
const qemuThere = hasQemu();
const amber = [];
const qemu = [];
for (let i = 0; i < runs; i++) {
  amber.push(runAmber());
  if (qemuThere) qemu.push(runQemu());
}
const instructions = amber[0].instructions;
const result = {
  guest: relative(root, guest),
  runs,
  instructions,
  amber: {
    seconds: median(amber.map((r) => r.seconds)),
    wallSeconds: median(amber.map((r) => r.wall)),
    cpuSeconds: median(amber.map((r) => r.cpu)),
    mips: median(amber.map((r) => r.mips)),
  },
  qemu: null,
};
if (qemuThere) {
  const wall = median(qemu.map((r) => r.wall));
  const cpu = median(qemu.map((r) => r.cpu));
  result.qemu = { wallSeconds: wall, cpuSeconds: cpu, mips: Number((instructions / wall / 1e6).toFixed(1)) };
  // MIPS against MIPS: Amber's own run time (no Node start-up) against QEMU's whole process.
  result.ratio = Number((result.amber.mips / result.qemu.mips).toFixed(3));
  // Whole process against whole process, wall time (start-up included on both sides).
  result.wallRatio = Number((wall / result.amber.wallSeconds).toFixed(3));
  // Whole process against whole process, CPU time (start-up included on both sides).
  if (!Number.isNaN(cpu)) result.cpuRatio = Number((cpu / result.amber.cpuSeconds).toFixed(3));
}

if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `guest: ${result.guest} (${instructions.toLocaleString("en")} instructions, median of ${runs})`,
  );
  console.log(
    "| runner | wall s | CPU s | MIPS | × QEMU (process wall) | × QEMU (process CPU) | × QEMU (Amber's run only) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  console.log(
    `| amber | ${result.amber.wallSeconds.toFixed(2)} | ${result.amber.cpuSeconds.toFixed(2)} | ${result.amber.mips.toFixed(1)} | ${result.wallRatio ?? "–"} | ${result.cpuRatio ?? "–"} | ${result.ratio ?? "–"} |`,
  );
  if (result.qemu)
    console.log(
      `| qemu-system-riscv32 | ${result.qemu.wallSeconds.toFixed(2)} | ${result.qemu.cpuSeconds.toFixed(2)} | ${result.qemu.mips} | 1 | 1 | 1 |`,
    );
  else console.log("| qemu-system-riscv32 | not installed | | |");
}
