// Registry benchmark (issue 12): Amber worlds through Debian's docker-registry on 127.0.0.1.
//
//   node tools/bench/registry.mjs [--runs N] [--json] [--chunks 64K,128K,256K,512K,1M]
//
// 1. push / pull throughput of a 128 MiB-RAM world with 32 MiB touched, against curl
//    uploading / downloading the same bytes (one blob) to the same registry;
// 2. per chunk size: bytes and requests fetched to reach the Linux shell prompt from an image
//    saved early in boot, resumed lazily (what the default chunk size is chosen by);
// 3. time to the first guest instruction, lazily vs after a full pull (Linux image);
// 4. bytes fetched to reach the Lisp prompt and the Linux prompt;
// 5. registry storage of 20 forked Lisp worlds vs 20 independent full images.
// Medians of N runs (default 3) where timed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importBundle, root } from "./bundle-sources.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "3"));
const json = args.includes("--json");
const only = takeFlag(args, "--only", "1,2,3,4,5").split(",").map(Number);
const chunkSizes = takeFlag(args, "--chunks", "64K,128K,256K,512K,1M")
  .split(",")
  .map((s) => Number.parseInt(s, 10) * (s.endsWith("M") ? 1 << 20 : 1024));

const lib = await importBundle(
  "registry-bench",
  `
export * from "./packages/registry/src/index.ts";
export { openRemote, DirectoryBlobCache, clientFor, WorkerTransport } from "./packages/registry/src/node/index.ts";
export { CheckpointReader, writeCheckpoint, initCheckpoint, typed } from "./packages/checkpoint/src/index.ts";
export { MemoryBlockFile } from "./packages/image/src/index.ts";
export { Machine, SECTION_SPECS } from "./packages/machine/src/index.ts";
export { initCodecs } from "./packages/compress/src/index.ts";
export { TestRegistry } from "./packages/registry/test/registry-server.ts";
`,
  root,
);
await Promise.all([lib.initCodecs(), lib.initCheckpoint(), lib.initRegistry()]);

const tmp = mkdtempSync(join(tmpdir(), "amber-bench-registry-"));
const registry = new lib.TestRegistry();
await registry.start();
// However the run ends, the registry and its storage go with it.
process.on("exit", () => {
  registry.killNow();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(registry.root, { recursive: true, force: true });
});
const log = (s) => process.stderr.write(`${s}\n`);
const MiB = 1 << 20;
const fmt = (n, d = 1) => n.toFixed(d);
let repoN = 0;
const repo = (what) => `${registry.host}/bench/${what}-${++repoN}`;
const client = (ref) => new lib.RegistryClient(lib.parseRef(ref, { insecure: true }));
const cacheDir = () => mkdtempSync(join(tmp, "cache-"));

/** A console that types each line once the prompt has been printed that many times. */
class Console {
  constructor(prompt, lines = []) {
    this.prompt = prompt;
    this.lines = lines;
    this.out = "";
    this.sent = 0;
    this.pending = new Uint8Array(0);
  }
  prompts() {
    return this.out.split(this.prompt).length - 1;
  }
  stdout(d) {
    this.out += Buffer.from(d).toString("latin1");
  }
  stderr(d) {
    this.stdout(d);
  }
  stdin(max) {
    if (this.pending.length === 0) {
      if (this.sent < this.lines.length && this.prompts() > this.sent) {
        this.pending = new TextEncoder().encode(`${this.lines[this.sent++]}\n`);
      } else return this.sent >= this.lines.length ? null : new Uint8Array(0);
    }
    const c = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(c.length);
    return c;
  }
}

/** Runs until `done()` (checked every slice) or `limit` instructions. */
function runUntil(machine, done, limit = 3e9) {
  while (!done()) {
    const o = machine.run(2_000_000);
    if (o.kind !== "budget" && !done()) throw new Error(`guest stopped: ${JSON.stringify(o)}`);
    if (machine.hart.steps > limit) throw new Error("no prompt");
  }
}

function save(machine, parent, hint) {
  const s = machine.beginSave(undefined, parent ? { parent, parentHint: hint } : {});
  const f = new lib.MemoryBlockFile(new Uint8Array(0), hint ?? "world.amber");
  const r = lib.writeCheckpoint(f, s.input);
  s.committed(r);
  return f.read(0, f.size());
}

const open = (bytes, name, parent) =>
  lib.CheckpointReader.open(new lib.MemoryBlockFile(bytes, name, false), {
    parent,
    sections: lib.SECTION_SPECS,
  });

async function push(ref, readers, chunkSize) {
  const plans = [];
  let parent;
  for (const r of readers) {
    parent = lib.planWorld(r, lib.singleFileBytes(r), parent, chunkSize, lib.sha256Digest);
    plans.push(parent);
  }
  const c = client(ref);
  const t = performance.now();
  const res = await lib.pushWorlds(c, plans, lib.parseRef(ref, { insecure: true }).tag ?? "latest");
  return { seconds: (performance.now() - t) / 1000, res, plans };
}

const results = {};

// ---------------------------------------------------------------- the 128 MiB world
/** A 128 MiB-RAM world with 32 MiB touched: its single-file bytes and reader. */
function bigWorld() {
  const ramSize = 128 * MiB;
  const touched = 32 * MiB;
  const pages = [];
  let x = 12345;
  for (let i = 0; i < touched / 4096; i++) {
    // Page content as a running guest leaves it: half text-like bytes, half small numbers.
    const p = new Uint8Array(4096);
    for (let j = 0; j < 4096; j += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      p[j] = 97 + ((x >>> 0) % 26);
      p[j + 1] = (x >>> 8) & 7;
      p[j + 3] = (x >>> 16) & 0xff;
    }
    pages.push({ index: i * 4, bytes: p });
  }
  const f = new lib.MemoryBlockFile(new Uint8Array(0), "big.amber");
  lib.writeCheckpoint(f, {
    machine: "riscv32-virt",
    creator: { name: "amber-bench", version: "0" },
    sections: [{ name: "cpu0", version: 1, fields: { pc: lib.typed.u32(0x80000000) } }],
    segments: [{ name: "ram", base: 0x80000000, size: ramSize, pages }],
  });
  const bytes = f.read(0, f.size());
  return { bytes, reader: open(bytes, "big.amber") };
}
const big = only.includes(1) || only.includes(2) ? bigWorld() : undefined;

/** Push and pull seconds (medians) of the big world at `chunkSize`, each to a fresh repository and cache. */
async function throughput(chunkSize) {
  const pushT = [];
  const pullT = [];
  for (let i = 0; i < runs; i++) {
    const ref = `${repo(`big-${chunkSize >> 10}k`)}:v1`;
    pushT.push((await push(ref, [big.reader], chunkSize)).seconds);
    const t = performance.now();
    await lib.pullWorlds(client(ref), { cache: new lib.DirectoryBlobCache(cacheDir()) });
    pullT.push((performance.now() - t) / 1000);
  }
  const mb = big.bytes.length / MiB;
  return { pushMiBps: mb / median(pushT), pullMiBps: mb / median(pullT) };
}

// ---------------------------------------------------------------- 1. throughput
if (only.includes(1)) {
  const { bytes } = big;
  const file = join(tmp, "big.amber");
  writeFileSync(file, bytes);
  const digest = lib.sha256Digest(bytes);
  const curlUp = [];
  const curlDown = [];
  for (let i = 0; i < runs; i++) {
    // curl: the same bytes as one blob, to a fresh repository (a full transfer), then back.
    const r = repo("curl");
    const base = `http://${r.replace(registry.host, `${registry.host}/v2`)}`;
    const post = spawnSync(
      "curl",
      ["-s", "-D", "-", "-o", "/dev/null", "-X", "POST", `${base}/blobs/uploads/`],
      {
        encoding: "utf8",
      },
    );
    const loc = /location: (\S+)/i.exec(post.stdout)[1];
    const put = spawnSync(
      "curl",
      [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{time_total} %{http_code}",
        "-X",
        "PUT",
        "-H",
        "content-type: application/octet-stream",
        "--data-binary",
        `@${file}`,
        `${loc}${loc.includes("?") ? "&" : "?"}digest=${digest}`,
      ],
      { encoding: "utf8" },
    );
    const [upT, code] = put.stdout.split(" ");
    if (code !== "201") throw new Error(`curl upload: ${put.stdout}`);
    curlUp.push(Number(upT));
    const get = spawnSync(
      "curl",
      ["-s", "-o", "/dev/null", "-w", "%{time_total}", `${base}/blobs/${digest}`],
      {
        encoding: "utf8",
      },
    );
    curlDown.push(Number(get.stdout));
  }
  const mb = bytes.length / MiB;
  results.throughput = {
    imageMiB: mb,
    chunkKiB: lib.DEFAULT_CHUNK_SIZE >> 10,
    ...(await throughput(lib.DEFAULT_CHUNK_SIZE)),
    curlUploadMiBps: mb / median(curlUp),
    curlDownloadMiBps: mb / median(curlDown),
  };
  const t = results.throughput;
  log(
    `1. 128 MiB world, 32 MiB touched: image ${fmt(mb)} MiB; push ${fmt(t.pushMiBps)} MiB/s (curl ${fmt(t.curlUploadMiBps)}), pull ${fmt(t.pullMiBps)} MiB/s (curl ${fmt(t.curlDownloadMiBps)})`,
  );
}

// ---------------------------------------------------------------- Linux and Lisp images
const linuxOut = join(root, "tools/guests/linux/out");
const lispElf = readFileSync(join(root, "tools/guests/lisp/out/lisp.elf"));

/** Resumes `ref` lazily (fresh cache), types `lines` at the prompt, runs until `prompt` has shown `count` times. */
function lazyToPrompt(ref, prompt, lines = [], count = 0) {
  const remote = lib.openRemote(`http://${ref}`, { sections: lib.SECTION_SPECS, cacheDir: cacheDir() });
  const io = new Console(prompt, lines);
  if (lines.length > 0) io.prompts = () => io.out.split(prompt).length; // resumed at the prompt
  const t = performance.now();
  const m = lib.Machine.fromCheckpoint(remote.reader, { io });
  m.run(1);
  const tr = remote.client.traffic;
  const first = { bytes: tr.bytesReceived, requests: tr.requests, seconds: (performance.now() - t) / 1000 };
  runUntil(m, () => io.prompts() > count);
  const seconds = (performance.now() - t) / 1000;
  const out = {
    bytes: tr.bytesReceived,
    requests: tr.requests,
    seconds,
    image: remote.files[0].size(),
    first,
  };
  remote.close();
  return out;
}

if (only.some((n) => n >= 2 && n <= 4)) {
  const linuxIo = new Console("amber# ");
  const linux = new lib.Machine({ io: linuxIo, ramSize: 128 * MiB });
  linux.loadKernel(readFileSync(join(linuxOut, "Image-mmu")), {
    firmware: readFileSync(join(linuxOut, "firmware.elf")),
  });
  linux.run(3_000_000);
  const linuxEarly = save(linux);
  runUntil(linux, () => linuxIo.prompts() > 0);
  const linuxPrompt = save(linux);
  const lispBoot = new lib.Machine({ io: new Console("lisp> "), ramSize: 128 * MiB });
  lispBoot.loadElf(lispElf, "lisp.elf");
  lispBoot.run(1000);
  const lispEarly = save(lispBoot);
  log(
    `images: Linux 3 M instructions into boot ${fmt(linuxEarly.length / MiB, 2)} MiB, at its prompt ${fmt(linuxPrompt.length / MiB, 2)} MiB; Lisp 1000 instructions in ${fmt(lispEarly.length / 1024)} KiB`,
  );

  // ---------------------------------------------------------------- 2. chunk size
  if (only.includes(2)) {
    results.chunkSizes = [];
    for (const cs of chunkSizes) {
      const ref = `${repo(`linux-${cs >> 10}k`)}:prompt`;
      await push(ref, [open(linuxPrompt, "linux.amber")], cs);
      // Resumed at the shell prompt: the first instruction, then one command to the next prompt.
      const lazy = lazyToPrompt(ref, "amber# ", ["ls /proc"], 1);
      const row = {
        chunkKiB: cs >> 10,
        ...(await throughput(cs)),
        firstKiB: lazy.first.bytes / 1024,
        firstRequests: lazy.first.requests,
        firstMs: lazy.first.seconds * 1000,
        commandKiB: lazy.bytes / 1024,
        commandRequests: lazy.requests,
        imageKiB: lazy.image / 1024,
      };
      results.chunkSizes.push(row);
      log(
        `2. chunk ${row.chunkKiB} KiB: 128 MiB world push ${fmt(row.pushMiBps)} MiB/s, pull ${fmt(row.pullMiBps)} MiB/s; Linux at its prompt (${fmt(row.imageKiB)} KiB): first instruction after ${fmt(row.firstKiB)} KiB / ${row.firstRequests} requests / ${fmt(row.firstMs)} ms, \`ls /proc\` to the next prompt ${fmt(row.commandKiB)} KiB / ${row.commandRequests} requests`,
      );
    }
  }

  // ---------------------------------------------------------------- 3. first instruction
  if (only.includes(3)) {
    const ref = `${repo("linux")}:prompt`;
    await push(ref, [open(linuxPrompt, "linux.amber")]);
    const lazyT = [];
    const fullT = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const remote = lib.openRemote(`http://${ref}`, { sections: lib.SECTION_SPECS, cacheDir: cacheDir() });
      lib.Machine.fromCheckpoint(remote.reader, { io: new Console("#") }).run(1);
      lazyT.push((performance.now() - t) / 1000);
      remote.close();
      t = performance.now();
      const [w] = await lib.pullWorlds(client(ref), { cache: new lib.DirectoryBlobCache(cacheDir()) });
      writeFileSync(join(tmp, "pulled.amber"), w.bytes);
      const r = open(readFileSync(join(tmp, "pulled.amber")), "pulled.amber");
      lib.Machine.fromCheckpoint(r, { io: new Console("#") }).run(1);
      fullT.push((performance.now() - t) / 1000);
    }
    results.firstInstruction = {
      lazyMs: median(lazyT) * 1000,
      afterFullPullMs: median(fullT) * 1000,
      imageMiB: linuxPrompt.length / MiB,
    };
    log(
      `3. first instruction (Linux at its prompt, ${fmt(linuxPrompt.length / MiB, 2)} MiB): lazily ${fmt(median(lazyT) * 1000)} ms, after a full pull ${fmt(median(fullT) * 1000)} ms`,
    );
  }

  // ---------------------------------------------------------------- 4. bytes to the prompts
  if (only.includes(4)) {
    const lispRef = `${repo("lisp")}:early`;
    await push(lispRef, [open(lispEarly, "lisp.amber")]);
    const linuxRef = `${repo("linux")}:early`;
    await push(linuxRef, [open(linuxEarly, "linux.amber")]);
    const lisp = lazyToPrompt(lispRef, "lisp> ");
    const linuxBoot = lazyToPrompt(linuxRef, "amber# ");
    results.toPrompt = { lisp, linux: linuxBoot };
    log(
      `4. saved early in boot, resumed lazily to the prompt: Lisp ${fmt(lisp.bytes / 1024)} KiB fetched (image ${fmt(lisp.image / 1024)} KiB, ${lisp.requests} requests); Linux ${fmt(linuxBoot.bytes / MiB, 2)} MiB (image ${fmt(linuxBoot.image / MiB, 2)} MiB, ${linuxBoot.requests} requests)`,
    );
  }
}

// ---------------------------------------------------------------- 5. storage of forks
if (only.includes(5)) {
  const io = new Console("lisp> ");
  const boot = new lib.Machine({ io, ramSize: 128 * MiB });
  boot.loadElf(lispElf, "lisp.elf");
  runUntil(boot, () => io.prompts() > 0, 5e8);
  const baseBytes = save(boot);
  const base = open(baseBytes, "base.amber");
  const forks = [];
  const fulls = [];
  for (let k = 0; k < 20; k++) {
    // The Lisp reads its UART itself (no tty to lose early input): both lines at once.
    const c = new Console("lisp> ");
    c.pending = new TextEncoder().encode(`(define (f${k} x) (* x ${k + 2}))\n(f${k} 21)\n`);
    const m = lib.Machine.fromCheckpoint(base, { io: c });
    try {
      runUntil(m, () => c.prompts() >= 2, 5e8);
    } catch (e) {
      throw new Error(`${e.message}: ${JSON.stringify(c.out)}`);
    }
    forks.push(save(m, base, "base.amber"));
    fulls.push(save(m));
  }
  const b0 = registry.blobBytes();
  await push(`${repo("forks")}:base`, [base]);
  const b1 = registry.blobBytes();
  for (let k = 0; k < 20; k++)
    await push(`${repo("forks")}:f${k}`, [base, open(forks[k], `f${k}.amber`, base)]);
  const b2 = registry.blobBytes();
  for (let k = 0; k < 20; k++) await push(`${repo("fulls")}:f${k}`, [open(fulls[k], `full${k}.amber`)]);
  const b3 = registry.blobBytes();
  const sum = (xs) => xs.reduce((n, x) => n + x.length, 0);
  results.storage = {
    baseKiB: (b1 - b0) / 1024,
    forksKiB: (b2 - b1) / 1024,
    forkImagesKiB: sum(forks) / 1024,
    fullsKiB: (b3 - b2) / 1024,
    fullImagesKiB: sum(fulls) / 1024,
  };
  const st = results.storage;
  log(
    `5. storage: base ${fmt(st.baseKiB)} KiB; 20 forks ${fmt(st.forksKiB)} KiB (their images ${fmt(st.forkImagesKiB)} KiB); 20 full images ${fmt(st.fullsKiB)} KiB (their images ${fmt(st.fullImagesKiB)} KiB)`,
  );
}

await registry.stop();
rmSync(tmp, { recursive: true, force: true });
if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
