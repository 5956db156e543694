import { expect } from "vitest";

/**
 * Byte-array equality that stays fast on megabytes (vitest's deep toEqual walks every
 * element through its generic matcher) and still says where the arrays differ.
 */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (actual.length !== expected.length) {
    expect.fail(`length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) expect.fail(`byte ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}
