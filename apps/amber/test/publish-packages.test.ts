import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guests } from "./guests.js";

// What a user of the registry gets: every package packed as it would be published, installed
// from those tarballs alone (offline, no workspace) into a clean project, and imported by
// plain Node; the CLI tarball installed globally into an empty prefix and run.

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Library packages in dependency order (each is built after what it imports). */
const LIBRARIES = ["compress", "isa", "memory", "image", "checkpoint", "machine", "registry", "monitor"];
const CLI_DIR = join(ROOT, "apps/amber");
const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  type?: string;
  sideEffects?: boolean | string[];
  repository?: { type: string; url: string; directory?: string };
  files?: string[];
  exports?: Record<string, Record<string, string>>;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
}
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const libDir = (name: string) => join(ROOT, "packages", name);

let tmp: string;
let tarballs: string[];
let project: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "amber-publish-"));
  const packs = join(tmp, "packs");
  mkdirSync(packs);
  for (const lib of LIBRARIES)
    run(join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], libDir(lib));
  const { bundle } = await import(join(CLI_DIR, "build.mjs"));
  await bundle();
  run(
    "npx",
    [
      "-y",
      "pnpm@10.34.8",
      "-r",
      "--filter",
      "./packages/*",
      "--filter",
      "./apps/amber",
      "pack",
      "--pack-destination",
      packs,
    ],
    ROOT,
  );
  // Third-party runtime dependencies, packed from the workspace's own copies (offline).
  const thirdParty = new Map<string, string>();
  for (const lib of LIBRARIES) {
    for (const dep of Object.keys(manifest(libDir(lib)).dependencies ?? {})) {
      if (!dep.startsWith("@amber/"))
        thirdParty.set(dep, realpathSync(join(libDir(lib), "node_modules", dep)));
    }
  }
  for (const [dep, dir] of thirdParty) {
    const out = join(packs, `${dep.replace(/^@/, "").replace("/", "-")}.tgz`);
    run("tar", ["-czf", out, "--hard-dereference", "-C", dir, "--transform", "s,^\\.,package,", "."], tmp);
  }
  tarballs = readdirSync(packs).map((f) => join(packs, f));
  project = join(tmp, "project");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "clean", private: true, type: "module" }),
  );
  run(
    "npm",
    [
      "install",
      "--offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      ...tarballs.filter((t) => !/amber-vm-/.test(t)),
    ],
    project,
  );
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("publishable packages", () => {
  it("every package declares the fields publishing needs, with one version for all", () => {
    const all = [...LIBRARIES.map(libDir), CLI_DIR].map((d) => ({ dir: d, m: manifest(d) }));
    const versions = new Set(all.map(({ m }) => m.version));
    expect(versions.size).toBe(1);
    const rootRepo = manifest(ROOT).repository;
    for (const { dir, m } of all) {
      expect(m.private, m.name).toBeUndefined();
      expect(m.license, m.name).toBe("MIT");
      expect(m.type, m.name).toBe("module");
      expect(m.sideEffects, m.name).toBeDefined();
      expect(m.repository, m.name).toEqual({
        ...rootRepo,
        directory: dir.slice(ROOT.length).replace(/\/$/, ""),
      });
      expect(m.files, m.name).toContain("dist");
    }
    for (const { m } of all.filter(({ m }) => m.exports !== undefined)) {
      for (const [sub, e] of Object.entries(m.exports!)) {
        expect(Object.keys(e), `${m.name} ${sub}`).toEqual(["@amber/source", "types", "import", "default"]);
      }
    }
    // The configured changesets keep them on one version.
    const config = JSON.parse(readFileSync(join(ROOT, ".changeset/config.json"), "utf8"));
    expect(config.fixed).toEqual([["@amber/*", "amber-vm"]]);
  });

  it("the libraries install from their tarballs alone and work under plain Node", () => {
    const script = `
      import { initCodecs } from "@amber/compress";
      import { initCheckpoint, CheckpointReader, writeCheckpoint } from "@amber/checkpoint";
      import { openCheckpoint } from "@amber/checkpoint/node";
      import { Image, MemoryBlockFile, writeQcow2, Qcow2Layer, checkLayer } from "@amber/image";
      import { nodeImageHost } from "@amber/image/node";
      import { disassemble } from "@amber/isa";
      import { Machine } from "@amber/machine";
      import { AddressSpace } from "@amber/memory";
      await initCodecs();
      await initCheckpoint();
      const img = new Image([], { size: 65536 });
      img.write(0, new Uint8Array([1, 2, 3]));
      const f = new MemoryBlockFile();
      writeQcow2(img.dirtySource(), f, { compression: "zstd" });
      const layer = new Qcow2Layer(f);
      const check = checkLayer(layer);
      console.log(JSON.stringify({
        check, first: Array.from(layer.read(0, 3)), disas: disassemble(0x00000297, 0x1000),
        machine: typeof Machine, memory: typeof AddressSpace, host: typeof nodeImageHost.open,
        ckpt: typeof openCheckpoint, reader: typeof CheckpointReader.open, write: typeof writeCheckpoint,
      }));
    `;
    writeFileSync(join(project, "use.mjs"), script);
    const out = JSON.parse(run(process.execPath, ["use.mjs"], project));
    expect(out).toEqual({
      check: { corruptions: 0, leaks: 0, messages: [] },
      first: [1, 2, 3],
      disas: expect.stringMatching(/^auipc\s+t0,0x0/),
      machine: "function",
      memory: "function",
      host: "function",
      ckpt: "function",
      reader: "function",
      write: "function",
    });
  });

  it("types exist for every export and source maps point at shipped files", () => {
    for (const lib of LIBRARIES) {
      const name = manifest(libDir(lib)).name;
      const installed = join(project, "node_modules", name);
      const m = manifest(installed);
      for (const e of Object.values(m.exports ?? {})) {
        expect(existsSync(join(installed, e.types!)), `${name} ${e.types}`).toBe(true);
        expect(existsSync(join(installed, e.default!)), `${name} ${e.default}`).toBe(true);
      }
      const maps: string[] = [];
      const walk = (d: string) => {
        for (const f of readdirSync(d, { withFileTypes: true })) {
          if (f.isDirectory()) walk(join(d, f.name));
          else if (f.name.endsWith(".map")) maps.push(join(d, f.name));
        }
      };
      walk(join(installed, "dist"));
      expect(maps.length, name).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(map, "utf8")) as { sources: string[] };
        for (const s of sources) expect(existsSync(join(dirname(map), s)), `${map} → ${s}`).toBe(true);
      }
    }
  });

  it("the CLI tarball declares no dependencies (all bundled) and `amber run` works from a clean global prefix", () => {
    const tarball = tarballs.find((t) => /amber-vm-/.test(t))!;
    const prefix = join(tmp, "global");
    run("npm", ["install", "-g", tarball, "--prefix", prefix, "--offline", "--no-audit", "--no-fund"], tmp);
    const installed = join(prefix, "lib/node_modules/amber-vm");
    const m = manifest(installed);
    expect(m.dependencies ?? {}).toEqual({});
    expect(m.bin).toEqual({ amber: "./dist/amber.js" });
    // The launcher (the bin, a CommonJS script as dist/package.json says), the CLI it
    // compiles with V8's code cache, and what they read.
    expect(readdirSync(join(installed, "dist")).sort()).toEqual([
      "amber-main.cjs",
      "amber.js",
      "bundle-runtime",
      "lisp.elf",
      "package.json",
      "zstd.wasm",
    ]);
    expect(manifest(join(installed, "dist")).type).toBe("commonjs");
    // What `amber bundle` builds a bundle from ships too, so an installed amber can bundle.
    expect(readdirSync(join(installed, "dist/bundle-runtime")).sort()).toEqual([
      "loader.cjs",
      "loader.mjs",
      "postject.cjs",
      "runtime.js",
    ]);
    const amber = join(prefix, "bin/amber");
    const version = spawnSync(amber, ["--version"], { encoding: "utf8" });
    expect(version.stdout.trim()).toBe(m.version);
    const r = spawnSync(amber, ["run", hello.elf], { cwd: tmp });
    expect(r.status).toBe(hello.expectedExit);
    expect(Buffer.from(r.stdout).equals(hello.expectedStdout)).toBe(true);
  });
});
