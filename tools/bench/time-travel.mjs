// Time-travel benchmark: what reverse execution and recording cost.
//   - a run of bench.elf to AT instructions (default 1e9) on a time line (snapshots every
//     2^22 steps, 256 MiB budget) against the plain run (the anchor, same process);
//   - the latency of one reverse step there (the time line's seek to the previous step, as
//     gdb's `bs` does), and of the next 99 (one step back each, from the near snapshot);
//   - the memory the snapshot ring holds;
//   - the slowdown of a recorded run (every console read and clock reading logged): the Linux
//     MMU kernel booting to its prompt with and without recording;
//   - what gdb sees (unless --no-gdb, or gdb-multiarch is missing): the machine at AT on a
//     time line behind a gdb server on a TCP port (the GdbServer the CLI serves), and
//       * a raw remote-protocol client sending `bs` (reverse step) and `s` (step), each
//         packet's round trip: the first `bs` at AT, then the next 99;
//       * Debian's gdb-multiarch in batch mode: the wall time of a session with K
//         `reverse-stepi` (or `stepi`) minus that of the same session with none, over K —
//         gdb's own round trip per step (it reads registers and memory at every stop).
// Medians of RUNS runs.
//
//   node tools/bench/time-travel.mjs [--at N] [--runs N] [--json] [--no-gdb | --only-gdb] [--gdb-steps K]
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { importSource, root } from "./bundle-sources.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const at = Number(takeFlag(args, "--at", "1e9"));
const runs = Number(takeFlag(args, "--runs", "3"));
const json = args.includes("--json");
const gdbSteps = Number(takeFlag(args, "--gdb-steps", "200"));
const onlyGdb = args.includes("--only-gdb");
const withGdb = !args.includes("--no-gdb") && spawnSync("gdb-multiarch", ["--version"]).status === 0;

const { Machine, InputLog, TimeLine, Debugger, GdbServer } = await importSource("machine");
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

/** Serves `timeline`'s machine to gdb on a free port, as the CLI's --gdb does (without free running). */
function serve(machine, timeline) {
  const debug = new Debugger(machine, timeline);
  const listener = net.createServer((socket) => {
    socket.setNoDelay(true);
    const server = new GdbServer(debug, (b) => socket.write(b));
    const pump = () => {
      if (server.tick()) setImmediate(pump);
    };
    socket.on("data", (d) => {
      server.receive(new Uint8Array(d.buffer, d.byteOffset, d.length));
      if (server.running) setImmediate(pump);
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) =>
    listener.listen(0, "127.0.0.1", () =>
      resolve({ port: listener.address().port, close: () => listener.close() }),
    ),
  );
}

/** A minimal remote-protocol client (no-ack mode): `ask(packet)` resolves with the reply's payload. */
async function rspClient(port) {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise((r) => socket.once("connect", r));
  let buffer = "";
  let waiter;
  socket.on("data", (d) => {
    buffer += d.toString("latin1");
    const m = /\$([^#]*)#[0-9a-f]{2}/.exec(buffer);
    if (m !== null && waiter !== undefined) {
      buffer = buffer.slice(m.index + m[0].length);
      const w = waiter;
      waiter = undefined;
      w(m[1]);
    }
  });
  const ask = (p) => {
    let sum = 0;
    for (const c of p) sum = (sum + c.charCodeAt(0)) & 0xff;
    return new Promise((resolve) => {
      waiter = resolve;
      socket.write(`$${p}#${sum.toString(16).padStart(2, "0")}`);
    });
  };
  await ask("QStartNoAckMode");
  buffer = buffer.replace(/^\+/, "");
  return { ask, close: () => socket.destroy() };
}

/** Wall seconds of a gdb-multiarch batch session against `port` running `commands`. */
function gdbBatch(port, commands) {
  const gdbArgs = [
    "-nx",
    "-batch",
    "-ex",
    "set architecture riscv:rv32",
    "-ex",
    `target remote 127.0.0.1:${port}`,
  ];
  for (const c of commands) gdbArgs.push("-ex", c);
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("gdb-multiarch", gdbArgs, { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", () => resolve((performance.now() - t) / 1000));
  });
}

async function gdbFigures() {
  const { machine, input } = bench();
  const timeline = new TimeLine(machine, input);
  timeline.run(at);
  const { port, close } = await serve(machine, timeline);
  const rsp = await rspClient(port);
  let t = performance.now();
  await rsp.ask("bs");
  const rspFirstBack = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 99; i++) await rsp.ask("bs");
  const rspNextBack = (performance.now() - t) / 99;
  t = performance.now();
  for (let i = 0; i < 100; i++) await rsp.ask("s");
  const rspStep = (performance.now() - t) / 100;
  rsp.close();
  const K = gdbSteps;
  const none = await gdbBatch(port, []);
  const back = await gdbBatch(
    port,
    Array.from({ length: K }, () => "reverse-stepi"),
  );
  const forward = await gdbBatch(
    port,
    Array.from({ length: K }, () => "stepi"),
  );
  close();
  timeline.dispose();
  return {
    rspFirstBackMs: rspFirstBack,
    rspNextBackMs: rspNextBack,
    rspStepMs: rspStep,
    gdbSessionSeconds: none,
    gdbReverseStepiMs: ((back - none) / K) * 1000,
    gdbStepiMs: ((forward - none) / K) * 1000,
  };
}

if (onlyGdb) {
  const gdb = [];
  for (let i = 0; i < runs; i++) gdb.push(await gdbFigures());
  const figures = Object.fromEntries(Object.keys(gdb[0]).map((k) => [k, median(gdb.map((r) => r[k]))]));
  console.log(JSON.stringify({ at, runs, gdbSteps, ...figures }));
  process.exit(0);
}

// Warm-up (not counted): the compiler's and V8's first run of each path.
linuxBoot(false);
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
const gdb = [];
if (withGdb) for (let i = 0; i < runs; i++) gdb.push(await gdbFigures());
const pick = (k) => median(tt.map((r) => r[k]));
const pickGdb = (k) => (gdb.length === 0 ? undefined : median(gdb.map((r) => r[k])));
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
  gdbRspFirstReverseStepMs: pickGdb("rspFirstBackMs"),
  gdbRspNextReverseStepMs: pickGdb("rspNextBackMs"),
  gdbRspStepMs: pickGdb("rspStepMs"),
  gdbSessionSeconds: pickGdb("gdbSessionSeconds"),
  gdbReverseStepiMs: pickGdb("gdbReverseStepiMs"),
  gdbStepiMs: pickGdb("gdbStepiMs"),
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
  if (gdb.length > 0) {
    console.log(`gdb at ${at.toExponential(1)} instructions (remote protocol over TCP, 127.0.0.1):`);
    console.log(
      `  raw client: first bs ${figures.gdbRspFirstReverseStepMs.toFixed(1)} ms, next bs ${figures.gdbRspNextReverseStepMs.toFixed(2)} ms, s ${figures.gdbRspStepMs.toFixed(3)} ms (round trips)`,
    );
    console.log(
      `  gdb-multiarch: reverse-stepi ${figures.gdbReverseStepiMs.toFixed(1)} ms, stepi ${figures.gdbStepiMs.toFixed(1)} ms per step (a session with none: ${figures.gdbSessionSeconds.toFixed(2)} s)`,
    );
  }
}
