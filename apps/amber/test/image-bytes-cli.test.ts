import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { runCli } from "./run-cli.js";

// qemu-img makes the images and qemu-io (qemu-utils) writes and checks their bytes.
const tools = hostTool("qemu-img") && hostTool("qemu-io", ["--version"]);
const dir = mkdtempSync(join(tmpdir(), "amber-image-bytes-"));
const p = (name: string) => join(dir, name);
const qemuIo = (file: string, command: string) =>
  spawnSync("qemu-io", ["-c", command, file], { encoding: "utf8" });

beforeAll(async () => {
  await initCodecs();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!tools)("amber image read / write", () => {
  it("reads bytes through the layer stack: hex and ASCII as hexdump -C, or raw", () => {
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", p("base.qcow2"), "1M"]);
    expect(qemuIo(p("base.qcow2"), "write -P 0x5a 4096 512").status).toBe(0);
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-b",
      "base.qcow2",
      "-F",
      "qcow2",
      p("top.qcow2"),
    ]);
    expect(qemuIo(p("top.qcow2"), "write -P 0x41 4100 4").status).toBe(0);

    const r = runCli(["image", "read", p("top.qcow2"), "4090", "24"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.out).toBe(
      [
        "00000ffa  00 00 00 00 00 00 5a 5a  5a 5a 41 41 41 41 5a 5a  |......ZZZZAAAAZZ|",
        "0000100a  5a 5a 5a 5a 5a 5a 5a 5a                           |ZZZZZZZZ|",
        "",
      ].join("\n"),
    );
    // --raw: the bytes themselves, the same as qemu-img's flattened copy.
    execFileSync("qemu-img", ["convert", "-O", "raw", p("top.qcow2"), p("flat.raw")]);
    const raw = runCli(["image", "read", "--raw", p("top.qcow2"), "0", "1M"]);
    expect(Buffer.from(raw.stdoutBytes).equals(readFileSync(p("flat.raw")))).toBe(true);
    expect(runCli(["image", "read", "--raw", p("top.qcow2"), "0x1000", "0x10"]).stdoutBytes).toEqual(
      new Uint8Array(readFileSync(p("flat.raw")).subarray(0x1000, 0x1010)),
    );
  });

  it("writes stdin into a new top layer, the image unchanged; qemu-io reads it back", () => {
    const before = readFileSync(p("top.qcow2"));
    const r = runCli(["image", "write", p("top.qcow2"), "0x1000", "-o", p("new.qcow2")], "hello, world");
    expect(r.stderr).toBe(
      `amber: wrote 12 bytes at 4096 into a new top layer ${p("new.qcow2")} over ${p("top.qcow2")}\n`,
    );
    expect(r.status).toBe(0);
    expect(readFileSync(p("top.qcow2")).equals(before)).toBe(true);
    expect(qemuIo(p("new.qcow2"), "read -P 0x5a 4108 500").status).toBe(0);
    expect(qemuIo(p("new.qcow2"), "read -v 4096 12").stdout).toContain("hello..world");
    expect(spawnSync("qemu-img", ["check", p("new.qcow2")]).status).toBe(0);
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", p("new.qcow2")], { encoding: "utf8" }),
    );
    expect(info["backing-filename"]).toBe("top.qcow2");
    // Over a raw image the new layer is an Amber one, named after the image by default.
    execFileSync("qemu-img", ["create", "-q", "-f", "raw", p("disk.raw"), "64K"]);
    expect(runCli(["image", "write", p("disk.raw"), "10"], "xyz").status).toBe(0);
    expect(existsSync(p("disk.raw.top.amberdisk"))).toBe(true);
    expect(runCli(["image", "read", p("disk.raw.top.amberdisk"), "8", "8"]).out).toBe(
      "00000008  00 00 78 79 7a 00 00 00                           |..xyz...|\n",
    );
  });

  it("Amber disk layers chain: a layer over a layer over a raw file reads as one disk", () => {
    execFileSync("qemu-img", ["create", "-q", "-f", "raw", p("chain.raw"), "64K"]);
    expect(qemuIo(p("chain.raw"), "write -P 0x61 0 8192").status).toBe(0);
    expect(runCli(["image", "write", p("chain.raw"), "100", "-o", p("one.amberdisk")], "ONE").status).toBe(0);
    const two = runCli(["image", "write", p("one.amberdisk"), "102", "-o", p("two.amberdisk")], "TWO!");
    expect(two.status).toBe(0);
    expect(runCli(["image", "read", p("two.amberdisk"), "96", "16"]).out).toBe(
      "00000060  61 61 61 61 4f 4e 54 57  4f 21 61 61 61 61 61 61  |aaaaONTWO!aaaaaa|\n",
    );
    // The layers below are unchanged, and the middle one still reads as it did.
    expect(runCli(["image", "read", p("one.amberdisk"), "100", "4"]).out).toContain("|ONEa|");
    expect(qemuIo(p("chain.raw"), "read -P 0x61 0 8192").status).toBe(0);
    // A file of the chain gone: one line naming it.
    rmSync(p("one.amberdisk"));
    const broken = runCli(["image", "read", p("two.amberdisk"), "0", "1"]);
    expect(broken.status).toBe(125);
    expect(broken.stderr.split("\n")).toHaveLength(2);
    expect(broken.stderr).toContain("one.amberdisk");
  });

  it("--in-place writes into the image itself", () => {
    copyFileSync(p("base.qcow2"), p("inplace.qcow2"));
    const r = runCli(["image", "write", "--in-place", p("inplace.qcow2"), "4096"], "BBBB");
    expect(r.status).toBe(0);
    expect(qemuIo(p("inplace.qcow2"), "read -P 0x42 4096 4").status).toBe(0);
    expect(qemuIo(p("inplace.qcow2"), "read -P 0x5a 4100 508").status).toBe(0);
    expect(spawnSync("qemu-img", ["check", p("inplace.qcow2")]).status).toBe(0);
  });

  it("refuses in one line what cannot be done, and writes nothing", () => {
    const past = runCli(["image", "read", p("base.qcow2"), "1M", "1"]);
    expect(past.status).toBe(2);
    expect(past.stderr).toBe(
      `amber: ${p("base.qcow2")}: bytes 1048576..1048577 lie past the end of the image (1048576 bytes)\n`,
    );
    const exists = runCli(["image", "write", p("base.qcow2"), "0", "-o", p("new.qcow2")], "x");
    expect(exists.status).toBe(2);
    expect(exists.stderr).toMatch(/new\.qcow2: exists; name the new top layer with -o/);
    const amberInPlace = runCli(["image", "write", "--in-place", p("disk.raw.top.amberdisk"), "0"], "x");
    expect(amberInPlace.status).toBe(125);
    expect(amberInPlace.stderr.split("\n")).toHaveLength(2);
    const missing = runCli(["image", "read", p("nothing.qcow2"), "0", "1"]);
    expect(missing.status).toBe(125);
    expect(missing.stderr.split("\n")).toHaveLength(2);
    expect(runCli(["image", "read", p("base.qcow2"), "ten", "1"]).status).toBe(2);
    const empty = runCli(["image", "write", p("base.qcow2"), "0", "-o", p("empty.qcow2")], "");
    expect(empty.status).toBe(2);
    expect(empty.stderr).toBe(
      `amber: ${p("base.qcow2")}: nothing on stdin to write at 0 (amber image write IMG OFFSET < data); nothing written\n`,
    );
    expect(existsSync(p("empty.qcow2"))).toBe(false);
  });
});
