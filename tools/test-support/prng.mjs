/**
 * The project's one pseudo-random generator for tests, fuzzing and benchmarks: xorshift32
 * (Marsaglia 2003, shifts 13/17/5). Deterministic, so a failing case replays from its seed.
 * Plain JavaScript so the .mjs benchmarks and the TypeScript tests share it.
 */

/** 32-bit words from `seed` (a seed of 0, xorshift's one fixed point, starts from 0x9e3779b9). */
export function xorshift32(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Numbers in [0, 1) from `seed`, for code that wants Math.random's shape. */
export function randomUnit(seed) {
  const next = xorshift32(seed);
  return () => next() / 4294967296;
}

/** `length` bytes, one per step: the low byte of each word. */
export function pseudoRandomBytes(length, seed) {
  const next = xorshift32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}
