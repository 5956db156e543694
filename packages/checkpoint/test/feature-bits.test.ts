import { beforeAll, expect, test } from "vitest";
import { CheckpointReader, initCheckpoint, writeCheckpoint } from "../src/index.js";
import { resealHeader } from "./fixtures/make-fixtures.js";
import { baseInput, memFile, newFile, pageOf, SparseRam } from "./support/helpers.js";

beforeAll(() => initCheckpoint());

function image(features = {}) {
  const ram = new SparseRam(8 * 4096);
  ram.write(1, pageOf(1));
  const f = newFile();
  writeCheckpoint(f, baseInput(ram, { features }));
  return f.contents().slice();
}

test("unknown compatible and autoclear bits are ignored; autoclear bits are not in the digest", () => {
  const plain = CheckpointReader.open(memFile(image()));
  const r = CheckpointReader.open(memFile(image({ compatible: 1 << 20, autoclear: 1 << 5 })));
  expect(r.header.compatibleFeatures).toBe(1 << 20);
  expect(r.header.autoclearFeatures).toBe(1 << 5);
  expect(r.digest).not.toBe(plain.digest); // compatible bits are content
  expect(CheckpointReader.open(memFile(image({ autoclear: 1 << 5 }))).digest).toBe(plain.digest);
});

test("an unknown incompatible bit is refused, naming the bit and the creator", () => {
  const b = image();
  new DataView(b.buffer).setUint32(12, 1 << 12, true);
  resealHeader(b);
  expect(() => CheckpointReader.open(memFile(b, "x.ambc"))).toThrow(
    /x.ambc: unknown incompatible feature bits 0x1000 \(written by amber-test 0.0.0-test\) \(at offset 12; expected only bits 0x3\)/,
  );
  expect(() =>
    writeCheckpoint(newFile(), baseInput(new SparseRam(4096), { features: { incompatible: 1 << 12 } })),
  ).toThrow(/INVALID|unknown incompatible/);
});
