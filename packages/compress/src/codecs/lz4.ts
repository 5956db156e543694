import type { Codec } from "../codec.js";
import { CODEC_IDS } from "../codec.js";
import { CompressError } from "../errors.js";

/**
 * The LZ4 *block* format (lz4_Block_format.md), written here rather than taken from npm:
 * measured, the pure-JS lz4js was slower than this on 4 KiB-page blocks, the WASM builds do
 * not load the same way in Node 20 and browsers, and owning the decoder lets it check every
 * length against the known raw size (hostile input can never write past the output).
 */

const MIN_MATCH = 4;
// The format's end-of-block rules: the last 5 bytes are literals and the last match starts
// at least 12 bytes before the end.
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;
const HASH_LOG = 14;

// Reused across calls. Stale entries from an earlier input are harmless: a candidate is only
// used after its 4 bytes are compared with the current position.
const table = new Int32Array(1 << HASH_LOG);

function read32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

function hash(seq: number): number {
  return Math.imul(seq, -1640531535) >>> (32 - HASH_LOG);
}

export function lz4CompressBound(length: number): number {
  return length + Math.floor(length / 255) + 16;
}

export function lz4EncodeBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  const dst = new Uint8Array(lz4CompressBound(n));
  let op = 0;
  let anchor = 0;

  const emit = (litEnd: number, offset: number, matchLen: number): void => {
    const litLen = litEnd - anchor;
    const tokenPos = op++;
    let token: number;
    if (litLen >= 15) {
      token = 15 << 4;
      let l = litLen - 15;
      while (l >= 255) {
        dst[op++] = 255;
        l -= 255;
      }
      dst[op++] = l;
    } else {
      token = litLen << 4;
    }
    if (litLen > 16) {
      dst.set(src.subarray(anchor, litEnd), op);
      op += litLen;
    } else {
      for (let i = anchor; i < litEnd; i++) dst[op++] = src[i];
    }
    if (matchLen > 0) {
      dst[op++] = offset & 0xff;
      dst[op++] = offset >>> 8;
      const ml = matchLen - MIN_MATCH;
      if (ml >= 15) {
        token |= 15;
        let l = ml - 15;
        while (l >= 255) {
          dst[op++] = 255;
          l -= 255;
        }
        dst[op++] = l;
      } else {
        token |= ml;
      }
    }
    dst[tokenPos] = token;
  };

  if (n > MF_LIMIT) {
    const matchLimit = n - LAST_LITERALS;
    const mfLimit = n - MF_LIMIT;
    let ip = 0;
    table[hash(read32(src, 0))] = 0;
    ip = 1;
    while (ip < mfLimit) {
      const seq = read32(src, ip);
      const h = hash(seq);
      let ref = table[h];
      table[h] = ip;
      if (ref < ip && ip - ref <= MAX_OFFSET && read32(src, ref) === seq) {
        while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
          ip--;
          ref--;
        }
        let len = MIN_MATCH;
        while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
        emit(ip, ip - ref, len);
        ip += len;
        anchor = ip;
        if (ip < mfLimit) table[hash(read32(src, ip - 2))] = ip - 2;
      } else {
        // Skip faster through data that does not match (LZ4's acceleration heuristic).
        ip += 1 + ((ip - anchor) >> 6);
      }
    }
  }
  emit(n, 0, 0);
  return dst.slice(0, op);
}

function fail(message: string, offset: number, expected: string): never {
  throw new CompressError("CODEC_ERROR", `lz4: ${message}`, offset, expected);
}

export function lz4DecodeBlock(src: Uint8Array, rawLength: number): Uint8Array {
  const out = new Uint8Array(rawLength);
  const n = src.length;
  let ip = 0;
  let op = 0;
  for (;;) {
    if (ip >= n) fail("block ends before its last literals", ip, "a sequence token");
    const token = src[ip++];
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (ip >= n) fail("literal length runs past the end", ip, "a length byte");
        b = src[ip++];
        litLen += b;
      } while (b === 255 && litLen <= rawLength);
    }
    if (op + litLen > rawLength) fail(`literals overflow the ${rawLength}-byte output`, ip, "fewer literals");
    if (ip + litLen > n) fail("literals run past the end of the block", ip, `${litLen} literal bytes`);
    if (litLen > 16) {
      out.set(src.subarray(ip, ip + litLen), op);
      op += litLen;
      ip += litLen;
    } else {
      for (let i = 0; i < litLen; i++) out[op++] = src[ip++];
    }
    if (ip === n) break;
    if (ip + 2 > n) fail("match offset cut off", ip, "a 2-byte offset");
    const offset = src[ip] | (src[ip + 1] << 8);
    if (offset === 0 || offset > op) fail(`match offset ${offset} points before the output`, ip, `1..${op}`);
    ip += 2;
    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (ip >= n) fail("match length runs past the end", ip, "a length byte");
        b = src[ip++];
        matchLen += b;
      } while (b === 255 && matchLen <= rawLength);
    }
    matchLen += MIN_MATCH;
    if (op + matchLen > rawLength)
      fail(`match overflows the ${rawLength}-byte output`, ip, "a shorter match");
    let from = op - offset;
    if (offset >= matchLen && matchLen > 32) {
      out.copyWithin(op, from, from + matchLen);
      op += matchLen;
    } else {
      // Overlapping copies repeat the last `offset` bytes, so they must go byte by byte.
      const end = op + matchLen;
      while (op < end) out[op++] = out[from++];
    }
  }
  if (op !== rawLength) fail(`block decodes to ${op} bytes`, ip, `${rawLength} bytes`);
  return out;
}

export const lz4Codec: Codec = {
  id: CODEC_IDS.lz4,
  name: "lz4",
  defaultLevel: 0,
  encode: (raw) => lz4EncodeBlock(raw),
  decode: (stored, rawLength) => lz4DecodeBlock(stored, rawLength),
};
