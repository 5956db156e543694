// Runs the project's guests on Amber and writes their whole RAM at several points of the
// run, as inputs for the compression bench.
//
//   node tools/bench/compress/dump-guest-ram.mjs [outdir] [--ram MiB] [--steps N,N,...]
//
// Writes <outdir>/<guest>-<steps>.ram and prints the paths. Guests come from
// tools/guests/out/rv32imac/*.elf; when none are built yet it says so and writes nothing.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { importSource, root } from "../bundle-sources.mjs";

export const GUEST_DIR = join(root, "tools/guests/out/rv32imac");

export function listGuests() {
  return existsSync(GUEST_DIR)
    ? readdirSync(GUEST_DIR)
        .filter((f) => f.endsWith(".elf"))
        .sort()
        .map((f) => join(GUEST_DIR, f))
    : [];
}

/** Dumps each guest's RAM after each step count; returns [{ guest, steps, path, executed }]. */
export async function dumpGuestRam({
  outDir,
  ramMiB = 128,
  steps = [10_000, 1_000_000, 20_000_000],
  guests = listGuests(),
}) {
  const { Machine, CapturedIo } = await importSource("machine");
  mkdirSync(outDir, { recursive: true });
  const dumps = [];
  for (const elf of guests) {
    const name = basename(elf, ".elf");
    const m = new Machine({ ramSize: ramMiB * 1024 * 1024, io: new CapturedIo() });
    m.loadElf(new Uint8Array(readFileSync(elf)), name);
    let done = 0;
    for (const target of steps) {
      if (m.exited === undefined) m.run(target - done);
      done = target;
      const path = join(outDir, `${name}-${target}.ram`);
      writeFileSync(path, m.ram.readBytes(0, m.ram.size));
      dumps.push({ guest: name, steps: target, path, exited: m.exited !== undefined });
      if (m.exited !== undefined) break; // later points would be the same RAM
    }
  }
  return dumps;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : fallback;
  };
  const ramMiB = Number(opt("--ram", "128"));
  const steps = opt("--steps", "10000,1000000,20000000").split(",").map(Number);
  const outDir = args[0] ?? mkdtempSync(join(tmpdir(), "amber-ram-"));
  const guests = listGuests();
  if (guests.length === 0) {
    console.error(`no guests in ${GUEST_DIR}: build them first (tools/guests)`);
    process.exit(1);
  }
  for (const d of await dumpGuestRam({ outDir, ramMiB, steps, guests })) {
    console.log(`${d.path}${d.exited ? " (guest exited)" : ""}`);
  }
}
