import { beforeAll, describe, expect, it } from "vitest";
import { FramedReader, FramedWriter, initCodecs } from "../src/index.js";
import { expectBytes } from "./support/expect-bytes.js";
import { noise } from "./support/noise.js";
import { reseal } from "./support/reseal.js";

beforeAll(() => initCodecs());

const PAGE = 1024;
/** In blocks of 1–2 pages (the smallest the writer makes): 600 blocks, three windows of index entries. */
const PAGES = 1200;
const pages = Array.from({ length: PAGES }, (_, n) => noise(PAGE, n + 1));

function image(): Uint8Array {
  const writer = new FramedWriter({ pageSize: PAGE, codec: "none", blockBytes: PAGE });
  for (const p of pages) writer.addPage(p);
  return writer.finish();
}

/** Index entry i of `file`: where it lies, the first page of its block and how many. */
function entry(file: Uint8Array, i: number): { at: number; firstPage: number; count: number } {
  const view = new DataView(file.buffer, file.byteOffset);
  const footer = file.length - 40;
  const blocks = view.getUint32(footer + 8, true);
  expect(blocks).toBeGreaterThan(512);
  const at = footer - blocks * 40 + (i < 0 ? blocks + i : i) * 40;
  return { at, firstPage: view.getUint32(at + 16, true), count: view.getUint32(at + 20, true) };
}

describe("a framed image's index is checked where it is used", () => {
  it("reads every page as written", () => {
    const r = FramedReader.open(image());
    for (const n of [0, 599, 1199, 1, 1198]) expectBytes(r.readPage(n), pages[n]!);
    expect(r.index).toHaveLength(r.blockCount);
    expect(r.blockCount).toBeGreaterThan(512);
  });

  it("an entry that does not follow the one before it (checksums right) is refused where it is used", () => {
    const file = image();
    const { at, firstPage } = entry(file, 400);
    const sameWindow = entry(file, 450).firstPage;
    // Block 400 claims to start one page later; the index's checksum is resealed.
    new DataView(file.buffer).setUint32(at + 16, firstPage + 1, true);
    const r = FramedReader.open(reseal(file)); // the ends are right: it opens
    expectBytes(r.readPage(10), pages[10]!); // a page whose window is sound reads
    const bad = expect.objectContaining({ code: "CORRUPT", offset: at + 16 });
    expect(() => r.readPage(firstPage)).toThrow(bad);
    expect(() => r.readPage(sameWindow)).toThrow(bad); // a block of the same window
    // Everything at once (verify, compaction) meets it too.
    expect(() => FramedReader.open(reseal(file)).index).toThrow(bad);
  });

  it("a search led astray by a damaged first page never returns another page's bytes", () => {
    const file = image();
    const { at, firstPage } = entry(file, 300);
    // Block 300 says it starts at page 0: a binary search can land wrong.
    new DataView(file.buffer).setUint32(at + 16, 0, true);
    const r = FramedReader.open(reseal(file));
    let refused = 0;
    for (const n of [0, firstPage - 20, firstPage - 1, firstPage, firstPage + 2, firstPage + 20, 1000]) {
      let page: Uint8Array | undefined;
      try {
        page = r.readPage(n);
      } catch (e) {
        expect(e).toMatchObject({ code: "CORRUPT" });
        refused++;
        continue;
      }
      expectBytes(page, pages[n]!);
    }
    expect(refused).toBeGreaterThan(0);
  });

  it("an index whose last block does not end at the index is refused at open", () => {
    const file = image();
    const { at, count } = entry(file, -1);
    new DataView(file.buffer).setUint32(at + 20, count + 1, true); // the last block claims one page more
    expect(() => FramedReader.open(reseal(file))).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });
});
