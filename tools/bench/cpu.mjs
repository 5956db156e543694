// CPU benchmark: runs the CPU-heavy guest on Amber and, where installed, on
// qemu-system-riscv32, side by side in one run. Prints medians of RUNS runs.
//
//   node tools/bench/cpu.mjs [guest.elf] [--runs N] [--json]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { median, takeFlag } from "./stats.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "5"));
const json = args.includes("--json");
const positional = args.filter((a) => !a.startsWith("--"));
const guest = positional[0] ?? join(root, "tools/guests/out/rv32imac/bench.elf");
const cli = join(root, "apps/amber/dist/amber.js");

function build() {
  const r = spawnSync(process.execPath, [join(root, "apps/amber/build.mjs")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("building the CLI failed");
}

function runAmber() {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, "run", guest, "--stats"], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`amber exited ${r.status}: ${r.stderr}`);
  const stats = JSON.parse(r.stderr.trim().split("\n").pop());
  return {
    wall,
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
  const t0 = performance.now();
  const r = spawnSync(
    "qemu-system-riscv32",
    [
      "-M",
      "virt",
      "-bios",
      "none",
      "-nographic",
      "-semihosting-config",
      "enable=on,target=native",
      "-kernel",
      guest,
    ],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const wall = (performance.now() - t0) / 1000;
  return { wall, stdout: r.stderr + r.stdout };
}

if (!existsSync(guest)) {
  console.error(`bench: ${guest} not found (build guests with tools/guests/build.sh)`);
  process.exit(1);
}
build();
const amber = [];
for (let i = 0; i < runs; i++) amber.push(runAmber());
const instructions = amber[0].instructions;
const result = {
  guest: relative(root, guest),
  runs,
  instructions,
  amber: {
    seconds: median(amber.map((r) => r.seconds)),
    wallSeconds: median(amber.map((r) => r.wall)),
    mips: median(amber.map((r) => r.mips)),
  },
  qemu: null,
};
if (hasQemu()) {
  const qemu = [];
  for (let i = 0; i < runs; i++) qemu.push(runQemu());
  const wall = median(qemu.map((r) => r.wall));
  result.qemu = { wallSeconds: wall, mips: Number((instructions / wall / 1e6).toFixed(1)) };
  // MIPS against MIPS: Amber's own run time (no Node start-up) against QEMU's whole process.
  result.ratio = Number((result.amber.mips / result.qemu.mips).toFixed(3));
}

if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `guest: ${result.guest} (${instructions.toLocaleString("en")} instructions, median of ${runs})`,
  );
  console.log("| runner | wall s | MIPS | × QEMU |");
  console.log("| --- | ---: | ---: | ---: |");
  console.log(
    `| amber | ${result.amber.wallSeconds.toFixed(2)} | ${result.amber.mips.toFixed(1)} | ${result.ratio ?? "–"} |`,
  );
  if (result.qemu)
    console.log(`| qemu-system-riscv32 | ${result.qemu.wallSeconds.toFixed(2)} | ${result.qemu.mips} | 1 |`);
  else console.log("| qemu-system-riscv32 | not installed | | |");
}
