import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUESTS_DIR } from "./guests.js";
import { replScript } from "./repl-script.js";
import { runCli } from "./run-cli.js";

// disk-console: a guest that reads and writes sectors of virtio disk 0 on console commands
// (tools/guests/src/disk-console.c; its QEMU transcript is disk-console.host-stdout).
const GUEST = `${GUESTS_DIR}rv32imac/disk-console.elf`;
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-disks-"));
  copyFileSync(`${GUESTS_DIR}disk.img`, join(tmp, "disk.img"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TRACE = /insn=(\d+) disk=0 offset=(\d+) length=(\d+) layer=(\S+)$/gm;
const traced = (text: string) =>
  [...text.matchAll(TRACE)].map((m) => ({ offset: +m[2]!, length: +m[3]!, layer: m[4] }));

describe("disk-console, the guest of these tests", () => {
  it("answers its commands on Amber as on QEMU (the oracle's transcript)", () => {
    copyFileSync(`${GUESTS_DIR}disk.img`, join(tmp, "oracle.img"));
    const script = readFileSync(join(GUESTS_DIR, "../src/disk-console.stdin"), "utf8");
    const r = runCli(["run", "--disk", join(tmp, "oracle.img"), GUEST], script);
    expect(r.stdout).toBe(readFileSync(`${GUESTS_DIR}rv32imac/disk-console.host-stdout`, "utf8"));
    expect(r.status).toBe(0);
  });
});

describe("the monitor watches the disks through their snoop hooks: :disks, :disk-trace", () => {
  it("counts writes per disk and layer live, traces them here or to a file, and follows a saved world", async () => {
    const disk = join(tmp, "disk.img");
    const dir = join(tmp, "m");
    const file = join(tmp, "trace.txt");
    const first = await replScript(
      [GUEST, "--disk", disk, "--dir", dir],
      [
        ":disks",
        ":disk-trace on",
        "w 5 hello",
        ":disks",
        `:disk-trace ${file}`,
        "w 7 second write",
        "r 7",
        ":disk-trace",
        ":disk-trace off",
        ":save w1",
        "q",
        "",
      ].join("\n"),
    );
    expect(first.stderr).toMatch(/booting disk-console\.elf/);
    expect(first.status).toBe(0);
    const out = first.stdout;
    // Before any write: the file is layer 0, the shadow (writes kept aside) took nothing.
    const before = out.slice(0, out.indexOf("wrote sector 5"));
    expect(before).toContain(`disk 0 (virtio0): ${disk} (raw), 64 KiB, 0 pages written\n`);
    expect(before).toMatch(/ {2}layer 0 {2}raw \S+disk\.img +0 writes +0 bytes\n/);
    expect(before).toMatch(/ {2}shadow {3}kept aside in memory \(the file unchanged\) +0 writes +0 bytes\n/);
    // The trace on the monitor: one line, sector 5 into the shadow.
    expect(traced(out)).toEqual([{ offset: 5 * 512, length: 512, layer: "shadow" }]);
    const after = out.slice(out.indexOf("wrote sector 5"));
    expect(after).toContain(`disk 0 (virtio0): ${disk} (raw), 64 KiB, 1 page written\n`);
    expect(after).toMatch(/ {2}shadow .* +1 write +512 bytes\n/);
    // To a file: the second write, not the first; the file on disk never changed.
    expect(traced(readFileSync(file, "utf8"))).toEqual([{ offset: 7 * 512, length: 512, layer: "shadow" }]);
    expect(out).toContain("sector 7: second write\n");
    expect(first.stderr).toContain(`amber: disk trace on, to ${file}: 1 write so far\n`);
    expect(first.stderr).toContain(`amber: disk trace off: 1 write traced to ${file}\n`);
    expect(
      readFileSync(disk)
        .subarray(7 * 512, 7 * 512 + 16)
        .toString(),
    ).toBe("Amber disk secto");

    // The saved world brings its disk back (found through its search path): its two
    // written pages, and the trace follows the restored disk.
    const again = await replScript(
      [dir],
      [":disks", ":disk-trace on", "r 5", "w 9 third", "q", ""].join("\n"),
    );
    expect(again.stderr).toMatch(/resuming w1/);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`(virtio0): ${disk} (raw)`);
    // Sectors 5 and 7 are in the disk's first 4 KiB page.
    expect(again.stdout).toMatch(/, 64 KiB, 1 page written\n/);
    // The trace line comes after the guest's output before the write.
    expect(again.stdout).toMatch(
      /sector 5: hello\ndisk> insn=\d+ disk=0 offset=4608 length=512 layer=shadow\nwrote sector 9\n/,
    );
    expect(traced(again.stdout)).toEqual([{ offset: 9 * 512, length: 512, layer: "shadow" }]);

    // The disk moves: the REPL says which disk and how to fix it; relocating the machine
    // directory (every world in it) fixes it.
    mkdirSync(join(tmp, "moved"));
    renameSync(disk, join(tmp, "moved", "disk.img"));
    const lost = await replScript([dir], ":quit!\n");
    expect(lost.status).toBe(125);
    expect(lost.stderr).toMatch(
      /w1\.amber: disk 0 \(%1%\/disk\.img\) not found: looked for .*disk\.img; if it moved, amber relocate /,
    );
    const fixed = runCli(["relocate", dir, "--path", `${tmp}=${join(tmp, "moved")}`]);
    expect(fixed.status).toBe(0);
    expect(runCli(["relocate", dir, "--list"]).out).toMatch(
      /disk 0: %1%\/disk\.img → .*moved\/disk\.img: found/,
    );
    const back = await replScript([dir], "r 5\nq\n");
    expect(back.stdout).toContain("sector 5: hello\n");
    expect(back.status).toBe(0);
  });

  it(":disk-trace with no disk, and a bad argument count, are one line each", async () => {
    const r = await replScript(
      ["--dir", join(tmp, "lisp")],
      ":disk-trace on\n:disk-trace a b\n:disks\n:quit!\n",
    );
    expect(r.stderr).toContain(
      "amber: this machine has no disks to trace (amber repl PROGRAM --disk FILE attaches one)\n",
    );
    expect(r.stderr).toContain("amber: usage: :disk-trace [on|off|FILE]\n");
    expect(r.stdout).toContain("no disks (amber repl PROGRAM --disk FILE attaches one)\n");
    expect(r.status).toBe(0);
  });
});
