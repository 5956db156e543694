import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CheckpointReader, MemoryBlockFile, squash } from "@amber/checkpoint";
import { flatten } from "@amber/image";
import { writeFileAtomic } from "@amber/image/node";
import { SECTION_SPECS } from "@amber/machine";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { MachineDirectory } from "../repl/machine-directory.js";
import { UserError } from "../user-error.js";
import { VERSION } from "../version.js";
import { type BundleDisk, packBundle } from "./bundle-container.js";
import { openSavedDisks } from "./checkpoint.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { imageUserError } from "./image-disks.js";

export interface BundleOptions {
  output?: string;
  exe?: boolean;
  /** `--disk FILE`: the bases of the world's disks, in slot order, instead of the recorded paths. */
  disk?: string[];
  json?: boolean;
}

/** The fuse Node's single executable applications look for (Node's documentation). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const PAYLOAD_PLACEHOLDER = '"__AMBER_BUNDLE_PAYLOAD__"';
const SHA_PLACEHOLDER = '"__AMBER_BUNDLE_SHA256__"';

/** Where build-bundle-runtime.mjs put the runtime and the loaders: beside the bundled CLI, or in dist/ from sources. */
function runtimeDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, "bundle-runtime"), path.resolve(here, "../../dist/bundle-runtime")];
  const found = candidates.find((c) => fs.existsSync(path.join(c, "runtime.js")));
  if (found === undefined) {
    throw new UserError(
      `bundle: the bundle runtime is missing (looked in ${candidates.join(" and ")}): build the CLI first (pnpm build)`,
      ExitCode.Failure,
    );
  }
  return found;
}

/** A machine directory's current world, or the image named. */
function worldPath(world: string): string {
  if (fs.existsSync(world) && fs.statSync(world).isDirectory() && MachineDirectory.isMachine(world)) {
    const dir = MachineDirectory.open(world);
    const current = dir.current;
    if (current === undefined) {
      throw new UserError(
        `${world}: the machine has no saved world yet (save one with :save in amber repl)`,
        ExitCode.Failure,
      );
    }
    return dir.worldPath(current);
  }
  return world;
}

/** The world as one full image: its own bytes when it is one file without a parent, else squashed. */
function worldBytes(reader: CheckpointReader, file: string): Uint8Array {
  if (!reader.isIncremental && fs.statSync(file).isFile()) return new Uint8Array(fs.readFileSync(file));
  const out = new MemoryBlockFile(new Uint8Array(0), `${file} (squashed)`);
  squash(reader, out);
  return out.read(0, out.size()).slice();
}

/** The payload: runtime, world, disk bases (each flattened into a standalone Amber image). */
function buildPayload(
  world: string,
  file: string,
  given: readonly string[],
  runtime: Uint8Array,
): { payload: Uint8Array; digest: string; instructions: string; sizes: Record<string, number> } {
  const reader = openImage(file);
  try {
    const bytes = worldBytes(reader, file);
    const { saved, images } = openSavedDisks(reader, file, given);
    const disks: BundleDisk[] = [];
    const diskParts: { name: string; bytes: Uint8Array }[] = [];
    try {
      for (const [i, image] of images.entries()) {
        const out = new MemoryBlockFile(new Uint8Array(0), `disk${saved[i]!.slot}`);
        flatten(image, out, { format: "amber" });
        const part = `disk${saved[i]!.slot}`;
        disks.push({ slot: saved[i]!.slot, part, source: path.basename(saved[i]!.source) || part });
        diskParts.push({ name: part, bytes: out.read(0, out.size()).slice() });
      }
    } catch (e) {
      imageUserError(e);
    } finally {
      for (const i of images) i.close();
    }
    const own = squashedDigest(reader, bytes, file);
    const payload = packBundle(
      {
        creator: `amber ${VERSION}`,
        name: path.basename(world),
        digest: own,
        instructions: reader.header.instructionCount.toString(),
        args: "console",
        disks,
      },
      [{ name: "runtime.js", bytes: runtime }, { name: "world", bytes }, ...diskParts],
    );
    return {
      payload,
      digest: own,
      instructions: reader.header.instructionCount.toString(),
      sizes: {
        runtime: runtime.length,
        world: bytes.length,
        disks: diskParts.reduce((n, p) => n + p.bytes.length, 0),
      },
    };
  } catch (e) {
    return checkpointFailure(e, file);
  } finally {
    reader.close();
  }
}

/** The digest of the image bytes bundled (the world's own, unless its chain was squashed). */
function squashedDigest(reader: CheckpointReader, bytes: Uint8Array, file: string): string {
  if (!reader.isIncremental && fs.statSync(file).isFile()) return reader.digest;
  const squashed = CheckpointReader.open(new MemoryBlockFile(bytes, `${file} (squashed)`, false), {
    sections: SECTION_SPECS,
  });
  try {
    return squashed.digest;
  } finally {
    squashed.close();
  }
}

/** The loader text with the payload (base64) and its SHA-256 filled in. */
function fillLoader(loader: string, payload: Uint8Array): string {
  const sha = createHash("sha256").update(payload).digest("hex");
  if (!loader.includes(PAYLOAD_PLACEHOLDER) || !loader.includes(SHA_PLACEHOLDER)) {
    throw new UserError(
      "bundle: the bundle loader beside the CLI has no payload placeholder: rebuild the CLI",
      ExitCode.Failure,
    );
  }
  const base64 = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64");
  return loader.replace(SHA_PLACEHOLDER, () => `"${sha}"`).replace(PAYLOAD_PLACEHOLDER, () => `"${base64}"`);
}

/** Writes `bytes` to `target` atomically, executable. */
function writeExecutable(target: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(target, (f) => f.write(0, bytes));
    fs.chmodSync(target, 0o755);
  } catch (e) {
    imageUserError(e);
  }
}

/**
 * A native executable: Node's single executable application of `script` (Node's own
 * binary, this one, with the script injected by postject).
 */
async function writeSea(target: string, script: string, runtime: string): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "amber-sea-"));
  try {
    const main = path.join(work, "main.cjs");
    const blob = path.join(work, "sea.blob");
    const config = path.join(work, "sea-config.json");
    fs.writeFileSync(main, script);
    fs.writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true }));
    const r = spawnSync(process.execPath, ["--experimental-sea-config", config], { encoding: "utf8" });
    if (r.status !== 0) {
      throw new UserError(
        `bundle --exe: node --experimental-sea-config failed: ${(r.stderr || r.error?.message || "").trim().split("\n")[0]}`,
        ExitCode.Failure,
      );
    }
    const exe = path.join(work, "app");
    fs.copyFileSync(process.execPath, exe);
    fs.chmodSync(exe, 0o755);
    // postject is built beside the runtime (build-bundle-runtime.mjs), loaded only here.
    const { inject } = createRequire(import.meta.url)(
      path.join(runtime, "postject.cjs"),
    ) as typeof import("postject");
    // postject's ELF library warns on stderr about Node's note sections (harmless, as
    // Node's documentation says): keep them off the user's terminal.
    const warn = console.warn;
    console.warn = () => {};
    try {
      await inject(exe, "NODE_SEA_BLOB", fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
    } finally {
      console.warn = warn;
    }
    writeExecutable(target, fs.readFileSync(exe));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `amber bundle WORLD -o app.mjs [--exe]`: one file holding the runtime, the world (its
 * parent chain squashed) and its disks' bases, which resumes the world with `node app.mjs`
 * (or as a native executable with `--exe`), no Amber installed.
 */
export async function bundleCommand(
  env: CliEnv,
  world: string,
  options: BundleOptions,
  writeOut: (t: string) => void,
): Promise<number> {
  const exe = options.exe === true;
  const output = options.output ?? (exe ? "app" : "app.mjs");
  const dir = runtimeDir();
  const file = worldPath(world);
  const runtime = new Uint8Array(fs.readFileSync(path.join(dir, "runtime.js")));
  const built = buildPayload(world, file, options.disk ?? [], runtime);
  const loader = fs.readFileSync(path.join(dir, exe ? "loader.cjs" : "loader.mjs"), "utf8");
  const body = fillLoader(loader, built.payload);
  const head = `// Amber bundle of ${path.basename(world)} (${built.instructions} instructions, world ${built.digest}), made by amber ${VERSION}.\n// Run: node ${path.basename(output)} [ARGS]   Import: const { start } = await import("./${path.basename(output)}")\n`;
  if (exe) await writeSea(output, head + body, dir);
  else writeExecutable(output, new TextEncoder().encode(`#!/usr/bin/env node\n${head}${body}`));
  const bytes = fs.statSync(output).size;
  const report = {
    output,
    bytes,
    payload: built.payload.length,
    ...built.sizes,
    digest: built.digest,
    instructions: built.instructions,
    exe,
  };
  if (options.json) writeOut(`${JSON.stringify(report)}\n`);
  else {
    const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
    env.stderr(
      `amber: bundled ${world} (instruction ${built.instructions}) → ${output}: ${mib(bytes)} (world ${mib(built.sizes.world!)}, disks ${mib(built.sizes.disks!)}, runtime ${mib(built.sizes.runtime!)})\n`,
    );
  }
  return ExitCode.Ok;
}

export function registerBundleCommand(
  program: Command,
  env: CliEnv,
  writeOut: (t: string) => void,
  setStatus: (s: number | Promise<number>) => void,
): void {
  program
    .command("bundle")
    .description(
      "Make a saved world an executable: one .mjs file (node app.mjs) or, with --exe, a native program.",
    )
    .argument(
      "<world>",
      "a saved world (image file, parents squashed in) or a machine directory (its current world)",
    )
    .option("-o, --output <file>", "where to write the bundle (default app.mjs, or app with --exe)")
    .option(
      "--exe",
      "a native executable (Node's single executable applications): runs without Node installed",
    )
    .option(
      "--disk <file[,format=raw|qcow2|amber|vhdx|dmg]>",
      "the base of the world's next disk (repeatable, in slot order) instead of the path recorded in it",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--json", "print what was written (sizes, digest) as JSON on stdout")
    .addHelpText(
      "after",
      `
The bundle holds the world (its parent chain squashed into one image), the bases of its
disks and the code that runs it. Run it as \`node app.mjs ARGS\` (or \`./app ARGS\` for
--exe): the console is on the terminal (raw mode on a terminal, Ctrl-A x quits), ARGS are
typed into the console as one line, and the exit status is the guest's. In a browser:
\`const { start } = await import("./app.mjs"); const world = await start({ stdout });\`
then \`world.type(text)\` and \`await world.exited\`.
A bundle checks itself at start: the SHA-256 of its payload, then the world's digest and
every hash in it. A damaged bundle says so in one line and exits with status 125; the
guest never runs.
Exit status of amber bundle: 0, 125 when the world or a disk cannot be read, 2 for a bad
command line.`,
    )
    .action((world: string, o: BundleOptions) =>
      setStatus(
        bundleCommand(env, world, o, writeOut).catch((e: unknown) => {
          if (e instanceof UserError) {
            env.stderr(`amber: ${e.message}\n`);
            return e.exitCode;
          }
          throw e;
        }),
      ),
    );
}
