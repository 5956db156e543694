import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostTool } from "../../../../tools/test-support/host-tool.js";
import { pseudoRandomBytes } from "../../../../tools/test-support/prng.mjs";

/** qemu-img is the oracle for qcow2; tests that need it skip when it is not installed (never under CI). */
export const hasQemuImg = hostTool("qemu-img");

export function qemuImg(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("qemu-img", args, { encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function qemuImgOk(...args: string[]): string {
  return execFileSync("qemu-img", args, { encoding: "utf8" });
}

export function tempDir(): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "amber-image-test-"));
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Deterministic pseudo-random bytes (the project's one PRNG, xorshift32), so failures reproduce. */
export function pseudoRandom(length: number, seed: number): Uint8Array {
  return pseudoRandomBytes(length, seed | 1);
}

/** A disk-like test pattern: text-ish, zero and random clusters mixed. */
export function diskPattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const rnd = pseudoRandom(size, seed);
  const block = 16384;
  for (let at = 0; at < size; at += block) {
    const kind = (at / block + seed) % 4;
    if (kind === 0) continue;
    if (kind === 1) out.set(rnd.subarray(at, at + block), at);
    else if (kind === 2) for (let i = at; i < Math.min(size, at + block); i++) out[i] = 0x61 + (i % 26);
    else for (let i = at; i < Math.min(size, at + block); i += 512) out[i] = i / 512;
  }
  return out;
}

/** Byte equality without vitest's slow element-wise diff of large typed arrays. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
