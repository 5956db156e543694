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
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openImage } from "@amber/image";
import { nodeImageHost } from "@amber/image/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUESTS_DIR } from "./guests.js";
import { runCli, runCliAsync } from "./run-cli.js";

const GUEST = `${GUESTS_DIR}rv32imac/disk.elf`;
let dir: string;
const p = (name: string) => join(dir, name);

beforeAll(async () => {
  await initCheckpoint();
  dir = mkdtempSync(join(tmpdir(), "amber-disk-save-"));
  copyFileSync(`${GUESTS_DIR}disk.img`, p("disk.img"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The whole content of a disk diff layer over its base (the base as the diff names it). */
function diskContent(diff: string): string {
  const image = openImage(nodeImageHost, diff);
  try {
    return Buffer.from(image.read(0, image.size)).toString("base64");
  } finally {
    image.close();
  }
}

/** Instructions and exit from `--stats`. */
const stats = (stderr: string) => JSON.parse(stderr.trim().split("\n").at(-1)!) as Record<string, unknown>;

describe("amber run --disk --save-at / resume", () => {
  const straight = () => {
    const r = runCli([
      "run",
      "--stats",
      "--disk",
      p("disk.img"),
      "--save-disk-diff",
      p("straight.amberdisk"),
      GUEST,
    ]);
    expect(r.status).toBe(0);
    return {
      stdout: r.stdout,
      instructions: stats(r.stderr).instructions,
      disk: diskContent(p("straight.amberdisk")),
    };
  };

  // The guest writes sector 5 in its step 45,340 of 74,255.
  for (const at of [20_000, 60_000]) {
    for (const mode of ["halted", "running on"] as const) {
      it(`saved at ${at} (${mode}), resumed: same output, instructions and disk`, async () => {
        const s = straight();
        const image = p(`at-${at}-${mode.replace(" ", "-")}.ambc`);
        const first = await runCliAsync([
          "run",
          "--stats",
          "--disk",
          p("disk.img"),
          "--save-disk-diff",
          p("first.amberdisk"),
          GUEST,
          "--save-at",
          String(at),
          "--save-to",
          image,
          ...(mode === "halted" ? ["--halt-after-save"] : []),
        ]);
        expect(first.status).toBe(0);
        if (mode === "running on") {
          expect(first.stdout).toBe(s.stdout);
          expect(diskContent(p("first.amberdisk"))).toBe(s.disk);
        }
        const resumed = runCli(["resume", "--stats", image, "--save-disk-diff", p("resumed.amberdisk")]);
        expect(resumed.status).toBe(0);
        expect(stats(resumed.stderr).instructions).toBe(s.instructions);
        if (mode === "halted") expect(first.stdout + resumed.stdout).toBe(s.stdout);
        else expect(s.stdout.endsWith(resumed.stdout)).toBe(true);
        expect(diskContent(p("resumed.amberdisk"))).toBe(s.disk);
      });
    }
  }

  it("inspect shows the disk; an incremental save on the resumed image resumes too", () => {
    const s = straight();
    const a = p("inc-a.ambc");
    const b = p("inc-b.ambc");
    expect(
      runCli([
        "run",
        "--disk",
        p("disk.img"),
        GUEST,
        "--save-at",
        "50000",
        "--save-to",
        a,
        "--halt-after-save",
      ]).status,
    ).toBe(0);
    const text = runCli(["inspect", a]).out;
    expect(text).toMatch(/virtio0 v1/);
    expect(text).toMatch(/disk0 at 0x0, 65536 bytes, 16 pages of 4096, 1 stored/);
    expect(text).toMatch(
      /virtio0: %1%\/disk\.img \(raw\), 65536 bytes, 1 written pages in disk0, base amber-fp1:/,
    );
    const json = JSON.parse(runCli(["inspect", "--json", a]).out);
    expect(json.disks).toEqual([
      expect.objectContaining({ slot: 0, source: "%1%/disk.img", writtenPages: 1 }),
    ]);
    expect(json.searchPath).toEqual(["."]);
    expect(text).toMatch(/^search path: %1% = \.$/m);
    expect(runCli(["resume", a, "--save-at", "60000", "--save-to", b, "--halt-after-save"]).status).toBe(0);
    expect(JSON.parse(runCli(["inspect", "--json", b]).out).segments).toContainEqual(
      expect.objectContaining({ name: "disk0", storedPages: 0 }),
    );
    const r = runCli(["resume", "--stats", b, "--save-disk-diff", p("inc.amberdisk")]);
    expect(r.status).toBe(0);
    expect(stats(r.stderr).instructions).toBe(s.instructions);
    expect(diskContent(p("inc.amberdisk"))).toBe(s.disk);
    expect(runCli(["verify", b]).status).toBe(0);
  });

  it("a moved disk is found with --disk; a changed one is refused naming the file", () => {
    const image = p("moved.ambc");
    mkdirSync(p("elsewhere"), { recursive: true });
    copyFileSync(p("disk.img"), p("d2.img"));
    expect(
      runCli([
        "run",
        "--disk",
        p("d2.img"),
        GUEST,
        "--save-at",
        "50000",
        "--save-to",
        image,
        "--halt-after-save",
      ]).status,
    ).toBe(0);
    renameSync(p("d2.img"), p("elsewhere/d2.img"));
    const missing = runCli(["resume", image]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toBe(
      `amber: ${image}: disk 0 (%1%/d2.img) not found: looked for ${p("d2.img")}; if it moved, amber relocate ${image} --path OLD=NEW (or give it with --disk FILE)\n`,
    );
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(runCli(["resume", image, "--disk", p("elsewhere/d2.img")]).status).toBe(0);
    const bytes = readFileSync(p("elsewhere/d2.img"));
    bytes[100] ^= 0xff;
    writeFileSync(p("elsewhere/d2.img"), bytes);
    const changed = runCli(["resume", image, "--disk", p("elsewhere/d2.img")]);
    expect(changed.status).toBe(125);
    expect(changed.stderr).toMatch(
      /moved\.ambc: disk 0 \(.*d2\.img\): .*d2\.img has other content than the saved disk's base/,
    );
    expect(changed.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a qcow2 disk (compressed clusters) saves and resumes, and verify passes", async () => {
    const s = straight();
    expect(runCli(["image", "convert", "-O", "qcow2", "-c", p("disk.img"), p("disk.qcow2")]).status).toBe(0);
    const image = p("q.ambc");
    const first = await runCliAsync([
      "run",
      "--disk",
      p("disk.qcow2"),
      GUEST,
      "--save-at",
      "50000",
      "--save-to",
      image,
    ]);
    expect(first.stdout).toBe(s.stdout);
    expect(JSON.parse(runCli(["inspect", "--json", image]).out).disks).toEqual([
      expect.objectContaining({ source: "%1%/disk.qcow2", format: "qcow2", writtenPages: 1 }),
    ]);
    const r = runCli(["resume", "--stats", image, "--save-disk-diff", p("q.amberdisk")]);
    expect(r.status).toBe(0);
    expect(stats(r.stderr).instructions).toBe(s.instructions);
    expect(diskContent(p("q.amberdisk"))).toBe(s.disk);
  });

  it("a rw disk cannot be saved", () => {
    copyFileSync(p("disk.img"), p("rw.img"));
    const r = runCli([
      "run",
      "--disk",
      `${p("rw.img")},rw`,
      GUEST,
      "--save-at",
      "100",
      "--save-to",
      p("rw.ambc"),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/rw\.img is opened rw/);
  });
});
