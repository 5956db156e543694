import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDmg } from "../../../packages/image/test/support/dmg-builder.js";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { GUESTS_DIR } from "./guests.js";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "amber-vhdx-dmg-cli-"));
const p = (name: string) => join(dir, name);
const hasQemuImg = hostTool("qemu-img");
const DISK = `${GUESTS_DIR}disk.img`;
const GUEST = `${GUESTS_DIR}rv32imac/disk.elf`;
/** What the disk guest prints on QEMU (committed; never produced by Amber). */
const EXPECTED = () => readFileSync(`${GUESTS_DIR}rv32imac/disk.stdout`, "utf8");

beforeAll(async () => {
  await initCodecs();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function qemuImg(...args: string[]): { status: number; out: string } {
  const r = spawnSync("qemu-img", args, { encoding: "utf8" });
  return { status: r.status ?? -1, out: r.stdout + r.stderr };
}

describe("VHDX from the CLI and on the board", () => {
  it("convert -O vhdx: qemu-img checks and compares it; the disk guest runs on it as on QEMU", () => {
    const vhdx = p("disk.vhdx");
    const c = runCli(["image", "convert", "-O", "vhdx", "-o", "block_size=1M", DISK, vhdx]);
    expect(c.stderr).toBe("");
    expect(c.status).toBe(0);
    if (hasQemuImg) {
      expect(qemuImg("check", "-f", "vhdx", vhdx).out).toMatch(/No errors were found/);
      expect(qemuImg("compare", "-f", "raw", "-F", "vhdx", DISK, vhdx).status).toBe(0);
    }
    const info = runCli(["image", "info", "--json", vhdx]);
    const j = JSON.parse(info.out);
    expect(j.format).toBe("vhdx");
    expect(j["cluster-size"]).toBe(1024 * 1024);
    expect(j["virtual-size"]).toBe(statSync(DISK).size);

    // Read-only by default (writes shadowed), the file unchanged; the diff saved as qcow2 over it.
    const before = readFileSync(vhdx);
    const r = runCli(["run", "--disk", vhdx, "--save-disk-diff", p("over-vhdx.qcow2"), GUEST]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(EXPECTED());
    expect(readFileSync(vhdx).equals(before)).toBe(true);
    if (hasQemuImg) expect(qemuImg("check", p("over-vhdx.qcow2")).status).toBe(0);

    // rw: the guest's writes go into the VHDX itself, which qemu-img still checks clean.
    const rw = runCli(["run", "--disk", `${vhdx},rw`, GUEST]);
    expect(rw.stdout).toBe(EXPECTED());
    expect(rw.status).toBe(0);
    const read = runCli(["image", "read", "--raw", vhdx, String(5 * 512), "25"]);
    expect(Buffer.from(read.stdoutBytes).toString()).toBe("written by the disk guest");
    if (hasQemuImg) {
      expect(qemuImg("check", "-f", "vhdx", vhdx).out).toMatch(/No errors were found/);
      expect(qemuImg("compare", "-F", "qcow2", "-f", "vhdx", vhdx, p("over-vhdx.qcow2")).status).toBe(0);
    }
  });

  it("create -f vhdx (dynamic and fixed) makes files qemu-img accepts; bad options are usage errors", () => {
    for (const sub of ["dynamic", "fixed"]) {
      const f = p(`new-${sub}.vhdx`);
      const r = runCli(["image", "create", "-f", "vhdx", "-o", `subformat=${sub},block_size=2M`, f, "10M"]);
      expect(r.status).toBe(0);
      const info = JSON.parse(runCli(["image", "info", "--json", f]).out);
      expect(info["format-specific"].data.subformat).toBe(sub);
      if (hasQemuImg) {
        expect(qemuImg("check", "-f", "vhdx", f).out).toMatch(/No errors were found/);
        const q = JSON.parse(
          spawnSync("qemu-img", ["info", "--output=json", f], { encoding: "utf8" }).stdout,
        );
        expect(q["virtual-size"]).toBe(10 * 1024 * 1024);
        expect(q["cluster-size"]).toBe(2 * 1024 * 1024);
      }
    }
    const bad = runCli(["image", "create", "-f", "vhdx", "-o", "subformat=sparse", p("x.vhdx"), "1M"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("amber: -o subformat=sparse: dynamic or fixed (vhdx)\n");
    const size = runCli(["image", "create", "-f", "vhdx", "-o", "block_size=3M", p("y.vhdx"), "1M"]);
    expect(size.stderr).toMatch(/^amber: VHDX block size 3145728: a power of two, 1 MiB \.\. 256 MiB\n$/);
  });

  it.skipIf(!hasQemuImg)(
    "a qemu-made qcow2 over a VHDX reads through the chain; commit writes it into the VHDX",
    () => {
      const base = p("chain-base.vhdx");
      const top = p("chain-top.qcow2");
      expect(qemuImg("convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M", DISK, base).status).toBe(0);
      expect(qemuImg("create", "-f", "qcow2", "-b", "chain-base.vhdx", "-F", "vhdx", top).status).toBe(0);
      const io = spawnSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 1000 3000", top], {
        encoding: "utf8",
      });
      expect(io.status, io.stderr).toBe(0);
      const info = JSON.parse(runCli(["image", "info", "--json", "--backing-chain", top]).out);
      expect(info.map((l: { format: string }) => l.format)).toEqual(["qcow2", "vhdx"]);
      const c = runCli(["image", "commit", top]);
      expect(c.stderr).toBe("");
      expect(c.status).toBe(0);
      expect(qemuImg("check", "-f", "vhdx", base).out).toMatch(/No errors were found/);
      expect(qemuImg("compare", "-f", "qcow2", "-F", "vhdx", top, base).status).toBe(0);
      const expected = readFileSync(DISK);
      expected.fill(0x5a, 1000, 4000);
      writeFileSync(p("chain-expected.raw"), expected);
      expect(qemuImg("compare", "-f", "raw", "-F", "vhdx", p("chain-expected.raw"), base).status).toBe(0);
    },
  );

  it("a damaged VHDX is one line naming the file and the offset, and the exit status for bad images", () => {
    const f = p("damaged.vhdx");
    runCli(["image", "create", "-f", "vhdx", f, "4M"]);
    const b = readFileSync(f);
    b[64 * 1024 + 200] ^= 1;
    b[128 * 1024 + 200] ^= 1;
    writeFileSync(f, b);
    const r = runCli(["image", "info", f]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.split("\n").length).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^amber: ${f}: no valid VHDX header .*\\(at offset 65536\\)\\n$`));
  });
});

describe("DMG from the CLI and on the board", () => {
  it("the disk guest runs on a UDZO image of its disk; info and check read it; writing it is refused", () => {
    const dmg = p("disk.dmg");
    writeFileSync(dmg, buildDmg(new Uint8Array(readFileSync(DISK)), { kind: "zlib", chunkSectors: 64 }));
    const r = runCli(["run", "--disk", dmg, "--save-disk-diff", p("over-dmg.amberdisk"), GUEST]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(EXPECTED());
    const info = JSON.parse(runCli(["image", "info", "--json", dmg]).out);
    expect(info.format).toBe("dmg");
    expect(info["format-specific"].data["zlib-chunks"]).toBeGreaterThan(0);
    expect(runCli(["image", "check", dmg]).out).toBe("No errors were found on the image.\n");
    expect(runCli(["image", "compare", dmg, DISK]).status).toBe(0);
    const back = p("from-dmg.raw");
    expect(runCli(["image", "convert", "-O", "raw", dmg, back]).status).toBe(0);
    expect(readFileSync(back).equals(readFileSync(DISK))).toBe(true);
    const rw = runCli(["run", "--disk", `${dmg},rw`, GUEST]);
    expect(rw.status).not.toBe(0);
    expect(rw.stderr).toMatch(/DMG images are read-only in Amber/);
  });
});
