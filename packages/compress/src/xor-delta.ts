import { CompressError } from "./errors.js";

/**
 * XOR-delta of a page against its base with zero-run encoding, QEMU XBZRLE's idea: where
 * page XOR base is zero the bytes are unchanged and cost only a run length. The encoding is
 * a list of pairs (unchanged run, changed run + the changed bytes as they are now), lengths
 * as LEB128 varints; a final unchanged run is left implicit.
 */

// Unchanged runs shorter than this are cheaper kept inside the changed run than paid for
// with two varints.
const MIN_UNCHANGED_RUN = 3;

function putVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}

/** Where the bytes first differ at or after `i` (n when they never do): 4 bytes a step where aligned. */
function sameUntil(
  page: Uint8Array,
  base: Uint8Array,
  page32: Int32Array | undefined,
  base32: Int32Array | undefined,
  i: number,
  n: number,
): number {
  if (page32 !== undefined && base32 !== undefined) {
    while (i < n && (i & 3) !== 0 && page[i] === base[i]) i++;
    if ((i & 3) === 0) {
      let w = i >>> 2;
      const words = n >>> 2;
      while (w < words && page32[w] === base32[w]) w++;
      i = w << 2;
    }
  }
  while (i < n && page[i] === base[i]) i++;
  return i;
}

/** Reused between calls (encoding is synchronous): the delta is built here, then copied out. */
let scratch = new Uint8Array(4096 + 16);

/**
 * Encodes `page` against `base` (same length). Returns undefined when the delta would not be
 * smaller than the page, so the caller stores the page plainly instead.
 */
export function encodeXorDelta(page: Uint8Array, base: Uint8Array): Uint8Array | undefined {
  const n = page.length;
  // A delta at least as long as the page is useless; stop writing before that.
  const limit = n - 1;
  if (scratch.length < n + 16) scratch = new Uint8Array(n + 16);
  const out = scratch;
  const aligned = (page.byteOffset & 3) === 0 && (base.byteOffset & 3) === 0;
  const page32 = aligned ? new Int32Array(page.buffer, page.byteOffset, n >>> 2) : undefined;
  const base32 = aligned ? new Int32Array(base.buffer, base.byteOffset, n >>> 2) : undefined;
  let op = 0;
  let i = 0;
  while (i < n) {
    const unchangedStart = i;
    i = sameUntil(page, base, page32, base32, i, n);
    if (i === n) break;
    const changedStart = i;
    while (i < n) {
      if (page[i] !== base[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j < n && page[j] === base[j] && j - i < MIN_UNCHANGED_RUN) j++;
      if (j - i >= MIN_UNCHANGED_RUN || j === n) break;
      i = j;
    }
    const changed = i - changedStart;
    if (op + 6 + changed > limit) return undefined;
    op = putVarint(out, op, changedStart - unchangedStart);
    op = putVarint(out, op, changed);
    out.set(page.subarray(changedStart, i), op);
    op += changed;
  }
  return out.slice(0, op);
}

/**
 * Rebuilds a page from its base and a delta. `offset` is where the delta sits in the block,
 * for error messages. Every length is checked against the page before it is used. The page
 * is a new array, or `into` (of the base's length) when given: its bytes are then replaced.
 */
export function decodeXorDelta(
  delta: Uint8Array,
  base: Uint8Array,
  offset: number,
  into?: Uint8Array,
): Uint8Array {
  const n = base.length;
  let page: Uint8Array;
  if (into !== undefined && into.length === n) {
    page = into;
    page.set(base);
  } else page = base.slice();
  let ip = 0;
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (ip >= delta.length) {
        throw new CompressError("TRUNCATED", "delta ends inside a run length", offset + ip, "a varint byte");
      }
      const b = delta[ip++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new CompressError(
      "CORRUPT",
      "delta run length longer than 4 bytes",
      offset + ip,
      "a varint ≤ 4 bytes",
    );
  };
  while (ip < delta.length) {
    const unchanged = varint();
    const changed = varint();
    if (pos + unchanged + changed > n) {
      throw new CompressError(
        "CORRUPT",
        "delta runs past the end of the page",
        offset + ip,
        `at most ${n - pos} bytes`,
      );
    }
    if (ip + changed > delta.length) {
      throw new CompressError(
        "TRUNCATED",
        "delta ends inside changed bytes",
        offset + ip,
        `${changed} bytes`,
      );
    }
    pos += unchanged;
    page.set(delta.subarray(ip, ip + changed), pos);
    pos += changed;
    ip += changed;
  }
  return page;
}
