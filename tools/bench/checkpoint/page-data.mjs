// Page contents for the checkpoint benchmarks: what a running system's RAM holds.

const PAGE = 4096;

/** Instruction words the machine-code-like pages are made of (one array, not one per word). */
const VOCABULARY = [0x00000513, 0x00a12023, 0xfe010113, 0x00008067, 0x0000006f, 0x01c12083];

/** A touched page, deterministic from `n`: machine-code-like, text-like or random words. */
export function makePage(n, out = new Uint8Array(PAGE)) {
  let x = (n * 2654435761) >>> 0 || 1;
  const kind = n % 8;
  for (let i = 0; i < PAGE; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (kind < 4) {
      // instruction-like words from a small vocabulary
      const w = VOCABULARY[x % 6] ^ ((x >>> 20) & 0xf80);
      out[i] = w;
      out[i + 1] = w >>> 8;
      out[i + 2] = w >>> 16;
      out[i + 3] = w >>> 24;
    } else if (kind < 7) {
      for (let k = 0; k < 4; k++) out[i + k] = 97 + ((x >>> (k * 5)) % 26);
    } else {
      out[i] = x;
      out[i + 1] = x >>> 8;
      out[i + 2] = x >>> 16;
      out[i + 3] = x >>> 24;
    }
  }
  return out;
}
