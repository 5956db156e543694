import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompressError, decodeXorDelta, encodeXorDelta } from "../src/index.js";
import { expectBytes } from "./support/expect-bytes.js";
import { noise } from "./support/noise.js";

describe("XOR-delta with zero-run encoding", () => {
  it("rebuilds the page from its base for any set of changed bytes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 9, max: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 200 }),
        (shift, edits) => {
          const base = noise(2 ** shift, shift);
          const page = base.slice();
          for (const [at, x] of edits) page[at % page.length] ^= x;
          const delta = encodeXorDelta(page, base);
          if (delta === undefined) return;
          expect(delta.length).toBeLessThan(page.length);
          expectBytes(decodeXorDelta(delta, base, 0), page);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("encodes the same bytes whether the pages sit word-aligned or not", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        (edits, skew) => {
          const base = noise(4096, 3);
          const page = base.slice();
          for (const [at, x] of edits) page[at % page.length] ^= x;
          // The same bytes at an odd offset: compared a byte at a time.
          const at = (bytes: Uint8Array) => {
            const b = new Uint8Array(bytes.length + 4).subarray(skew, skew + bytes.length);
            b.set(bytes);
            return b;
          };
          const aligned = encodeXorDelta(page, base);
          const first = aligned?.slice();
          const skewed = encodeXorDelta(at(page), at(base));
          if (aligned === undefined) return expect(skewed).toBeUndefined();
          expectBytes(skewed!, aligned);
          // Each result is its own copy, not the encoder's reused buffer.
          expectBytes(aligned, first!);
          expectBytes(decodeXorDelta(aligned, base, 0), page);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("costs nothing for an unchanged page and a few bytes for one changed byte", () => {
    const base = noise(4096, 1);
    expect(encodeXorDelta(base, base)).toHaveLength(0);
    const page = base.slice();
    page[1000] ^= 1;
    expect(encodeXorDelta(page, base)!.length).toBeLessThanOrEqual(4);
  });

  it("declines when the delta would not be smaller than the page", () => {
    expect(encodeXorDelta(noise(4096, 5), noise(4096, 8))).toBeUndefined();
  });

  it("rejects deltas that run past the page or end early", () => {
    const base = new Uint8Array(64);
    for (const bad of [
      Uint8Array.of(60, 10, 1, 2, 3),
      Uint8Array.of(0, 5, 1),
      Uint8Array.of(0x80),
      Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff),
    ]) {
      expect(() => decodeXorDelta(bad, base, 100)).toThrow(CompressError);
    }
  });
});
