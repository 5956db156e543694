import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUESTS_DIR } from "./guests.js";
import { runCli, runCliAsync } from "./run-cli.js";

const GUEST = `${GUESTS_DIR}rv32imac/disk.elf`;
let dir: string;
const p = (...names: string[]) => join(dir, ...names);
const digestOf = (world: string) => JSON.parse(runCli(["inspect", "--json", world]).out).digest as string;
const searchPathOf = (world: string) =>
  JSON.parse(runCli(["inspect", "--json", world]).out).searchPath as string[];

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-relocate-"));
  for (const d of ["A/worlds", "A/disks", "B", "C/disks"]) mkdirSync(p(d), { recursive: true });
  copyFileSync(`${GUESTS_DIR}disk.img`, p("A/disks/disk.img"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("amber relocate: disks that moved, fixed by one command", () => {
  it("save, move the disks, resume fails in one line with the hint, relocate, resume reaches the same digest", async () => {
    const world = p("A/worlds/w.ambc");
    const child = p("A/worlds/child.ambc");
    const save = await runCliAsync([
      "run",
      "--disk",
      p("A/disks/disk.img"),
      GUEST,
      "--save-at",
      "20000",
      "--save-to",
      world,
    ]);
    expect(save.status).toBe(0);
    expect(searchPathOf(world)).toEqual(["../disks"]);
    // An incremental world on it (before the guest writes the disk), and a full save further on: the oracle.
    const c = runCli(["resume", world, "--save-at", "30000", "--save-to", child, "--halt-after-save"]);
    expect(c.status).toBe(0);
    const before = await runCliAsync([
      "resume",
      world,
      "--full",
      "--save-at",
      "60000",
      "--save-to",
      p("A/worlds/x1.ambc"),
    ]);
    expect(before.status).toBe(0);
    const digest = digestOf(world);
    const worldBytes = readFileSync(world);

    renameSync(p("A/disks"), p("B/disks"));
    const missing = runCli(["resume", world]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toBe(
      `amber: ${world}: disk 0 (%1%/disk.img) not found: looked for ${p("A/disks/disk.img")}; if it moved, amber relocate ${world} --path OLD=NEW (or give it with --disk FILE)\n`,
    );
    const list = runCli(["relocate", world, "--list"]);
    expect(list.status).toBe(125);
    expect(list.out).toContain(`  %1% = ../disks (${p("A/disks")}): no such directory\n`);
    expect(list.out).toMatch(/disk 0: %1%\/disk\.img → .*A\/disks\/disk\.img: MISSING/);

    // A --path that names no directory of the list: exit 2, nothing written.
    const wrong = runCli(["relocate", world, "--path", `${p("nowhere")}=${p("B/disks")}`]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/is not in .*w\.ambc's search path \(%1% = \.\.\/disks\)\n$/);
    // Another disk at the new place (same size, other bytes) is refused, and the world is untouched.
    const other = readFileSync(p("B/disks/disk.img"));
    other[100] ^= 0xff;
    writeFileSync(p("C/disks/disk.img"), other);
    const refused = runCli(["relocate", world, "--path", `${p("A/disks")}=${p("C/disks")}`]);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(
      /w\.ambc: disk 0 \(%1%\/disk\.img\) would be .*C\/disks\/disk\.img, which is another disk than the one saved \(fingerprint amber-fp1:\S+, the saved disk's amber-fp1:\S+\); nothing changed\n$/,
    );
    expect(readFileSync(world).equals(worldBytes)).toBe(true);

    // The move itself: OLD as the directory that held the disks (a prefix works too); NEW
    // relative to the working directory, stored relative to the world.
    const moved = runCli(["relocate", world, "--path", `${p("A")}=${relative(process.cwd(), p("B"))}`]);
    expect(moved.status).toBe(0);
    expect(moved.stderr).toBe(
      `amber: ${world}: search path %1% = ../../B/disks (1 disk found, the same content)\n`,
    );
    expect(digestOf(world)).toBe(digest);
    expect(runCli(["verify", world]).status).toBe(0);
    const listed = JSON.parse(runCli(["relocate", world, "--list", "--json"]).out);
    expect(listed.disks).toEqual([
      expect.objectContaining({ slot: 0, state: "ok", file: p("B/disks/disk.img") }),
    ]);
    expect(listed.searchPath).toEqual([
      expect.objectContaining({ index: 1, dir: "../../B/disks", exists: true }),
    ]);

    // Resumed from its new place, the world reaches the same full save (the disk named as before, relative to it).
    mkdirSync(p("B/worlds"));
    const after = await runCliAsync([
      "resume",
      world,
      "--full",
      "--save-at",
      "60000",
      "--save-to",
      p("B/worlds/x1.ambc"),
    ]);
    expect(after.status).toBe(0);
    expect(after.stdout).toBe(before.stdout);
    expect(digestOf(p("B/worlds/x1.ambc"))).toBe(digestOf(p("A/worlds/x1.ambc")));

    // The child holds its own references: relocating the parent does not move them.
    expect(runCli(["resume", child]).status).toBe(125);
    const chained = runCli(["relocate", child, "--chain", "--path", `%1%=${p("B/disks")}`]);
    expect(chained.status).toBe(0);
    expect(searchPathOf(child)).toEqual([p("B/disks")]);
    expect(searchPathOf(world)).toEqual([p("B/disks")]);
    const resumed = runCli(["resume", child]);
    expect(resumed.status).toBe(0);
  });

  it("usage: --path without =, neither --path nor --list", () => {
    const bad = runCli(["relocate", p("A/worlds/w.ambc"), "--path", "nothing"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("amber: --path nothing: give OLD=NEW (a directory and where it is now)\n");
    const none = runCli(["relocate", p("A/worlds/w.ambc")]);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe("amber: give --path OLD=NEW (repeatable), or --list to see the search path\n");
  });
});
