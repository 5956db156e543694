// The test data the image benchmarks share: a seeded generator and a disk-like file.
import { closeSync, openSync, writeSync } from "node:fs";

export function rng(seed) {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
export function fillPage(page, seed) {
  const r = rng(seed);
  for (let i = 0; i < page.length; i += 4) page[i] = (r() * 256) | 0;
  return page;
}

/** A 256 MiB disk-like file: 30% zero, 30% random, 25% text, 15% sparse small values. */
export function makeDisk(path, size) {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(64 * 1024);
  const r = rng(3);
  for (let at = 0; at < size; at += chunk.length) {
    const k = r();
    chunk.fill(0);
    if (k < 0.3) {
      // zero
    } else if (k < 0.6) for (let i = 0; i < chunk.length; i++) chunk[i] = (r() * 256) | 0;
    else if (k < 0.85) for (let i = 0; i < chunk.length; i++) chunk[i] = 0x61 + ((i * 7 + at) % 26);
    else for (let i = 0; i < chunk.length; i += 64) chunk[i] = i & 0xff;
    writeSync(fd, chunk, 0, chunk.length, at);
  }
  closeSync(fd);
}
