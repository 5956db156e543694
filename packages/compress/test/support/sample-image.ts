import { FramedWriter } from "../../src/index.js";
import { noise } from "./noise.js";

export const SAMPLE_PAGE_SIZE = 1024;

/** Base pages of the sample's parent image: page n's base, for the delta pages. */
export function sampleBase(n: number): Uint8Array | undefined {
  return n >= 8 ? noise(SAMPLE_PAGE_SIZE, 100 + n).map((b) => b & 0x3f) : undefined;
}

/** The pages of a small image holding every page kind: fill, raw, ref, delta and base. */
export function samplePages(): Uint8Array[] {
  const text = new Uint8Array(SAMPLE_PAGE_SIZE);
  for (let i = 0; i < text.length; i++) text[i] = "page records\n".charCodeAt(i % 13);
  const pages = [
    new Uint8Array(SAMPLE_PAGE_SIZE),
    new Uint8Array(SAMPLE_PAGE_SIZE),
    text,
    noise(SAMPLE_PAGE_SIZE, 3).map((b) => b & 0x1f),
    text.slice(),
    new Uint8Array(SAMPLE_PAGE_SIZE).fill(0xff),
    noise(SAMPLE_PAGE_SIZE, 6),
    text.slice(),
  ];
  for (let n = 8; n < 12; n++) {
    const page = sampleBase(n)!.slice();
    if (n !== 9) for (let k = 0; k < 5; k++) page[(n * 131 + k * 97) % SAMPLE_PAGE_SIZE] ^= 0x40 + k;
    pages.push(page);
  }
  return pages;
}

/** The sample as a framed image, in small blocks so the index has several entries. */
export function sampleImage(codec: string): Uint8Array {
  const writer = new FramedWriter({
    pageSize: SAMPLE_PAGE_SIZE,
    codec,
    blockBytes: 2048,
    basePage: sampleBase,
  });
  for (const page of samplePages()) writer.addPage(page);
  return writer.finish();
}
