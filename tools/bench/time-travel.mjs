// Time-travel benchmark: what reverse execution and recording cost.
//   - a run of bench.elf to AT instructions (default 1e9) on a time line (snapshots every
//     2^22 steps, 256 MiB budget) against the plain run (the anchor, same process);
//   - the latency of one reverse step there (the time line's seek to the previous step, as
//     gdb's `bs` does), and of the next 99 (one step back each, from the near snapshot);
//   - the memory the snapshot ring holds;
//   - the slowdown of a recorded run (every console read and clock reading logged): the Linux
//     MMU kernel booting to its prompt with and without recording.
// Medians of RUNS runs.
//
//   node tools/bench/time-travel.mjs [--at N] [--runs N] [--json]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importSource, root } from "./bundle-sources.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const at = Number(takeFlag(args, "--at", "1e9"));
const runs = Number(takeFlag(args, "--runs", "3"));
const json = args.includes("--json");

const { Machine, InputLog, TimeLine } = await importSource("machine");
const guests = join(root, "tools/guests/out/rv32imac");
const linux = join(root, "tools/guests/linux/out");
const silent = { stdout: () => {}, stderr: () => {}, stdin: () => new Uint8Array(0) };

function bench() {
  const input = new InputLog(silent);
  const machine = new Machine({ io: input });
  machine.loadElf(readFileSync(join(guests, "bench.elf")), "bench");
  return { machine, input };
}

function plainRun() {
  const { machine } = bench();
  const t = performance.now();
  machine.run(at);
  return (performance.now() - t) / 1000;
}

function timeTravel() {
  const { machine, input } = bench();
  const timeline = new TimeLine(machine, input);
  let t = performance.now();
  timeline.run(at);
  const runSeconds = (performance.now() - t) / 1000;
  const steps = machine.hart.steps;
  t = performance.now();
  timeline.seek(steps - 1);
  const firstBack = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 2; i <= 100; i++) timeline.seek(steps - i);
  const nextBack = (performance.now() - t) / 1000 / 99;
  const result = {
    runSeconds,
    firstBack,
    nextBack,
    keptMiB: timeline.keptBytes / 2 ** 20,
    snapshots: timeline.count,
  };
  timeline.dispose();
  return result;
}

function linuxBoot(record) {
  let text = "";
  let done = false;
  const io = {
    stdout: (d) => {
      text += Buffer.from(d).toString("latin1");
      if (text.includes("amber# ")) done = true;
    },
    stderr: () => {},
    stdin: () => new Uint8Array(0),
  };
  const input = record ? new InputLog(io) : undefined;
  const machine = new Machine({ io: input ?? io });
  if (input) input.steps = () => machine.hart.liveSteps;
  machine.loadKernel(readFileSync(join(linux, "Image-mmu")), {
    firmware: readFileSync(join(linux, "firmware.elf")),
  });
  const t = performance.now();
  while (!done) machine.run(1_000_000);
  return { seconds: (performance.now() - t) / 1000, events: input?.events.length ?? 0 };
}

const plain = [];
const tt = [];
const boot = [];
const recorded = [];
for (let i = 0; i < runs; i++) {
  plain.push(plainRun());
  tt.push(timeTravel());
  boot.push(linuxBoot(false).seconds);
  recorded.push(linuxBoot(true));
}
const pick = (k) => median(tt.map((r) => r[k]));
const figures = {
  at,
  plainRunSeconds: median(plain),
  timeLineRunSeconds: pick("runSeconds"),
  timeLineOverhead: pick("runSeconds") / median(plain),
  reverseStepFirstMs: pick("firstBack") * 1000,
  reverseStepNextMs: pick("nextBack") * 1000,
  ringMiB: pick("keptMiB"),
  snapshots: pick("snapshots"),
  linuxBootSeconds: median(boot),
  linuxBootRecordedSeconds: median(recorded.map((r) => r.seconds)),
  recordingSlowdown: median(recorded.map((r) => r.seconds)) / median(boot),
  recordedEvents: recorded[0].events,
};
if (json) console.log(JSON.stringify(figures));
else {
  console.log(`bench.elf to ${at.toExponential(1)} instructions, medians of ${runs}:`);
  console.log(`  plain run             ${figures.plainRunSeconds.toFixed(2)} s`);
  console.log(
    `  on a time line        ${figures.timeLineRunSeconds.toFixed(2)} s (×${figures.timeLineOverhead.toFixed(2)}), ${figures.snapshots} snapshots, ring ${figures.ringMiB.toFixed(1)} MiB`,
  );
  console.log(
    `  reverse step there    ${figures.reverseStepFirstMs.toFixed(1)} ms (first), ${figures.reverseStepNextMs.toFixed(2)} ms (each of the next 99)`,
  );
  console.log(
    `Linux boot to prompt: ${figures.linuxBootSeconds.toFixed(2)} s, recorded ${figures.linuxBootRecordedSeconds.toFixed(2)} s (×${figures.recordingSlowdown.toFixed(3)}, ${figures.recordedEvents} inputs logged)`,
  );
}
