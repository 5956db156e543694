// Bundles (`amber bundle`): their sizes, and the wall time from starting a process until
// the guest is at its prompt: booting with `amber run` (until the prompt is printed) against
// a world bundled at its prompt (node app.mjs, the --exe executable: until the answer to a
// first command is printed, which is more than reaching the prompt). Every run is a whole
// process (node start-up included); medians of RUNS runs.
//
//   node tools/bench/bundle.mjs [--runs N] [--json] [--no-exe]
//
// Lisp: the project's Lisp, saved at its prompt; the command is (* 6 7), answered "42".
// Linux: the MMU kernel under the project's firmware, saved at the shell prompt; the
// command is `echo ready`, answered "ready" on a line of its own.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle } from "../../apps/amber/build.mjs";
import { root } from "./bundle-sources.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "5"));
const json = args.includes("--json");
const exe = !args.includes("--no-exe");

const work = mkdtempSync(join(tmpdir(), "amber-bench-bundle-"));
const amber = await bundle(join(work, "cli", "amber.js"));
const lisp = join(root, "tools/guests/lisp/out/lisp.elf");
const linux = join(root, "tools/guests/linux/out");
const linuxBoot = ["--bios", join(linux, "firmware.elf"), "--kernel", join(linux, "Image-mmu")];

function cli(argv) {
  const r = spawnSync(process.execPath, [amber, ...argv], { cwd: work, encoding: "utf8", input: "" });
  if (r.status !== 0) throw new Error(`amber ${argv.join(" ")}: ${r.stderr}`);
  return r;
}

/**
 * Seconds from spawning `command` to `answer` appearing in its output (then it is ended).
 * `input` goes to its stdin at once; without input, stdin is /dev/null.
 */
function timeToAnswer(command, argv, input, answer) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // No input: /dev/null (a pipe left open would block `amber run`'s console reads).
    const stdin = input === undefined ? "ignore" : "pipe";
    const p = spawn(command, argv, { cwd: work, stdio: [stdin, "pipe", "ignore"] });
    let text = "";
    let seconds;
    p.stdout.on("data", (d) => {
      text += d.toString("latin1");
      if (seconds === undefined && answer.test(text)) {
        seconds = (performance.now() - t0) / 1000;
        p.kill("SIGKILL"); // a guest running on in a synchronous loop does not see SIGTERM
      }
    });
    p.on("error", reject);
    p.on("exit", () =>
      seconds === undefined ? reject(new Error(`${command}: no answer in ${text}`)) : resolve(seconds),
    );
    if (input !== undefined) p.stdin.end(input);
  });
}

async function medianOf(f) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await f());
  return median(times);
}

const size = (f) => statSync(join(work, f)).size;

// The worlds, saved at their prompts (Lisp prints its prompt by instruction 98,700; Linux
// its shell prompt by 33,000,000).
cli(["run", lisp, "--save-at", "98700", "--save-to", "lisp.amber", "--halt-after-save"]);
cli(["run", ...linuxBoot, "--save-at", "33000000", "--save-to", "linux.amber", "--halt-after-save"]);
const rows = [];
for (const w of [
  { name: "Lisp", world: "lisp.amber", boot: [lisp], prompt: /lisp> /, input: "(* 6 7)\n", answer: /42\n/ },
  {
    name: "Linux",
    world: "linux.amber",
    boot: linuxBoot,
    prompt: /amber# /,
    input: "echo ready\n",
    answer: /\nready\r?\n/,
  },
]) {
  const base = w.world.replace(".amber", "");
  cli(["bundle", w.world, "-o", `${base}.mjs`]);
  if (exe) cli(["bundle", w.world, "--exe", "-o", `${base}-app`]);
  const boot = await medianOf(() =>
    timeToAnswer(process.execPath, [amber, "run", ...w.boot], undefined, w.prompt),
  );
  const mjs = await medianOf(() => timeToAnswer(process.execPath, [`${base}.mjs`], w.input, w.answer));
  const native = exe
    ? await medianOf(() => timeToAnswer(join(work, `${base}-app`), [], w.input, w.answer))
    : null;
  rows.push({
    world: w.name,
    imageBytes: size(w.world),
    mjsBytes: size(`${base}.mjs`),
    exeBytes: exe ? size(`${base}-app`) : null,
    secondsBootToPrompt: boot,
    secondsMjsToAnswer: mjs,
    secondsExeToAnswer: native,
  });
}
rmSync(work, { recursive: true, force: true });

if (json) console.log(JSON.stringify({ runs, rows }));
else {
  const mib = (n) => (n === null ? "-" : (n / 1048576).toFixed(2));
  const s = (n) => (n === null ? "-" : n.toFixed(3));
  console.log(
    `Bundles: wall seconds from process start to the guest ready at its prompt (median of ${runs})`,
  );
  console.log(
    "| world | image MiB | .mjs MiB | --exe MiB | boot to prompt (amber run) s | node app.mjs, first answer s | ./app, first answer s | speed-up |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(
      `| ${r.world} | ${mib(r.imageBytes)} | ${mib(r.mjsBytes)} | ${mib(r.exeBytes)} | ${s(r.secondsBootToPrompt)} | ${s(r.secondsMjsToAnswer)} | ${s(r.secondsExeToAnswer)} | ${(r.secondsBootToPrompt / r.secondsMjsToAnswer).toFixed(1)}× |`,
    );
  }
}
