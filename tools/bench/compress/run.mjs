// Compression benchmark for @amber/compress, side by side with the zstd and lz4 CLIs on
// the same files in one run. Figures are medians of --runs runs (default 5).
//
//   pnpm --filter @amber/compress bench            (or: node tools/bench/compress/run.mjs)
//   node tools/bench/compress/run.mjs [--runs N] [--quick] [--no-1g]
//
// Inputs: synthetic page mixes (zero, duplicated, random, text, a realistic-ish mix) and
// RAM dumps of the project's guests (tools/guests/out/rv32imac/*.elf, when built).
// MB = 10^6 bytes of raw input; CLI timings include process start-up (a few ms).
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { xorshift32 } from "../../test-support/prng.mjs";
import { importSource } from "../bundle-sources.mjs";
import { median } from "../stats.mjs";
import { dumpGuestRam, listGuests } from "./dump-guest-ram.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(opt("--runs", "5"));
const QUICK = args.includes("--quick");
const SKIP_1G = args.includes("--no-1g");
const MiB = 1024 * 1024;
const PAGE = 4096;

const C = await importSource("compress");
await C.initCodecs();
C.registerZlibCodecs(zlib);

const tmp = mkdtempSync(join(tmpdir(), "amber-compress-bench-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

const timeIt = (fn) => {
  const t = performance.now();
  const result = fn();
  return [performance.now() - t, result];
};
const mbps = (bytes, ms) => (bytes / 1e6 / (ms / 1000)).toFixed(0);

// ---------- inputs ----------
const xorshift = (seed) => xorshift32(seed | 1);
function randomBytes(n, seed) {
  const out = new Uint8Array(n);
  const r = xorshift(seed);
  for (let i = 0; i < n; i += 4) {
    const v = r();
    out[i] = v;
    out[i + 1] = v >>> 8;
    out[i + 2] = v >>> 16;
    out[i + 3] = v >>> 24;
  }
  return out;
}
const WORDS =
  "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their can has more when will would if so no".split(
    " ",
  );
function textBytes(n, seed) {
  const out = new Uint8Array(n);
  const r = xorshift(seed);
  let at = 0;
  while (at < n) {
    const w = `${WORDS[r() % WORDS.length]}${r() % 11 === 0 ? ".\n" : " "}`;
    for (let i = 0; i < w.length && at < n; i++) out[at++] = w.charCodeAt(i);
  }
  return out;
}
/** Machine code and data from this host's own binaries: the closest thing to RAM contents. */
function binaryBytes(n) {
  const out = new Uint8Array(n);
  let at = 0;
  for (const f of [
    "/usr/bin/node",
    "/usr/bin/zstd",
    "/usr/bin/lz4",
    "/usr/bin/git",
    "/usr/bin/perl",
    "/bin/bash",
  ]) {
    if (!existsSync(f) || at >= n) continue;
    const b = readFileSync(f);
    out.set(b.subarray(0, Math.min(b.length, n - at)), at);
    at += Math.min(b.length, n - at);
  }
  if (at < n) out.set(textBytes(n - at, 99), at);
  return out;
}
/**
 * A RAM-like mix: 40% zero pages, 15% copies of a few "shared library" pages, 25% code,
 * 12% text, 8% high-entropy heap, in a shuffled page order.
 */
function mixBytes(n, seed) {
  const pages = n / PAGE;
  const out = new Uint8Array(n);
  const code = binaryBytes(Math.ceil(pages * 0.25) * PAGE);
  const text = textBytes(Math.ceil(pages * 0.12) * PAGE, seed);
  const heap = randomBytes(Math.ceil(pages * 0.08) * PAGE, seed + 1);
  const shared = binaryBytes(64 * PAGE).map((b, i) => b ^ (i >> 12));
  const r = xorshift(seed + 2);
  let c = 0;
  let t = 0;
  let h = 0;
  for (let p = 0; p < pages; p++) {
    const dst = p * PAGE;
    const x = r() % 100;
    if (x < 40) continue;
    if (x < 55) {
      const s = (r() % 64) * PAGE;
      out.set(shared.subarray(s, s + PAGE), dst);
    } else if (x < 80 && c < code.length) {
      out.set(code.subarray(c, c + PAGE), dst);
      c += PAGE;
    } else if (x < 92 && t < text.length) {
      out.set(text.subarray(t, t + PAGE), dst);
      t += PAGE;
    } else if (h < heap.length) {
      out.set(heap.subarray(h, h + PAGE), dst);
      h += PAGE;
    }
  }
  return out;
}

const SYN = QUICK ? 4 * MiB : 16 * MiB;
const inputs = [];
function addInput(name, bytes) {
  const path = join(tmp, `${name}.bin`);
  writeFileSync(path, bytes);
  inputs.push({ name, path, size: bytes.length });
}
addInput("zero", new Uint8Array(SYN));
{
  const dup = new Uint8Array(SYN);
  const distinct = randomBytes(16 * PAGE, 7);
  for (let p = 0; p < SYN / PAGE; p++)
    dup.set(distinct.subarray((p % 16) * PAGE, (p % 16) * PAGE + PAGE), p * PAGE);
  addInput("duplicate", dup);
}
addInput("random", randomBytes(SYN, 11));
addInput("text", textBytes(SYN, 13));
addInput("mix", mixBytes(QUICK ? 8 * MiB : 32 * MiB, 17));

const guests = listGuests();
let guestNote = "";
if (guests.length === 0) {
  guestNote = "no guest ELFs in tools/guests/out/rv32imac yet: RAM dumps skipped";
} else {
  const dumps = await dumpGuestRam({
    outDir: join(tmp, "ram"),
    ramMiB: QUICK ? 16 : 128,
    guests: guests.slice(0, 3),
  });
  for (const d of dumps)
    inputs.push({ name: `ram ${d.guest}@${d.steps}`, path: d.path, size: statSync(d.path).size });
}

// ---------- our codecs, framed ----------
const CONFIGS = [
  { label: "amber none", codec: "none" },
  { label: "amber lz4", codec: "lz4" },
  { label: "amber zstd-1", codec: "zstd", level: 1 },
  { label: "amber zstd-3 (default)", codec: "zstd", level: 3 },
  { label: "amber zstd-9", codec: "zstd", level: 9 },
  { label: "amber zstd-19", codec: "zstd", level: 19, slow: true },
  { label: "amber deflate-6", codec: "deflate", level: 6 },
  { label: "amber brotli-5", codec: "brotli", level: 5 },
];
const rows = [];
for (const input of inputs) {
  const bytes = new Uint8Array(readFileSync(input.path));
  for (const cfg of CONFIGS) {
    if (cfg.slow && input.name === "random") continue;
    const enc = [];
    const dec = [];
    let file;
    for (let r = 0; r < RUNS; r++) {
      const [te, f] = timeIt(() => C.encodePages(bytes, { codec: cfg.codec, level: cfg.level }));
      file = f;
      const [td, out] = timeIt(() => C.decodePages(file, { limits: { maxOutputBytes: 2 ** 31 } }));
      if (r === 0 && Buffer.compare(out, bytes) !== 0)
        throw new Error(`${cfg.label} round trip failed on ${input.name}`);
      enc.push(te);
      dec.push(td);
    }
    rows.push({
      input: input.name,
      tool: cfg.label,
      size: input.size,
      out: file.length,
      enc: median(enc),
      dec: median(dec),
    });
  }
  // ---------- the CLIs on the same file ----------
  for (const [label, bin, levelArgs] of [
    ["zstd -3 (CLI)", "/usr/bin/zstd", ["-3"]],
    ["zstd -19 (CLI)", "/usr/bin/zstd", ["-19"]],
    ["lz4 (CLI)", "/usr/bin/lz4", ["-1"]],
  ]) {
    if (!existsSync(bin)) continue;
    if (levelArgs[0] === "-19" && input.name === "random") continue;
    const out = join(tmp, "cli.out");
    const enc = [];
    const dec = [];
    for (let r = 0; r < RUNS; r++) {
      const [te, res] = timeIt(() =>
        spawnSync(bin, [...levelArgs, "-q", "-f", input.path, ...(bin.endsWith("lz4") ? [] : ["-o"]), out]),
      );
      if (res.status !== 0) throw new Error(`${label} failed: ${res.stderr}`);
      const [td] = timeIt(() =>
        spawnSync(bin, ["-d", "-q", "-c", out], { stdio: ["ignore", "ignore", "inherit"] }),
      );
      enc.push(te);
      dec.push(td);
    }
    rows.push({
      input: input.name,
      tool: label,
      size: input.size,
      out: statSync(out).size,
      enc: median(enc),
      dec: median(dec),
    });
  }
}

console.log(`\n## @amber/compress benchmark (medians of ${RUNS} runs; node ${process.version})\n`);
if (guestNote) console.log(`_${guestNote}_\n`);
console.log("| input | size MiB | tool | ratio | encode MB/s | decode MB/s |");
console.log("| --- | ---: | --- | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.input} | ${(r.size / MiB).toFixed(0)} | ${r.tool} | ${(r.size / r.out).toFixed(2)} | ${mbps(r.size, r.enc)} | ${mbps(r.size, r.dec)} |`,
  );
}

// ---------- targets ----------
console.log("\n## Targets\n");
const ratioOf = (input, tool) => rows.find((r) => r.input === input && r.tool === tool);
for (const input of inputs.filter((i) => i.name === "mix" || i.name.startsWith("ram"))) {
  const ours = ratioOf(input.name, "amber zstd-3 (default)");
  const cli = ratioOf(input.name, "zstd -3 (CLI)");
  if (ours && cli) {
    const a = ours.size / ours.out;
    const b = cli.size / cli.out;
    console.log(
      `- ratio on ${input.name}: amber default ${a.toFixed(2)} vs zstd -3 ${b.toFixed(2)} → ${a >= b ? "met" : "NOT met"}`,
    );
  }
}

// Zero and duplicate pages: bigger inputs, timing encode and whole-image decode.
{
  const size = QUICK ? 64 * MiB : 256 * MiB;
  const zero = new Uint8Array(size);
  const dup = new Uint8Array(size);
  const distinct = randomBytes(64 * PAGE, 23);
  for (let p = 0; p < size / PAGE; p++)
    dup.set(distinct.subarray((p % 64) * PAGE, (p % 64) * PAGE + PAGE), p * PAGE);
  for (const [name, bytes] of [
    ["zero pages", zero],
    ["duplicate pages", dup],
  ]) {
    const enc = [];
    const dec = [];
    let file;
    for (let r = 0; r < RUNS; r++) {
      const [te, f] = timeIt(() => C.encodePages(bytes));
      file = f;
      const [td] = timeIt(() => C.decodePages(file));
      enc.push(te);
      dec.push(td);
    }
    const e = Number(mbps(size, median(enc)));
    const d = Number(mbps(size, median(dec)));
    console.log(
      `- ${name} (${size / MiB} MiB, zstd-3): encode ${e} MB/s, decode ${d} MB/s, ${file.length} bytes → ${e >= 2000 && d >= 2000 ? "met" : "NOT met"} (target ≥ 2 GB/s)`,
    );
  }
}

// Random page reads from a 1 GiB framed image, written and read through a file.
if (!SKIP_1G) {
  const GiB = QUICK ? 256 * MiB : 1024 * MiB;
  const pages = GiB / PAGE;
  const path = join(tmp, "big.ambp");
  const fd = openSync(path, "w");
  const data = mixBytes(8 * MiB, 29); // 2048 RAM-like pages, reused with a twist
  const page = new Uint8Array(PAGE);
  const zeroPage = new Uint8Array(PAGE);
  const pageAt = (n) => {
    // 1 page in 8 holds data (varied so dedup does not swallow it); the rest stay zero.
    if (n % 8 !== 0) return zeroPage;
    const src = ((n >>> 3) % 2048) * PAGE;
    page.set(data.subarray(src, src + PAGE));
    page[0] ^= n & 0xff;
    page[1] ^= (n >>> 8) & 0xff;
    page[2] ^= (n >>> 16) & 0xff;
    return page;
  };
  const [tw, writer] = timeIt(() => {
    const w = new C.FramedWriter({ onChunk: (c) => writeSync(fd, c) });
    for (let n = 0; n < pages; n++) w.addPage(pageAt(n));
    w.finish();
    return w;
  });
  closeSync(fd);
  const rfd = openSync(path, "r");
  const source = {
    size: statSync(path).size,
    read(offset, length) {
      const buf = new Uint8Array(length);
      const got = readSync(rfd, buf, 0, length, offset);
      return buf.subarray(0, got);
    },
  };
  const [topen, reader] = timeIt(() => C.FramedReader.open(source, { cacheBlocks: 1 }));
  const r = xorshift(31);
  const lat = [];
  for (let i = 0; i < 2000; i++) {
    const n = r() % pages;
    const [t, got] = timeIt(() => reader.readPage(n));
    if (Buffer.compare(got, pageAt(n)) !== 0) throw new Error(`page ${n} reads back wrong`);
    lat.push(t);
  }
  const dataLat = [];
  for (let i = 0; i < 2000; i++) {
    const n = (r() % (pages / 8)) * 8;
    dataLat.push(timeIt(() => reader.readPage(n))[0]);
  }
  closeSync(rfd);
  const s = [...dataLat].sort((a, b) => a - b);
  const p99 = s[Math.floor(s.length * 0.99)];
  console.log(
    `- 1 GiB framed image (${GiB / MiB} MiB, 1/8 data pages, zstd-3): written in ${(tw / 1000).toFixed(1)} s (${mbps(GiB, tw)} MB/s) to ${(source.size / MiB).toFixed(1)} MiB, ${reader.blockCount} blocks, opened in ${topen.toFixed(1)} ms; random page read median ${(median(lat) * 1000).toFixed(0)} µs; data-page read median ${(median(dataLat) * 1000).toFixed(0)} µs, p99 ${(p99 * 1000).toFixed(0)} µs → ${median(dataLat) < 1 ? "met" : "NOT met"} (target < 1 ms)`,
  );
  void writer;
}

// Delta: a dump with 1% of its pages changed, against the full compressed size.
{
  const full = readFileSync(inputs.find((i) => i.name === "mix").path);
  const base = new Uint8Array(full);
  const pages = base.length / PAGE;
  const fullSize = C.encodePages(base).length;
  for (const [how, change] of [
    [
      "16 scattered bytes",
      (p, r) => {
        for (let k = 0; k < 16; k++) p[r() % PAGE] ^= 1 + (r() % 255);
      },
    ],
    ["a 256-byte run", (p, r) => p.set(randomBytes(256, r()), r() % (PAGE - 256))],
    ["whole page rewritten", (p, r) => p.set(randomBytes(PAGE, r()))],
  ]) {
    const next = base.slice();
    const r = xorshift(41);
    const changed = Math.round(pages / 100);
    const chosen = new Set();
    while (chosen.size < changed) chosen.add(r() % pages);
    for (const n of chosen) change(next.subarray(n * PAGE, (n + 1) * PAGE), r);
    const basePage = (n) => base.subarray(n * PAGE, (n + 1) * PAGE);
    const [t, delta] = timeIt(() => C.encodePages(next, { basePage }));
    const back = C.decodePages(delta, { basePage });
    if (Buffer.compare(back, next) !== 0) throw new Error("delta round trip failed");
    const pct = (100 * delta.length) / fullSize;
    console.log(
      `- delta, 1% of pages changed (${how}): ${delta.length} bytes = ${pct.toFixed(2)}% of the full ${fullSize} bytes, encoded at ${mbps(next.length, t)} MB/s → ${pct <= 2 ? "met" : "NOT met"} (target ≤ 2%)`,
    );
  }
}
