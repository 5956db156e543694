import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { runCli } from "./run-cli.js";

// The qemu-img verbs, checked against qemu-img itself: its own output for the same file
// (map, check --output=json), or its verdict on what Amber wrote (compare, check, info).
const hasQemuImg = hostTool("qemu-img");
let tmp: string;
const p = (name: string) => join(tmp, name);
const qemuImg = (...args: string[]) => execFileSync("qemu-img", args, { cwd: tmp, encoding: "utf8" });
const qemuIo = (file: string, ...cmds: string[]) =>
  execFileSync("qemu-io", [...cmds.flatMap((c) => ["-c", c]), file], { cwd: tmp, encoding: "utf8" });
const qemuStatus = (...args: string[]) => spawnSync("qemu-img", args, { cwd: tmp, encoding: "utf8" });

beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-qemu-img-verbs-"));
  if (!hasQemuImg) return;
  // base.qcow2 <- top.qcow2: data in both, an explicit zero cluster in the top.
  qemuImg("create", "-q", "-f", "qcow2", p("base.qcow2"), "4M");
  qemuIo(p("base.qcow2"), "write -P 2 1M 64k", "write -P 3 3M 128k");
  qemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", p("top.qcow2"));
  qemuIo(p("top.qcow2"), "write -P 1 0 64k", "write -z 128k 64k", "write -P 4 3M 64k");
  qemuImg("create", "-q", "-f", "qcow2", p("other.qcow2"), "4M");
  qemuIo(p("other.qcow2"), "write -P 7 2M 64k", "write -P 2 1M 64k");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!hasQemuImg)("qemu-img verbs, against qemu-img", () => {
  it("map (--output=json and human) prints what qemu-img map prints", () => {
    const json = runCli(["image", "map", "--output=json", p("top.qcow2")]);
    expect(json.status).toBe(0);
    expect(json.out).toBe(qemuImg("map", "--output=json", p("top.qcow2")));
    expect(runCli(["image", "map", "--json", p("top.qcow2")]).out).toBe(json.out);
    expect(runCli(["image", "map", p("top.qcow2")]).out).toBe(qemuImg("map", p("top.qcow2")));
  });

  it("--output=json is an alias of --json (info, check), with qemu-img's keys and values", () => {
    const info = JSON.parse(runCli(["image", "info", "--output=json", p("top.qcow2")]).out);
    const theirs = JSON.parse(qemuImg("info", "--output=json", p("top.qcow2")));
    for (const k of ["virtual-size", "format", "cluster-size", "backing-filename", "dirty-flag"])
      expect(info[k], k).toEqual(theirs[k]);
    expect(runCli(["image", "check", "--output=json", p("top.qcow2")]).out).toBe(
      qemuImg("check", "--output=json", p("top.qcow2")),
    );
    expect(runCli(["image", "info", "--output=yaml", p("top.qcow2")]).status).toBe(2);
  });

  it("rebase (safe) keeps what the file reads, as qemu-img rebase does; -u only renames", () => {
    for (const f of ["ours", "theirs"]) copyFileSync(p("top.qcow2"), p(`${f}.qcow2`));
    expect(runCli(["image", "rebase", "-b", "other.qcow2", "-F", "qcow2", p("ours.qcow2")]).status).toBe(0);
    qemuImg("rebase", "-q", "-b", "other.qcow2", "-F", "qcow2", p("theirs.qcow2"));
    expect(qemuImg("compare", p("ours.qcow2"), p("top.qcow2"))).toMatch(/identical/);
    expect(qemuImg("compare", p("ours.qcow2"), p("theirs.qcow2"))).toMatch(/identical/);
    expect(JSON.parse(qemuImg("info", "--output=json", p("ours.qcow2")))["backing-filename"]).toBe(
      "other.qcow2",
    );
    expect(qemuStatus("check", p("ours.qcow2")).status).toBe(0);
    // -u: the backing file was moved; only the name changes, nothing is copied.
    copyFileSync(p("top.qcow2"), p("moved-top.qcow2"));
    copyFileSync(p("base.qcow2"), p("base-moved.qcow2"));
    const before = statSync(p("moved-top.qcow2")).size;
    expect(runCli(["image", "rebase", "-u", "-b", "base-moved.qcow2", p("moved-top.qcow2")]).status).toBe(0);
    expect(JSON.parse(qemuImg("info", "--output=json", p("moved-top.qcow2")))["backing-filename"]).toBe(
      "base-moved.qcow2",
    );
    expect(qemuImg("compare", p("moved-top.qcow2"), p("top.qcow2"))).toMatch(/identical/);
    expect(statSync(p("moved-top.qcow2")).size).toBeLessThanOrEqual(before + 65536 * 2);
    // -b "": standalone, the backing's data copied in.
    copyFileSync(p("top.qcow2"), p("alone.qcow2"));
    expect(runCli(["image", "rebase", "-b", "", p("alone.qcow2")]).status).toBe(0);
    expect(
      JSON.parse(qemuImg("info", "--output=json", p("alone.qcow2")))["backing-filename"],
    ).toBeUndefined();
    expect(qemuImg("compare", p("alone.qcow2"), p("top.qcow2"))).toMatch(/identical/);
  });

  it("resize grows qcow2 and raw as qemu-img resize; shrinking needs --shrink and never loses data", () => {
    for (const f of ["ours", "theirs"]) copyFileSync(p("top.qcow2"), p(`r-${f}.qcow2`));
    expect(runCli(["image", "resize", p("r-ours.qcow2"), "3G"]).status).toBe(0);
    qemuImg("resize", "-q", p("r-theirs.qcow2"), "3G");
    expect(JSON.parse(qemuImg("info", "--output=json", p("r-ours.qcow2")))["virtual-size"]).toBe(3 * 2 ** 30);
    expect(qemuImg("compare", p("r-ours.qcow2"), p("r-theirs.qcow2"))).toMatch(/identical/);
    expect(qemuStatus("check", p("r-ours.qcow2")).status).toBe(0);
    expect(runCli(["image", "resize", p("r-ours.qcow2"), "8M"]).status).toBe(2);
    expect(runCli(["image", "resize", "--shrink", p("r-ours.qcow2"), "8M"]).status).toBe(0);
    expect(runCli(["image", "resize", "--shrink", p("r-ours.qcow2"), "1M"]).stderr).toMatch(
      /data at \d+ lies past/,
    );
    writeFileSync(p("disk.img"), new Uint8Array(1 << 20));
    expect(runCli(["image", "resize", "-f", "raw", p("disk.img"), "+1M"]).status).toBe(0);
    expect(statSync(p("disk.img")).size).toBe(2 << 20);
  });

  it("convert -B writes only what differs from the backing file; -n writes into an existing image", () => {
    const out = p("diff.qcow2");
    expect(
      runCli(["image", "convert", "-O", "qcow2", "-B", "base.qcow2", "-F", "qcow2", p("top.qcow2"), out])
        .status,
    ).toBe(0);
    expect(qemuImg("compare", out, p("top.qcow2"))).toMatch(/identical/);
    expect(JSON.parse(qemuImg("info", "--output=json", out))["backing-filename"]).toBe("base.qcow2");
    qemuImg(
      "convert",
      "-O",
      "qcow2",
      "-B",
      "base.qcow2",
      "-F",
      "qcow2",
      p("top.qcow2"),
      p("their-diff.qcow2"),
    );
    const dataIn = (f: string) =>
      (JSON.parse(qemuImg("map", "--output=json", f)) as { depth: number; data: boolean; length: number }[])
        .filter((e) => e.depth === 0 && e.data)
        .reduce((n, e) => n + e.length, 0);
    expect(dataIn(out)).toBeLessThanOrEqual(dataIn(p("their-diff.qcow2")));
    expect(qemuStatus("check", out).status).toBe(0);
    qemuImg("create", "-q", "-f", "qcow2", p("existing.qcow2"), "4M");
    expect(
      runCli(["image", "convert", "-n", "-O", "qcow2", p("top.qcow2"), p("existing.qcow2")]).status,
    ).toBe(0);
    expect(qemuImg("compare", p("existing.qcow2"), p("top.qcow2"))).toMatch(/identical/);
    expect(qemuStatus("check", p("existing.qcow2")).status).toBe(0);
  });

  it("check -r leaks|all repairs refcounts so that qemu-img check finds nothing", () => {
    qemuImg("convert", "-O", "qcow2", p("top.qcow2"), p("flat.qcow2"));
    const b = Uint8Array.from(readFileSync(p("flat.qcow2")));
    const v = new DataView(b.buffer);
    const cs = 2 ** v.getUint32(20);
    const block = Number(v.getBigUint64(Number(v.getBigUint64(48))));
    const clusters = b.length / cs;
    // A leak: a refcount on a cluster nothing references (appended); a corruption: the header's refcount 0.
    const leaky = new Uint8Array(b.length + cs);
    leaky.set(b);
    new DataView(leaky.buffer).setUint16(block + 2 * clusters, 1);
    writeFileSync(p("leak.qcow2"), leaky);
    expect(qemuStatus("check", p("leak.qcow2")).status).toBe(3);
    expect(runCli(["image", "check", p("leak.qcow2")]).status).toBe(3);
    const repaired = runCli(["image", "check", "-r", "leaks", p("leak.qcow2")]);
    expect(repaired.status).toBe(0);
    expect(repaired.out).toMatch(/1 leaked clusters\n {4}0 corruptions/);
    expect(qemuStatus("check", p("leak.qcow2")).status).toBe(0);
    const corrupt = leaky.slice();
    new DataView(corrupt.buffer).setUint16(block, 0);
    writeFileSync(p("corrupt.qcow2"), corrupt);
    expect(qemuStatus("check", p("corrupt.qcow2")).status).toBe(2);
    expect(runCli(["image", "check", "-r", "leaks", p("corrupt.qcow2")]).status).toBe(2);
    expect(runCli(["image", "check", "-r", "all", p("corrupt.qcow2")]).status).toBe(0);
    expect(qemuStatus("check", p("corrupt.qcow2")).status).toBe(0);
    expect(qemuImg("compare", p("corrupt.qcow2"), p("top.qcow2"))).toMatch(/identical/);
  });

  it("measure gives qemu-img measure's numbers, for files and for --size", () => {
    for (const args of [
      ["-O", "qcow2", p("top.qcow2")],
      ["-O", "qcow2", "-o", "cluster_size=4k", p("top.qcow2")],
      ["-O", "raw", p("top.qcow2")],
      ["-O", "qcow2", "--size", "1G"],
      ["-O", "qcow2", "--size", "3G", "-o", "cluster_size=512"],
      ["--output=json", "-O", "qcow2", p("base.qcow2")],
    ]) {
      const r = runCli(["image", "measure", ...args]);
      expect(r.status, args.join(" ")).toBe(0);
      expect(r.out, args.join(" ")).toBe(qemuImg("measure", ...args));
    }
    expect(runCli(["image", "measure", "-O", "amber", p("top.qcow2")]).status).toBe(2);
  });

  it("refuses to write formats it cannot produce, naming them", () => {
    const r = runCli(["image", "convert", "-O", "vmdk", p("top.qcow2"), p("x.vmdk")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "amber: -O vmdk: Amber reads raw, qcow2, amber, vhdx, dmg (and writes all but dmg); qemu-img converts to and from vmdk\n",
    );
    const dmg = runCli(["image", "convert", "-O", "dmg", p("top.qcow2"), p("x.dmg")]);
    expect(dmg.status).toBe(2);
    expect(dmg.stderr).toBe(
      "amber: -O dmg: Amber reads dmg but does not write it (raw, qcow2, amber, vhdx)\n",
    );
  });
});
