import { pseudoRandomBytes } from "../../../../tools/test-support/prng.mjs";

/** Deterministic pseudo-random bytes (the project's one PRNG, xorshift32), so a failing case reproduces. */
export function noise(length: number, seed: number): Uint8Array {
  return pseudoRandomBytes(length, seed | 1);
}
