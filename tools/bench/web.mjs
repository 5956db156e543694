// The web app's figures, in Debian's Chromium driven by playwright-core (issue 11):
// bundle sizes (gzip) of the page and the worker; page load → Lisp prompt and → Linux
// prompt; MIPS of the same guest in the browser's worker and in the CLI, same run; the
// pause of :save in the page; opening a 128 MiB-RAM world (96 MiB of it data) from a URL
// lazily (HTTP Range) vs fetched whole. Medians of RUNS runs.
//
//   node tools/bench/web.mjs [--runs N] [--json]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { CHROMIUM, CHROMIUM_ARGS } from "../test-support/chromium.mjs";
import { importSource, root } from "./bundle-sources.mjs";
import { median, takeFlag } from "./stats.mjs";

const args = process.argv.slice(2);
const runs = Number(takeFlag(args, "--runs", "3"));
const json = args.includes("--json");
const web = join(root, "apps/web");
const { chromium } = createRequire(join(web, "package.json"))("playwright-core");
const { buildWeb } = await import(pathToFileURL(join(web, "build.mjs")).href);
const { serve } = await import(pathToFileURL(join(web, "serve.mjs")).href);

const tmp = mkdtempSync(join(tmpdir(), "amber-bench-web-"));
const dist = await buildWeb(join(tmp, "dist"));
const figures = {};
const log = (m) => process.stderr.write(`${m}\n`);

// Bundle sizes.
for (const f of ["app.js", "worker.js"]) {
  const bytes = readFileSync(join(dist, f));
  figures[`${f} bytes`] = bytes.length;
  figures[`${f} gzip bytes`] = gzipSync(bytes, { level: 9 }).length;
}

// A 128 MiB-RAM Lisp world with 96 MiB of incompressible data in RAM the guest never
// touches: what a big world costs to open. Made with the board's API in this process.
async function bigWorld(file) {
  const { initCodecs } = await importSource("compress");
  await initCodecs();
  const checkpoint = await importSource("checkpoint");
  await checkpoint.initCheckpoint();
  const { Machine } = await importSource("machine");
  let out = "";
  const machine = new Machine({
    ramSize: 128 << 20,
    io: {
      stdout: (d) => (out += Buffer.from(d).toString()),
      stderr: () => {},
      stdin: () => new Uint8Array(0),
    },
  });
  machine.loadElf(readFileSync(join(root, "tools/guests/lisp/out/lisp.elf")), "lisp.elf");
  while (!out.includes("lisp> ")) machine.run(1_000_000);
  let x = 0x12345678;
  const chunk = new Uint8Array(1 << 20);
  for (let mib = 32; mib < 128; mib++) {
    for (let i = 0; i < chunk.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      chunk[i] = x;
      chunk[i + 1] = x >>> 8;
      chunk[i + 2] = x >>> 16;
      chunk[i + 3] = x >>> 24;
    }
    machine.ram.writeBytes(mib << 20, chunk);
  }
  const save = machine.beginSave({ name: "amber-bench", version: "0" });
  const mem = new checkpoint.MemoryBlockFile();
  checkpoint.writeCheckpoint(mem, {
    ...save.input,
    sections: [
      ...save.input.sections,
      { name: "repl-console", version: 1, minVersion: 1, fields: { tail: "lisp> " } },
    ],
  });
  save.end();
  writeFileSync(file, mem.contents());
}
/** The anchor: the same Linux boot on the board's API in this Node process (as linux-boot.mjs). */
const { Machine: NodeMachine } = await importSource("machine");
const kernel = readFileSync(join(root, "tools/guests/linux/out/Image-mmu"));
const firmware = readFileSync(join(root, "tools/guests/linux/out/firmware.elf"));
const nodeLinux = [];
function bootLinuxInNode() {
  let out = "";
  const machine = new NodeMachine({
    io: {
      stdout: (d) => (out += Buffer.from(d).toString("latin1")),
      stderr: () => {},
      stdin: () => new Uint8Array(0),
    },
  });
  const t0 = performance.now();
  machine.loadKernel(kernel, { firmware });
  while (!out.includes("amber# ")) {
    if (machine.run(1_000_000).kind !== "budget") throw new Error("Linux stopped before its prompt");
  }
  return (performance.now() - t0) / 1000;
}

const worldFile = join(tmp, "big.amber");
await bigWorld(worldFile);
figures["big world file MiB"] = +(statSync(worldFile).size / 1048576).toFixed(1);

const ranged = await serve({ root: dist, mounts: { "/w": tmp } });
const whole = await serve({ root: dist, mounts: { "/w": tmp }, ranges: false });
const profile = mkdtempSync(join(tmpdir(), "amber-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
});
const page = await context.newPage();
page.on("dialog", (d) => void d.accept());
const monitorText = () => page.evaluate(() => window.amber.monitorText());
const shows = (what, timeout = 900_000) =>
  page.waitForFunction((t) => window.amber.terminalText().includes(t), what, { timeout, polling: 20 });
const said = (re, timeout = 300_000) =>
  page.waitForFunction(([s, f]) => new RegExp(s, f).test(window.amber.monitorText()), [re.source, re.flags], {
    timeout,
    polling: 20,
  });
async function typeLine(line) {
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const load = [];
const lisp = [];
const linux = [];
const saveFull = [];
const saveIncremental = [];
const lazy = [];
const full = [];
let lazyFetch;
let fullFetch;
for (let r = 0; r < runs; r++) {
  log(`run ${r + 1}/${runs}`);
  load.push(await timed(() => page.goto(ranged.url)));
  lisp.push(
    await timed(async () => {
      await page.click("#boot-lisp");
      await shows("lisp> ");
    }),
  );
  await typeLine("(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))");
  await shows("\nfib\n");
  await typeLine(`:save full-${r}`);
  await said(new RegExp(`saved full-${r} \\(full\\).* in ([\\d.]+) ms`));
  saveFull.push(
    Number((await monitorText()).match(new RegExp(`saved full-${r} \\(full\\).* in ([\\d.]+) ms`))[1]),
  );
  await typeLine("(fib 15)");
  await shows("\n610\n");
  await typeLine(`:save inc-${r}`);
  await said(new RegExp(`saved inc-${r} \\(incremental.* in ([\\d.]+) ms`));
  saveIncremental.push(
    Number((await monitorText()).match(new RegExp(`saved inc-${r} \\(incremental.* in ([\\d.]+) ms`))[1]),
  );

  await page.goto(ranged.url);
  linux.push(
    await timed(async () => {
      await page.click("#boot-linux");
      await shows("amber# ");
    }),
  );
  // Leave the page (its worker stops) before the anchor runs, so they do not share the CPU.
  await page.goto(ranged.url);
  nodeLinux.push(bootLinuxInNode());

  for (const [server, into] of [
    [ranged, lazy],
    [whole, full],
  ]) {
    into.push(
      await timed(async () => {
        await page.goto(`${server.url}?image=/w/big.amber`);
        await shows("lisp> ");
        await typeLine("(+ 40 2)");
        await shows("\n42\n");
      }),
    );
    await page.waitForFunction(() => /URL:/.test(document.getElementById("status").textContent), null, {
      timeout: 10_000,
    });
    const status = await page.textContent("#status");
    if (server === ranged) lazyFetch = status.replace(/.*URL: /, "");
    else fullFetch = status.replace(/.*URL: /, "");
  }
}
figures["page load (goto → load event) s"] = +median(load).toFixed(2);
figures["Boot Lisp click → Lisp prompt s"] = +median(lisp).toFixed(2);
figures["Boot Linux click → Linux prompt s"] = +median(linux).toFixed(2);
figures["Linux boot to prompt in Node (board API, same run) s"] = +median(nodeLinux).toFixed(2);
figures[":save pause, full (Lisp) ms"] = +median(saveFull).toFixed(1);
figures[":save pause, incremental (Lisp) ms"] = +median(saveIncremental).toFixed(1);
figures["open 128 MiB world from URL → answer, lazy s"] = +median(lazy).toFixed(2);
figures["open 128 MiB world from URL → answer, whole s"] = +median(full).toFixed(2);
figures["lazy fetch"] = lazyFetch;
figures["whole fetch"] = fullFetch;

// MIPS of the CPU guest: the browser's worker vs the CLI, alternating, same run.
const guest = "tools/guests/out/rv32imac/bench.elf";
const cli = join(root, "apps/amber/dist/amber.js");
spawnSync(process.execPath, [join(root, "apps/amber/build.mjs")], { stdio: "inherit" });
const browserMips = [];
const cliMips = [];
const mounts = await serve({ root: dist, mounts: { "/g": join(root, "tools/guests/out/rv32imac") } });
for (let r = 0; r < runs; r++) {
  await page.goto(`${mounts.url}?elf=/g/bench.elf`);
  await said(/the guest powered off/, 600_000);
  await page.waitForFunction(() => /exited/.test(document.getElementById("status").textContent), null, {
    timeout: 10_000,
  });
  browserMips.push(Number((await page.textContent("#status")).match(/([\d.]+) MIPS/)[1]));
  const c = spawnSync(process.execPath, [cli, "run", guest, "--stats"], { encoding: "utf8", cwd: root });
  cliMips.push(JSON.parse(c.stderr.trim().split("\n").pop()).mips);
}
figures["bench.elf MIPS, browser worker"] = +median(browserMips).toFixed(1);
figures["bench.elf MIPS, CLI (Node)"] = +median(cliMips).toFixed(1);
figures["browser / CLI"] = +(median(browserMips) / median(cliMips)).toFixed(2);

await context.close();
for (const s of [ranged, whole, mounts]) s.server.close();
rmSync(profile, { recursive: true, force: true });
rmSync(tmp, { recursive: true, force: true });

if (json) console.log(JSON.stringify(figures, null, 2));
else {
  console.log(`Amber in the browser (Chromium ${context.browser()?.version() ?? ""}), medians of ${runs}`);
  console.log("| figure | value |\n| --- | ---: |");
  for (const [k, v] of Object.entries(figures)) console.log(`| ${k} | ${v} |`);
}
