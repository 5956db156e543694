// Linux boot benchmark: wall time from start to the shell prompt and instructions to
// get there, on Amber (the board's API, no Node start-up) and on qemu-system-riscv32
// (whole process) side by side, the runs interleaved (Amber, QEMU, Amber, ...) so that
// other jobs on the machine disturb both alike. Medians of RUNS runs, and their ratio.
//
//   node tools/bench/linux-boot.mjs [mmu|nommu] [--runs N] [--json] [--compiler wasm|js] [--no-warm-up] [--keep-modules]
//
// Each boot after the first starts with the process's compiled region modules forgotten
// (forgetCompiledModules), so it compiles its regions as a boot in a fresh process does:
// only V8's own code for the emulator is warm. --keep-modules lets a boot reuse the modules
// the boots before it compiled (what a replay, a fork or a second machine in one process
// gets); its figures are reported as such, never as the boot's.
//
// The first Amber run of a process is the cold one (V8 compiles the emulator as it goes):
// its time is reported apart as well as counted in the median. --no-warm-up turns the
// machine's V8 warm-up off (MachineOptions.warmUp) to measure what it saves.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importSource, root } from "./bundle-sources.mjs";
import { median } from "./stats.mjs";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const json = args.includes("--json");
const compilerAt = args.indexOf("--compiler");
const compiler = compilerAt >= 0 ? args[compilerAt + 1] : undefined;
const warmUp = !args.includes("--no-warm-up");
const keepModules = args.includes("--keep-modules");
const variant = args.includes("nommu") ? "nommu" : "mmu";
const out = join(root, "tools/guests/linux/out");
const PROMPT = "amber# ";

const { Machine, forgetCompiledModules } = await importSource("machine");
const kernel = readFileSync(join(out, `Image-${variant}`));
const firmware = variant === "mmu" ? readFileSync(join(out, "firmware.elf")) : undefined;

function bootAmber() {
  if (!keepModules) forgetCompiledModules();
  let text = "";
  let prompt;
  const machine = new Machine({
    compiler,
    warmUp,
    io: {
      stdout: (d) => {
        text += Buffer.from(d).toString("latin1");
        if (prompt === undefined && text.includes(PROMPT)) {
          prompt = { seconds: (performance.now() - t0) / 1000, steps: machine.hart.steps };
          machine.hart.requestStop();
        }
      },
      stderr: () => {},
      stdin: () => new Uint8Array(0),
    },
  });
  const t0 = performance.now();
  machine.loadKernel(kernel, { firmware });
  while (prompt === undefined) {
    const outcome = machine.run(10_000_000);
    if (outcome.kind !== "budget" || machine.hart.steps > 2e9) throw new Error(`no prompt: ${outcome.kind}`);
  }
  return prompt;
}

function bootQemu() {
  return new Promise((resolve, reject) => {
    const qemuArgs = [
      "-M",
      "virt",
      "-m",
      "128M",
      "-nographic",
      "-cpu",
      "rv32,f=false,d=false,h=false,sstc=false",
    ];
    qemuArgs.push(
      "-bios",
      variant === "mmu" ? join(out, "firmware.elf") : "none",
      "-kernel",
      join(out, `Image-${variant}`),
    );
    const t0 = performance.now();
    const q = spawn("qemu-system-riscv32", qemuArgs, { stdio: ["pipe", "pipe", "inherit"] });
    let text = "";
    let seconds;
    q.stdout.on("data", (d) => {
      text += d.toString("latin1");
      if (seconds === undefined && text.includes(PROMPT)) {
        seconds = (performance.now() - t0) / 1000;
        q.stdin.write("poweroff\n");
      }
    });
    q.on("error", reject);
    q.on("exit", () => (seconds === undefined ? reject(new Error("qemu: no prompt")) : resolve(seconds)));
  });
}

const amber = [];
const times = [];
let qemuThere = true;
for (let i = 0; i < runs; i++) {
  amber.push(bootAmber());
  if (!qemuThere) continue;
  try {
    times.push(await bootQemu());
  } catch (e) {
    if (e.code !== "ENOENT") throw e;
    qemuThere = false;
  }
}
const qemu = qemuThere ? median(times) : null;
const seconds = median(amber.map((r) => r.seconds));
const steps = amber[0].steps;
const result = {
  variant,
  runs,
  amber: {
    secondsToPrompt: seconds,
    /** The first run, in a process that had not run a guest yet. */
    coldSecondsToPrompt: amber[0].seconds,
    /** Whether boots reused the region modules earlier boots compiled (--keep-modules). */
    keptModules: keepModules,
    instructionsToPrompt: steps,
    mips: Number((steps / seconds / 1e6).toFixed(1)),
  },
  qemu: qemu === null ? null : { secondsToPrompt: qemu },
  /** Amber's time over QEMU's: below 1 is faster. */
  timeRatio: qemu === null ? null : Number((seconds / qemu).toFixed(3)),
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `Linux ${variant} kernel to the shell prompt (median of ${runs}${keepModules ? ", region modules kept between boots" : ""})`,
  );
  console.log("| runner | seconds | instructions | MIPS |");
  console.log("| --- | ---: | ---: | ---: |");
  console.log(`| amber | ${seconds.toFixed(2)} | ${steps.toLocaleString("en")} | ${result.amber.mips} |`);
  console.log(`| amber, first run (cold) | ${amber[0].seconds.toFixed(2)} | | |`);
  console.log(`| qemu-system-riscv32 | ${qemu === null ? "not installed" : qemu.toFixed(2)} | | |`);
  if (result.timeRatio !== null) console.log(`Amber / QEMU time: ${result.timeRatio}`);
}
