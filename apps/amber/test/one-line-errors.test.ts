import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oneLine } from "../src/error-line.js";
import { guests } from "./guests.js";
import { replScript } from "./repl-script.js";
import { runCli } from "./run-cli.js";

const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-one-line-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One line on stderr, no stack trace, no raw control byte. */
function expectOneLine(stderr: string): void {
  expect(stderr.endsWith("\n")).toBe(true);
  expect(
    stderr
      .trimEnd()
      .split("\n")
      .filter((l) => l.startsWith("amber: ")),
  ).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control bytes
  expect(stderr.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f\u007f]/);
}

describe("one line for every user error", () => {
  it("a directory where an image is expected", () => {
    const dir = join(tmp, "not-an-image");
    mkdirSync(dir);
    const info = runCli(["image", "info", dir]);
    expect(info.status).toBe(125);
    expect(info.stderr).toBe(`amber: ${dir}: is a directory, expected an image file\n`);
    const disk = runCli(["run", "--disk", dir, hello.elf]);
    expect(disk.status).toBe(125);
    expect(disk.stderr).toBe(`amber: ${dir}: is a directory, expected an image file\n`);
  });

  it("a directory where a replay log is expected (replay, bisect): one line naming it, exit 125", () => {
    const dir = join(tmp, "not-a-log");
    mkdirSync(dir);
    const line = `amber: ${dir}: is a directory, expected a replay log (amber run --record FILE)\n`;
    const replay = runCli(["replay", dir]);
    expect(replay.status).toBe(125);
    expect(replay.stderr).toBe(line);
    const bisect = runCli(["bisect", dir, dir]);
    expect(bisect.status).toBe(125);
    expect(bisect.stderr).toBe(line);
    const program = runCli(["run", dir]);
    expect(program.status).toBe(125);
    expect(program.stderr).toBe(`amber: ${dir}: is a directory, expected a file\n`);
  });

  it("a world passed where a disk image is expected is named as a world", () => {
    const world = join(tmp, "w.amber");
    expect(
      runCli(["run", hello.elf, "--save-at", "1000", "--save-to", world, "--halt-after-save"]).status,
    ).toBe(0);
    const r = runCli(["image", "info", world]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/w\.amber: an Amber world \(machine checkpoint\), not a disk image/);
    expectOneLine(r.stderr);
    const diff = runCli([
      "run",
      hello.elf,
      "--disk",
      join(tmp, "d.img"),
      "--save-disk-diff",
      join(tmp, "x.amber"),
    ]);
    expect(diff.status).toBe(2);
    expect(diff.stderr).toMatch(/\.amber is the extension of worlds .*\.amberdisk/);
  });

  it("a disk image passed where a world is expected is named as one", () => {
    const disk = join(tmp, "disk.qcow2");
    expect(runCli(["image", "create", "-f", "qcow2", disk, "1M"]).status).toBe(0);
    const r = runCli(["resume", disk]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(
      /disk\.qcow2: not an Amber checkpoint .*; it is a qcow2 disk image, not a world: amber image info reads it\n$/,
    );
    expectOneLine(r.stderr);
    const vhdx = join(tmp, "disk.vhdx");
    expect(runCli(["image", "create", "-f", "vhdx", vhdx, "1M"]).status).toBe(0);
    const v = runCli(["resume", vhdx]);
    expect(v.status).toBe(125);
    expect(v.stderr).toMatch(/disk\.vhdx: not an Amber checkpoint .*; it is a VHDX disk image, not a world/);
    expectOneLine(v.stderr);
  });

  it("convert refuses to write over its input (same inode), as qemu-img does", () => {
    const a = join(tmp, "a.raw");
    writeFileSync(a, new Uint8Array(65536).fill(0x5a));
    const before = readFileSync(a);
    const r = runCli(["image", "convert", "-O", "qcow2", a, a]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`amber: ${a}: is the input (same file); write to another file\n`);
    expect(readFileSync(a).equals(before)).toBe(true);
    // A hard link is the same file under another name.
    const link = join(tmp, "a-link.raw");
    spawnSync("ln", [a, link]);
    expect(runCli(["image", "convert", "-O", "qcow2", a, link]).status).toBe(2);
    expect(readFileSync(a).equals(before)).toBe(true);
  });

  it("inspect of an incremental image whose parent is missing still shows its own header", () => {
    const base = join(tmp, "base.amber");
    const child = join(tmp, "child.amber");
    expect(
      runCli(["run", hello.elf, "--save-at", "1000", "--save-to", base, "--halt-after-save"]).status,
    ).toBe(0);
    expect(
      runCli([
        "run",
        hello.elf,
        "--save-at",
        "5000",
        "--save-to",
        child,
        "--parent",
        base,
        "--halt-after-save",
      ]).status,
    ).toBe(0);
    renameSync(base, join(tmp, "moved.amber"));
    const r = runCli(["inspect", child]);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/instructions: 5000\n/);
    expect(r.out).toMatch(/parent: [0-9a-f]{64} \(base\.amber\) — cannot be opened/);
    expect(r.stderr).toMatch(
      /^amber: warning: .*parent [0-9a-f]{64} not found.*showing this image's own header\n$/,
    );
    const json = JSON.parse(runCli(["inspect", "--json", child]).out);
    expect(json.parentProblem).toMatch(/not found/);
    // Resuming it is still an error: its pages below are missing.
    expect(runCli(["resume", child]).status).toBe(125);
  });

  it("repl: a page of the world that fails its checksum when first read mid-run is one line, exit 125", async () => {
    const dir = join(tmp, "lisp");
    expect((await replScript(["--dir", dir], "(define (sq x) (* x x))\n:save base\n:quit\n")).status).toBe(0);
    const world = join(dir, "worlds", "base.amber");
    const reader = openCheckpoint(world);
    const ram = reader.segments.find((s) => s.name === "ram")!.entry;
    reader.close();
    // Damage the middle of RAM's page data: found only when the guest touches those pages.
    const bytes = readFileSync(world);
    const at = ram.dataOffset + Math.floor(ram.dataLength / 2);
    bytes[at] = (bytes[at] as number) ^ 0xff;
    const damaged = join(tmp, "damaged.amber");
    writeFileSync(damaged, bytes);
    const r = await replScript([damaged, "--dir", join(tmp, "elsewhere")], "(sq 3)\n:quit!\n");
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/resuming damaged/);
    expect(r.stderr).toMatch(
      /amber: .*damaged\.amber: page \d+ of segment "ram": block \d+ checksum is 0x[0-9a-f]+/,
    );
    expect(r.stderr.split("\n").filter((l) => /checksum/.test(l))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("error messages escape control bytes and JSON excerpts onto one line", () => {
    const src = join(tmp, "for-dir.amber");
    expect(
      runCli(["run", hello.elf, "--save-at", "1000", "--save-to", src, "--halt-after-save"]).status,
    ).toBe(0);
    const dir = join(tmp, "w.d");
    expect(runCli(["convert", src, dir, "--layout", "dir"]).status).toBe(0);
    const manifest = join(dir, "manifest.json");
    const text = readFileSync(manifest, "utf8");
    writeFileSync(manifest, `${text.slice(0, 40)}\u001b[31m\n\r\u0007${text.slice(40)}`);
    const r = runCli(["inspect", dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/manifest\.json: not a checkpoint manifest/);
    expectOneLine(r.stderr);
    expect(oneLine("a\nb\u001b[0m\u2028")).toBe("a\\nb\\x1b[0m\\u2028");
  });

  it("repl DIR on read-only media opens the machine read-only instead of refusing", async (ctx) => {
    const dir = join(tmp, "ro-src");
    expect((await replScript(["--dir", dir], "(define (sq x) (* x x))\n:save base\n:quit\n")).status).toBe(0);
    const ro = join(tmp, "ro");
    mkdirSync(ro);
    let mounted = false;
    if (process.getuid?.() === 0) {
      // Root writes through permissions: a read-only mount is the real thing.
      if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", ro]).status !== 0) {
        if (process.env.CI === "true")
          throw new Error("cannot mount a read-only tmpfs to test read-only media");
        ctx.skip();
        return;
      }
      mounted = true;
      cpSync(dir, join(ro, "m"), { recursive: true });
      expect(spawnSync("mount", ["-o", "remount,ro", ro]).status).toBe(0);
    } else {
      cpSync(dir, join(ro, "m"), { recursive: true });
      spawnSync("chmod", ["-R", "a-w", ro]);
    }
    try {
      const m = join(ro, "m");
      const config = readFileSync(join(m, "machine.json"), "utf8");
      const r = await replScript([m], "(sq 12)\n:save more\n(sq 5)\n:quit!\n");
      expect(r.stderr).toMatch(/machine .*, read-only \(its worlds run; :save cannot write there\)/);
      expect(r.stdout).toMatch(/144/);
      expect(r.stdout).toMatch(/25/);
      expect(r.stderr).toMatch(
        /amber: .*worlds\/more\.amber: cannot write in .*worlds: (read-only file system|permission denied)\n/,
      );
      expect(r.status).toBe(0);
      expect(readFileSync(join(m, "machine.json"), "utf8")).toBe(config);
      expect(existsSync(join(m, "worlds", "more.amber"))).toBe(false);
    } finally {
      if (mounted) spawnSync("umount", [ro]);
      else spawnSync("chmod", ["-R", "u+w", ro]);
    }
  });
});
