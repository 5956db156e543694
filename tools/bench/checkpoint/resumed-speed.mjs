// Speed of a resumed machine against a fresh one: bench.elf run for SAVE_AT instructions,
// saved, and resumed from the image (lazily: pages read on first touch), next to the same
// guest run straight through. Both time only the instructions after SAVE_AT, inside the
// process (no start-up), interleaved (fresh, resumed, fresh, ...). Prints medians of MIPS
// over wall time and over the process's CPU time (less disturbed by a loaded machine).
//   node tools/bench/checkpoint/resumed-speed.mjs [--runs N] [--save-at N] [--json]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importCheckpointMachine, root } from "../bundle-sources.mjs";
import { median, takeFlag } from "../stats.mjs";

const args = process.argv.slice(2);
const runs = Math.max(1, Number(takeFlag(args, "--runs", "3")) || 3);
const saveAt = Number(takeFlag(args, "--save-at", "2000000"));
const json = args.includes("--json");
const GUEST = join(root, "tools/guests/out/rv32imac/bench.elf");
const ck = await importCheckpointMachine("resumed-speed");
const dir = mkdtempSync(join(tmpdir(), "amber-resumed-speed-"));
const elf = readFileSync(GUEST);

function booted() {
  const io = new ck.CapturedIo();
  const m = new ck.Machine({ ramSize: 128 << 20, io, cmdline: "bench.elf" });
  m.loadElf(elf, "bench.elf");
  if (m.run(saveAt).kind !== "budget") throw new Error("bench.elf ended before --save-at");
  return { m, io };
}

/** Runs `m` to the end; MIPS over the instructions run here, and the end state. */
function timedRest(m, io) {
  const s0 = m.hart.steps;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const outcome = m.run();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  return {
    mips: (m.hart.steps - s0) / ms / 1000,
    cpuMips: (m.hart.steps - s0) / cpuMs / 1000,
    steps: m.hart.steps,
    out: io.stdoutText,
    outcome,
    direct: m.ram.loadsDirect,
  };
}

const image = join(dir, "bench.amber");
{
  const { m } = booted();
  const s = m.beginSave();
  s.committed(ck.node.writeCheckpointFile(image, s.input));
}
const fresh = [];
const resumed = [];
const freshCpu = [];
const resumedCpu = [];
let ends;
for (let r = 0; r < runs; r++) {
  const f = booted();
  const a = timedRest(f.m, f.io);
  fresh.push(a.mips);
  freshCpu.push(a.cpuMips);
  const reader = ck.node.openCheckpoint(image);
  const io = new ck.CapturedIo();
  const m = ck.Machine.fromCheckpoint(reader, { io });
  const b = timedRest(m, io);
  reader.close();
  resumed.push(b.mips);
  resumedCpu.push(b.cpuMips);
  ends = [a, b];
}
rmSync(dir, { recursive: true, force: true });
const same = ends[0].steps === ends[1].steps && ends[0].outcome.kind === ends[1].outcome.kind;
const result = {
  saveAt,
  runs,
  freshMips: median(fresh),
  resumedMips: median(resumed),
  ratio: median(resumed) / median(fresh),
  freshCpuMips: median(freshCpu),
  resumedCpuMips: median(resumedCpu),
  cpuRatio: median(resumedCpu) / median(freshCpu),
  // The resumed console holds only what came after the save.
  sameOutput: ends[1].out.length > 0 && ends[0].out.endsWith(ends[1].out),
  sameSteps: same,
  resumedLoadsDirectAtEnd: ends[1].direct,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`bench.elf after ${saveAt} instructions, median of ${runs}:`);
  console.log(
    `  fresh   ${result.freshMips.toFixed(1)} MIPS wall, ${result.freshCpuMips.toFixed(1)} MIPS CPU`,
  );
  console.log(
    `  resumed ${result.resumedMips.toFixed(1)} MIPS wall, ${result.resumedCpuMips.toFixed(1)} MIPS CPU (${result.ratio.toFixed(2)}× / ${result.cpuRatio.toFixed(2)}× fresh; loadsDirect at end: ${result.resumedLoadsDirectAtEnd})`,
  );
  console.log(`  same instruction count: ${same} (${ends[0].steps}); same output: ${result.sameOutput}`);
}
