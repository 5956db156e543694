import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { runCli } from "./run-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-cli-"));
const hello = guests(({ march, name }) => march === "rv32imac" && name === "hello")[0]!;

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe("amber's command line", () => {
  it("prints help on stdout and exits 0", () => {
    const r = runCli(["--help"]);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/Usage: amber/);
    const run = runCli(["run", "--help"]);
    expect(run.out).toMatch(/--max-insns/);
    expect(run.out).toMatch(/Exit status/);
  });

  it("rejects unknown flags and bad values with status 2 and one line on stderr", () => {
    const r = runCli(["run", hello.elf, "--bogus"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--bogus'/);
    const ram = runCli(["run", hello.elf, "--ram", "lots"]);
    expect(ram.status).toBe(2);
    expect(ram.stderr).toBe('amber: --ram: cannot read "lots" as a size (e.g. 128M, 1G)\n');
  });

  it("names a missing file", () => {
    const r = runCli(["run", join(tmp, "nope.elf")]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`amber: ${join(tmp, "nope.elf")}: cannot read: no such file\n`);
  });

  it("refuses a file that is not an ELF, naming the offset and what was expected", () => {
    const path = file("text.elf", "hello world, not an ELF");
    const r = runCli(["run", path]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      `amber: ${path}: offset 0: not an ELF file (expected the magic bytes 7f 45 4c 46)\n`,
    );
    expect(r.stderr).not.toMatch(/\n {4}at /); // no stack trace
  });

  it("refuses a 64-bit ELF and an ELF for another machine", () => {
    const bytes = readFileSync(hello.elf);
    const wide = Uint8Array.from(bytes);
    wide[4] = 2;
    expect(runCli(["run", file("wide.elf", wide)]).stderr).toMatch(
      /offset 4: ELF class 64-bit, expected 32-bit/,
    );
    const arm = Uint8Array.from(bytes);
    arm[18] = 40;
    arm[19] = 0;
    expect(runCli(["run", file("arm.elf", arm)]).stderr).toMatch(
      /offset 18: machine 40, expected RISC-V \(243\)/,
    );
  });

  it("refuses a truncated ELF", () => {
    const bytes = readFileSync(hello.elf);
    const r = runCli(["run", file("short.elf", bytes.subarray(0, 200))]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/run past the end of the file|wants bytes/);
  });

  it("refuses an ELF that does not fit in the configured RAM", () => {
    const r = runCli(["run", hello.elf, "--ram", "4K"]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/segment \d+ at 0x80000000 .* lies outside RAM \[0x80000000, 0x80001000\)/);
  });

  it("stops at --max-insns with status 124", () => {
    const r = runCli(["run", hello.elf, "--max-insns", "1000"]);
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/stopped after 1000 instructions/);
  });

  it("prints statistics as one JSON line on stderr", () => {
    const r = runCli(["run", hello.elf, "--stats"]);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr.trim().split("\n").pop()!);
    expect(stats.instructions).toBeGreaterThan(1000);
    expect(stats).toHaveProperty("seconds");
    expect(stats).toHaveProperty("mips");
  });

  it("reports an illegal instruction with pc, bits and disassembly when the guest has no handler", () => {
    // A bare ELF whose entry holds the all-ones word: no trap handler (mtvec = 0).
    const bytes = Uint8Array.from(readFileSync(hello.elf));
    const view = new DataView(bytes.buffer);
    const entry = view.getUint32(24, true);
    const phoff = view.getUint32(28, true);
    // The file offset of the entry point: inside the PT_LOAD segment whose addresses hold it.
    let offset = -1;
    for (let i = 0; i < view.getUint16(44, true); i++) {
      const ph = phoff + 32 * i;
      const paddr = view.getUint32(ph + 12, true);
      if (view.getUint32(ph, true) === 1 && entry >= paddr && entry < paddr + view.getUint32(ph + 16, true)) {
        offset = view.getUint32(ph + 4, true) + (entry - paddr);
      }
    }
    view.setUint32(offset, 0xffffffff, true);
    const r = runCli(["run", file("illegal.elf", bytes)]);
    expect(r.status).toBe(126);
    expect(r.stderr).toBe(
      `amber: guest stopped: unhandled IllegalInstruction (mcause 2) at pc 0x${entry.toString(16).padStart(8, "0")}: 0xffffffff unknown 0xffffffff (mtval 0xffffffff)\n`,
    );
  });

  it("traces instructions on stderr", () => {
    const r = runCli(["run", hello.elf, "--trace", "--max-insns", "3"]);
    expect(r.stderr.split("\n").slice(0, 3)).toEqual([
      "0 0x00001000 0x00000297 auipc t0,0x0",
      "1 0x00001004 0x02828613 addi a2,t0,40",
      "2 0x00001008 0xf1402573 csrrs a0,mhartid,zero",
    ]);
  });
});
