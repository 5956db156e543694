// Free page reporting benchmark: the size of a Linux world saved at the shell prompt after
// a workload that wrote and freed memory, with and without the virtio balloon, against the
// anchor `zstd -3` of the machine's raw RAM (the same 128 MiB, zeros where never written).
//
// The MMU kernel boots on a 128 MiB board, `memfill MIB` writes MIB MiB of incompressible
// data and frees it, `sleep 6` lets page reporting run (2 s of guest time after the frees),
// and the machine is saved at the next prompt: as Amber saves (codec none) and with zstd
// level 3 (what `amber compact --level 3` would store). Guest time follows instructions, so
// every figure is deterministic (sizes do not depend on the load; only seconds do).
//
//   node tools/bench/balloon.mjs [--mib N] [--json]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importSource, root } from "./bundle-sources.mjs";
import { takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const mib = Number(takeFlag(args, "--mib", "64"));
const json = args.includes("--json");
const out = join(root, "tools/guests/linux/out");
const PROMPT = "amber# ";

const { Machine } = await importSource("machine");
const { initCheckpoint, MemoryBlockFile, writeCheckpoint } = await importSource("checkpoint");
await initCheckpoint();
const kernel = readFileSync(join(out, "Image-mmu"));
const firmware = readFileSync(join(out, "firmware.elf"));

/** Boots, types each line at a prompt, and runs until the prompt after the last one. */
function session(balloon, lines) {
  let text = "";
  let sent = 0;
  let pending = new Uint8Array(0);
  const prompts = () => text.split(PROMPT).length - 1;
  const io = {
    stdout: (d) => {
      text += new TextDecoder().decode(d);
    },
    stderr: () => {},
    stdin: (max) => {
      if (pending.length === 0) {
        if (sent < lines.length && prompts() > sent) pending = new TextEncoder().encode(`${lines[sent++]}\n`);
        else return sent >= lines.length ? null : new Uint8Array(0);
      }
      const chunk = pending.subarray(0, max);
      pending = pending.subarray(chunk.length);
      return chunk;
    },
  };
  const machine = new Machine({ io, ramSize: 128 << 20, balloon });
  machine.loadKernel(kernel, { firmware });
  const t = performance.now();
  while (prompts() <= lines.length) {
    const outcome = machine.run(20_000_000);
    if (outcome.kind !== "budget") throw new Error(`guest stopped: ${JSON.stringify(outcome)}\n${text}`);
  }
  return { machine, text, seconds: (performance.now() - t) / 1000 };
}

function imageSize(machine, codec) {
  const input = machine.checkpointInput();
  const file = new MemoryBlockFile();
  return writeCheckpoint(file, codec === undefined ? input : { ...input, codec, level: 3 }).size;
}

/** `zstd -3` of the raw RAM (every byte, zeros where never written). */
function zstdRawRam(machine, dir) {
  const raw = join(dir, "ram.raw");
  writeFileSync(raw, machine.ram.readBytes(0, machine.ram.size));
  const z = spawnSync("zstd", ["-3", "-q", "-c", raw], { maxBuffer: 1 << 30 });
  if (z.status !== 0) throw new Error(`zstd failed: ${z.stderr}`);
  return z.stdout.length;
}

const dir = mkdtempSync(join(tmpdir(), "amber-balloon-"));
const results = {};
try {
  for (const balloon of [false, true]) {
    const { machine, seconds } = session(balloon, [`memfill ${mib}`, "sleep 6"]);
    results[balloon ? "balloon" : "plain"] = {
      instructions: machine.hart.steps,
      seconds,
      reportedMiB: balloon ? (machine.balloon.reportedPages * 4096) / 2 ** 20 : 0,
      pagesHoldingData: [...machine.checkpointInput().segments][0].pages.pages().length,
      imageBytes: imageSize(machine),
      imageZstd3Bytes: imageSize(machine, "zstd"),
      rawRamZstd3Bytes: zstdRawRam(machine, dir),
    };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
if (json) {
  process.stdout.write(`${JSON.stringify({ mib, load, ...results })}\n`);
} else {
  const MiB = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  console.log(`Linux at the prompt after memfill ${mib} + sleep 6, 128 MiB RAM (load ${load})`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(8)} image ${MiB(r.imageBytes)} (zstd-3 image ${MiB(r.imageZstd3Bytes)}), raw RAM zstd -3 ${MiB(r.rawRamZstd3Bytes)}, reported ${r.reportedMiB.toFixed(1)} MiB, ${r.instructions} instructions in ${r.seconds.toFixed(1)} s`,
    );
  }
  const p = results.plain;
  const b = results.balloon;
  console.log(
    `balloon/plain image: ${(b.imageBytes / p.imageBytes).toFixed(3)}; balloon image / plain raw RAM zstd -3: ${(b.imageBytes / p.rawRamZstd3Bytes).toFixed(3)}; balloon zstd-3 image / plain raw RAM zstd -3: ${(b.imageZstd3Bytes / p.rawRamZstd3Bytes).toFixed(3)}`,
  );
}
