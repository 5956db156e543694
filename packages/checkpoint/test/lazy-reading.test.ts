import { MemoryBlockFile } from "@amber/image";
import { beforeAll, expect, test } from "vitest";
import { CheckpointReader, initCheckpoint, writeCheckpoint } from "../src/index.js";
import { baseInput, CountingFile, PAGE, pageOf, SparseRam, sameBytes } from "./support/helpers.js";

beforeAll(() => initCheckpoint());

test("opening a 1 GiB sparse image reads only its header and tables; a page costs one block", () => {
  const size = 1 << 30;
  const ram = new SparseRam(size);
  for (let i = 0; i < 2048; i++) ram.write(i * 97, pageOf(i)); // 8 MiB touched, spread over 1 GiB
  const f = new MemoryBlockFile(new Uint8Array(0), "big.ambc");
  writeCheckpoint(f, baseInput(ram));
  const file = new CountingFile(new MemoryBlockFile(f.contents(), "big.ambc", false));
  const r = CheckpointReader.open(file);
  const header = r.header.headerLength;
  expect(file.bytesRead).toBeLessThan(header + 1024);
  const afterOpen = file.bytesRead;
  const seg = r.segment("ram");
  expect(seg.pageCount).toBe(size / PAGE);
  expect(sameBytes(seg.readPage(97 * 1000), pageOf(1000))).toBe(true);
  // First touch: page map + the framed index + one block (≤ 128 KiB of records before compression).
  expect(file.bytesRead - afterOpen).toBeLessThan(200 * 1024);
  expect(file.bytesRead).toBeLessThan(f.size() / 10);
  const before = file.bytesRead;
  expect(seg.readPage(5).every((b) => b === 0)).toBe(true); // never written: no read at all
  expect(file.bytesRead).toBe(before);
});

test("opening reads the header in one go; the sections come with one read, each still checked by its hash", () => {
  const ram = new SparseRam(1 << 20);
  ram.write(3, pageOf(3));
  const sections = Array.from({ length: 6 }, (_, i) => ({
    name: `dev${i}`,
    version: 1,
    fields: { n: i, bytes: new Uint8Array(100 + i).fill(i) },
  }));
  const f = new MemoryBlockFile(new Uint8Array(0), "s.ambc");
  writeCheckpoint(f, baseInput(ram, { sections }));
  const image = f.contents();
  const file = new CountingFile(new MemoryBlockFile(image, "s.ambc", false));
  const r = CheckpointReader.open(file);
  expect(file.reads).toBe(2); // header, tables
  for (const s of sections) expect(r.section(s.name).fields).toEqual(s.fields);
  expect(file.reads).toBe(3); // and the sections, once

  // A section damaged in the file is refused when asked for, naming its offset; the others read.
  const entry = r.sectionEntries.find((e) => e.name === "dev4")!;
  const damaged = image.slice();
  damaged[entry.offset + 10]! ^= 1;
  const d = CheckpointReader.open(new MemoryBlockFile(damaged, "d.ambc", false));
  expect(d.section("dev3").fields).toEqual(sections[3]!.fields);
  expect(() => d.section("dev4")).toThrow(
    expect.objectContaining({ code: "CHECKSUM_MISMATCH", offset: entry.offset }),
  );
});
