import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCodecs } from "@amber/compress";
import { openImage } from "@amber/image";
import { nodeImageHost } from "@amber/image/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { GUESTS_DIR } from "./guests.js";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "amber-image-cli-"));
const p = (name: string) => join(dir, name);
const hasQemuImg = hostTool("qemu-img");
const DISK = `${GUESTS_DIR}disk.img`;
const GUEST = `${GUESTS_DIR}rv32imac/disk.elf`;

beforeAll(async () => {
  await initCodecs();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("amber run --disk", () => {
  it("runs the disk guest as on QEMU; the disk file never changes; --save-disk-diff keeps the writes", () => {
    const before = readFileSync(DISK);
    const r = runCli(["run", "--disk", `${DISK},format=raw`, "--save-disk-diff", p("guest.qcow2"), GUEST]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(readFileSync(`${GUESTS_DIR}rv32imac/disk.stdout`, "utf8"));
    expect(r.status).toBe(0);
    expect(readFileSync(DISK).equals(before)).toBe(true);

    const diff = openImage(nodeImageHost, p("guest.qcow2"));
    expect(diff.layers.map((l) => l.format)).toEqual(["raw", "qcow2"]);
    expect(new TextDecoder().decode(diff.read(5 * 512, 25))).toBe("written by the disk guest");
    expect(diff.read(0, 512)).toEqual(new Uint8Array(before.subarray(0, 512)));
    diff.close();
    if (hasQemuImg) expect(spawnSync("qemu-img", ["check", p("guest.qcow2")]).status).toBe(0);
  });

  it("rw writes into the file; an amber diff works too; bad specs are usage errors", () => {
    copyFileSync(DISK, p("rw.img"));
    expect(runCli(["run", "--disk", `${p("rw.img")},rw`, GUEST]).status).toBe(0);
    expect(
      readFileSync(p("rw.img"))
        .subarray(5 * 512, 5 * 512 + 25)
        .toString(),
    ).toBe("written by the disk guest");

    expect(runCli(["run", "--disk", DISK, "--save-disk-diff", p("guest.amberdisk"), GUEST]).status).toBe(0);
    expect(runCli(["image", "compare", p("guest.amberdisk"), p("rw.img")]).status).toBe(0);

    const bad = runCli(["run", "--disk", `${DISK},format=vmdk`, GUEST]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/format vmdk is not one of raw, qcow2, amber/);
    const missing = runCli(["run", "--disk", p("nope.img"), GUEST]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toMatch(/no such file/);
  });
});

describe("amber image", () => {
  it("create, info --json, convert, check, compare, commit", () => {
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i += 4096) data.set(new TextEncoder().encode(`block ${i / 4096}`), i);
    writeFileSync(p("src.raw"), data);

    expect(
      runCli([
        "image",
        "convert",
        "-O",
        "qcow2",
        "-c",
        "-o",
        "compression_type=zstd",
        p("src.raw"),
        p("src.qcow2"),
      ]).status,
    ).toBe(0);
    const info = runCli(["image", "info", "--json", p("src.qcow2")]);
    expect(info.status).toBe(0);
    const json = JSON.parse(info.out);
    expect(json).toMatchObject({ format: "qcow2", "virtual-size": 1 << 20, "cluster-size": 65536 });
    expect(json["format-specific"].data["compression-type"]).toBe("zstd");
    expect(runCli(["image", "check", p("src.qcow2")]).out).toMatch(/No errors were found/);
    expect(runCli(["image", "compare", p("src.raw"), p("src.qcow2")]).status).toBe(0);

    expect(runCli(["image", "convert", "-O", "amber", p("src.qcow2"), p("src.amberdisk")]).status).toBe(0);
    expect(runCli(["image", "check", p("src.amberdisk")]).status).toBe(0);
    expect(runCli(["image", "compare", p("src.amberdisk"), p("src.raw")]).out).toMatch(/identical/);

    // A diff over the raw file, written by the guest-less path: create -b, then commit into the base.
    expect(
      runCli(["image", "create", "-f", "qcow2", "-b", "src.raw", "-F", "raw", p("top.qcow2")]).status,
    ).toBe(0);
    const text = runCli(["image", "info", "--backing-chain", p("top.qcow2")]).out;
    expect(text).toMatch(/backing file: src.raw/);
    const top = openImage(nodeImageHost, p("top.qcow2"), { writable: true });
    top.write(12345, new TextEncoder().encode("changed"));
    top.close();
    const differs = runCli(["image", "compare", p("top.qcow2"), p("src.raw")]);
    expect(differs.status).toBe(1);
    expect(differs.out).toMatch(/Content mismatch at offset 12345/);
    expect(runCli(["image", "commit", p("top.qcow2")]).status).toBe(0);
    expect(readFileSync(p("src.raw")).subarray(12345, 12352).toString()).toBe("changed");
    if (hasQemuImg) expect(spawnSync("qemu-img", ["check", p("top.qcow2")]).status).toBe(0);
  });

  it("hostile or wrong input gives one clear line and exit 125; check reports corruption with 2", () => {
    writeFileSync(
      p("junk.qcow2"),
      Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 9]), Buffer.alloc(200)]),
    );
    const r = runCli(["image", "info", p("junk.qcow2")]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^amber: .*qcow2 version 9; only 2 and 3 are supported \(at offset 4\)\n$/);
    expect(runCli(["image", "convert", "-O", "vmdk", p("src.raw"), p("x")]).status).toBe(2);

    const good = readFileSync(p("src.qcow2"));
    const refTable = Number(good.readBigUInt64BE(48));
    const firstBlock = Number(good.readBigUInt64BE(refTable));
    good.writeUInt16BE(0, firstBlock); // the header cluster's refcount
    writeFileSync(p("bad-refs.qcow2"), good);
    const chk = runCli(["image", "check", p("bad-refs.qcow2")]);
    expect(chk.status).toBe(2);
    expect(chk.out).toMatch(/cluster 0: refcount 0, referenced 1 times/);
  });
});
