/**
 * Byte-level mutations of a file, reproducible from a seed: what bit rot, a bad copy, a
 * truncated download or a hand edit does to an image. Used by the fuzzer (`fuzz.mjs`) and by
 * the CI smoke tests.
 */

/** The project's one PRNG (xorshift32): deterministic, so a failing case is replayed from its seed. */
import { xorshift32 as prng } from "../test-support/prng.mjs";

export { prng };

/** Values that break assumptions when written over a size, count or offset. */
const INTERESTING_U32 = [0, 1, 7, 0x1ff, 0x200, 0x1000, 0x7fffffff, 0x80000000, 0xfffffe00, 0xffffffff];

export type MutationKind =
  | "flip"
  | "byte"
  | "u32"
  | "u64"
  | "truncate"
  | "insert"
  | "delete"
  | "copy"
  | "zero";
export const MUTATION_KINDS: readonly MutationKind[] = [
  "flip",
  "byte",
  "u32",
  "u64",
  "truncate",
  "insert",
  "delete",
  "copy",
  "zero",
];

/** One mutation of `input` (never in place); `near` biases positions towards the first bytes (headers, tables). */
export function mutate(
  input: Uint8Array,
  rnd: () => number,
  kind?: MutationKind,
): { bytes: Uint8Array; what: string } {
  const k = kind ?? (MUTATION_KINDS[rnd() % MUTATION_KINDS.length] as MutationKind);
  const n = input.length;
  // Half the positions in the first 4 KiB, where headers and tables are.
  const pos = (limit = n) => (limit <= 0 ? 0 : rnd() & 1 ? rnd() % Math.min(limit, 4096) : rnd() % limit);
  const out = input.slice();
  const dv = new DataView(out.buffer);
  switch (k) {
    case "flip": {
      if (n === 0) return { bytes: out, what: "flip (empty)" };
      const at = pos();
      const bit = rnd() & 7;
      out[at] = (out[at] as number) ^ (1 << bit);
      return { bytes: out, what: `flip bit ${bit} at ${at}` };
    }
    case "byte": {
      if (n === 0) return { bytes: out, what: "byte (empty)" };
      const at = pos();
      out[at] = rnd() & 0xff;
      return { bytes: out, what: `byte ${out[at]} at ${at}` };
    }
    case "u32": {
      if (n < 4) return { bytes: out, what: "u32 (short)" };
      const at = pos(n - 3) & ~3;
      const v = rnd() & 1 ? (INTERESTING_U32[rnd() % INTERESTING_U32.length] as number) : rnd();
      dv.setUint32(at, v >>> 0, (rnd() & 1) === 1);
      return { bytes: out, what: `u32 0x${(v >>> 0).toString(16)} at ${at}` };
    }
    case "u64": {
      if (n < 8) return { bytes: out, what: "u64 (short)" };
      const at = pos(n - 7) & ~7;
      const hi = rnd() & 1 ? (INTERESTING_U32[rnd() % INTERESTING_U32.length] as number) : rnd();
      const lo = rnd();
      const le = (rnd() & 1) === 1;
      dv.setUint32(le ? at + 4 : at, hi >>> 0, le);
      dv.setUint32(le ? at : at + 4, lo >>> 0, le);
      return { bytes: out, what: `u64 0x${(hi >>> 0).toString(16)}_${(lo >>> 0).toString(16)} at ${at}` };
    }
    case "truncate": {
      const at = n === 0 ? 0 : rnd() % n;
      return { bytes: input.slice(0, at), what: `truncate to ${at}` };
    }
    case "insert": {
      const at = pos(n + 1);
      const len = 1 + (rnd() % 512);
      const bytes = new Uint8Array(n + len);
      bytes.set(input.subarray(0, at));
      for (let i = 0; i < len; i++) bytes[at + i] = rnd() & 1 ? 0 : rnd() & 0xff;
      bytes.set(input.subarray(at), at + len);
      return { bytes, what: `insert ${len} bytes at ${at} (shift)` };
    }
    case "delete": {
      const at = pos();
      const len = Math.min(n - at, 1 + (rnd() % 512));
      const bytes = new Uint8Array(n - len);
      bytes.set(input.subarray(0, at));
      bytes.set(input.subarray(at + len), at);
      return { bytes, what: `delete ${len} bytes at ${at} (shift)` };
    }
    case "copy": {
      if (n < 2) return { bytes: out, what: "copy (short)" };
      const from = rnd() % n;
      const to = pos();
      const len = Math.min(n - from, n - to, 1 + (rnd() % 4096));
      out.copyWithin(to, from, from + len);
      return { bytes: out, what: `copy ${len} bytes from ${from} to ${to}` };
    }
    case "zero": {
      const at = pos();
      const len = Math.min(n - at, 1 + (rnd() % 4096));
      out.fill(0, at, at + len);
      return { bytes: out, what: `zero ${len} bytes at ${at}` };
    }
  }
}

/** One to three mutations in a row, from `seed`. */
export function mutateCase(input: Uint8Array, seed: number): { bytes: Uint8Array; what: string } {
  const rnd = prng(seed);
  const count = 1 + (rnd() % 3 === 0 ? rnd() % 3 : 0);
  let bytes = input;
  const what: string[] = [];
  for (let i = 0; i < count; i++) {
    const m = mutate(bytes, rnd);
    bytes = m.bytes;
    what.push(m.what);
  }
  return { bytes, what: what.join(", ") };
}
