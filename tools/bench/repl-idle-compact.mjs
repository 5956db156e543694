// Save fast, compress later: how long the REPL's idle-time pass takes to recompress a
// 128 MiB-RAM world with 32 MiB touched (Amber Lisp at its prompt, booted with a 32 MiB
// initrd of the host's shared libraries: real, partly compressible data), and the echo
// latency of lines typed meanwhile (each `(+ i 100000)` typed, its answer awaited). The
// anchor, measured in the same run: the same echo loop with `--no-idle-compact` (nothing
// in the background). Through the bundled CLI (apps/amber/dist/amber.js: `pnpm build`).
// Median of N runs (default 3) of the compaction time and of each run's largest stall.
//
//   node tools/bench/repl-idle-compact.mjs [--runs N]
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, takeFlag } from "./stats.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "3"));
const amber = join(root, "apps/amber/dist/amber.js");
const lisp = join(root, "apps/amber/dist/lisp.elf");
const tmp = mkdtempSync(join(tmpdir(), "amber-idle-bench-"));

// 32 MiB of shared libraries as the initrd (loaded into guest RAM: 32 MiB touched).
const libs = "/usr/lib/x86_64-linux-gnu";
const initrd = join(tmp, "libs.bin");
const fd = openSync(initrd, "w");
let left = 32 << 20;
const buf = Buffer.alloc(1 << 20);
for (const f of readdirSync(libs)
  .filter((n) => n.includes(".so"))
  .sort()) {
  if (left === 0) break;
  let src;
  try {
    if (!statSync(join(libs, f)).isFile()) continue;
    src = openSync(join(libs, f), "r");
  } catch {
    continue;
  }
  while (left > 0) {
    const n = readSync(src, buf, 0, Math.min(buf.length, left));
    if (n === 0) break;
    writeSync(fd, buf, 0, n);
    left -= n;
  }
  closeSync(src);
}
closeSync(fd);
const world = join(tmp, "w32.amber");
// Lisp waits at its prompt from instruction 98,738 on (no input): saved just before.
spawnSync(
  process.execPath,
  [
    amber,
    "run",
    "--kernel",
    lisp,
    "--initrd",
    initrd,
    "--ram",
    "128M",
    "--save-at",
    "98000",
    "--save-to",
    world,
    "--halt-after-save",
  ],
  { stdio: "ignore" },
);

async function once(mode) {
  const dir = join(mkdtempSync(join(tmp, "m-")), "m");
  const c = spawn(
    process.execPath,
    [amber, "repl", world, "--dir", dir, ...(mode === "off" ? ["--no-idle-compact"] : [])],
    {
      env: { ...process.env, AMBER_IDLE_COMPACT_MS: "0" },
    },
  );
  let out = "";
  let err = "";
  let wake = () => {};
  c.stdout.on("data", (d) => {
    out += d;
    wake();
  });
  c.stderr.on("data", (d) => {
    err += d;
    wake();
  });
  const until = async (f) => {
    while (!f())
      await new Promise((r) => {
        wake = r;
      });
  };
  c.stdin.write(":save big --full\n");
  await until(() => /saved big/.test(err));
  const t0 = performance.now();
  let done;
  let stall = 0;
  for (let i = 0; i < 5000; i++) {
    const s = performance.now();
    c.stdin.write(`(+ ${i} 100000)\n`);
    await until(() => out.includes(`${i + 100000}\n`));
    stall = Math.max(stall, performance.now() - s);
    if (done === undefined && /compacted big in the background/.test(err)) done = performance.now() - t0;
    if ((done !== undefined || mode === "off") && i >= 100) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  c.stdin.write(":quit!\n");
  await new Promise((r) => c.on("close", r));
  return { done, stall };
}

const on = [];
const off = [];
for (let r = 0; r < runs; r++) {
  on.push(await once("on"));
  off.push(await once("off"));
}
rmSync(tmp, { recursive: true, force: true });
const f = (x) => x.toFixed(1);
console.log(`world: 128 MiB RAM, 32 MiB touched, bundled CLI, ${runs} runs`);
console.log(
  `background compaction (saved → compacted notice): median ${f(median(on.map((x) => x.done)))} ms`,
);
console.log(`largest echo stall meanwhile: median ${f(median(on.map((x) => x.stall)))} ms`);
console.log(
  `anchor, largest echo stall with --no-idle-compact: median ${f(median(off.map((x) => x.stall)))} ms`,
);
