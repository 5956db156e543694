import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { encodeSectionFields } from "../src/fields.js";
import {
  CheckpointReader,
  type FieldRecord,
  initCheckpoint,
  recordFromJson,
  recordToJson,
  typed,
  writeCheckpoint,
} from "../src/index.js";
import { baseInput, expectBytes, memFile, newFile, pageOf, SparseRam, sameBytes } from "./support/helpers.js";

beforeAll(() => initCheckpoint());

const fieldValue = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: -0x80000000, max: -1 }),
  fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 63n), max: -1n }),
  fc.boolean(),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }),
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 16 }).map((a) => Uint32Array.from(a)),
  fc
    .array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { maxLength: 16 })
    .map((a) => Int32Array.from(a)),
  fc
    .array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 8 })
    .map((a) => BigUint64Array.from(a)),
  fc.array(fc.double(), { maxLength: 8 }).map((a) => Float64Array.from(a)),
);
const fieldName = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== "__proto__");
const record: fc.Arbitrary<FieldRecord> = fc.letrec((tie) => ({
  rec: fc.dictionary(
    fieldName,
    fc.oneof({ depthSize: "small" }, fieldValue, tie("rec"), fc.array(tie("rec"), { maxLength: 2 })),
    {
      maxKeys: 6,
    },
  ),
})).rec as fc.Arbitrary<FieldRecord>;

describe("round trips", () => {
  test("sections with every field type read back by name with their values", () => {
    fc.assert(
      fc.property(record, (fields) => {
        const f = newFile();
        writeCheckpoint(
          f,
          baseInput(new SparseRam(4096), { sections: [{ name: "dev", version: 3, minVersion: 2, fields }] }),
        );
        const r = CheckpointReader.open(memFile(f.contents()));
        const s = r.section("dev");
        expect(s.version).toBe(3);
        expect(s.minVersion).toBe(2);
        expect(s.fields).toEqual(fields);
        // The typed form and its JSON form re-encode to the same bytes (lossless layouts).
        const typedFields = r.typedFields("dev");
        const again = recordFromJson(JSON.parse(JSON.stringify(recordToJson(typedFields))));
        expectBytes(encodeSectionFields(again), r.sectionBytes("dev"));
      }),
      { numRuns: 150 },
    );
  });

  test("random sparse pages read back exactly, missing pages read as the init byte", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
        fc.constantFrom(512, 4096, 8192),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom("zstd", "lz4", "none"),
        (indexes, pageSize, initByte, codec) => {
          const pages = [...indexes]
            .sort((a, b) => a - b)
            .map((index) => ({
              index,
              bytes:
                index % 5 === 0
                  ? new Uint8Array(pageSize).fill(index % 3 === 0 ? initByte : 7)
                  : pageOf(index, pageSize),
            }));
          const f = newFile();
          const res = writeCheckpoint(f, {
            ...baseInput(new SparseRam(0)),
            codec,
            segments: [{ name: "ram", base: 0x8000_0000n, size: 256 * pageSize, pageSize, initByte, pages }],
          });
          const r = CheckpointReader.open(memFile(f.contents()));
          expect(r.digest).toBe(res.digest);
          const seg = r.segment("ram");
          expect(seg.pageSize).toBe(pageSize);
          const byIndex = new Map(pages.map((p) => [p.index, p.bytes]));
          for (let p = 0; p < 256; p++) {
            const want = byIndex.get(p) ?? new Uint8Array(pageSize).fill(initByte);
            const got = seg.readPage(p);
            if (!sameBytes(got, want))
              throw new Error(`page ${p} differs: got ${got.slice(0, 8)} want ${want.slice(0, 8)}`);
          }
          // Pages equal to the init byte are not stored in a full image.
          for (const p of seg.storedPages()) expect(byIndex.get(p)!.every((b) => b === initByte)).toBe(false);
          r.verify();
        },
      ),
      { numRuns: 40 },
    );
  });

  test("header fields round-trip; the creation time is not part of the digest", () => {
    const ram = new SparseRam(1 << 16);
    ram.write(1, pageOf(1));
    const a = newFile();
    const b = newFile();
    const ra = writeCheckpoint(
      a,
      baseInput(ram, { createdAt: 1, flags: 0xdead, instructionCount: 2n ** 63n + 5n }),
    );
    const rb = writeCheckpoint(
      b,
      baseInput(ram, { createdAt: 2, flags: 0xdead, instructionCount: 2n ** 63n + 5n }),
    );
    expect(ra.digest).toBe(rb.digest);
    const r = CheckpointReader.open(memFile(a.contents()));
    expect(r.header).toMatchObject({
      formatVersion: 1,
      littleEndian: true,
      machine: "riscv32-virt",
      creatorName: "amber-test",
      creatorVersion: "0.0.0-test",
      createdAt: 1,
      flags: 0xdead,
      instructionCount: 2n ** 63n + 5n,
      dataSize: a.size() - r.header.headerLength,
    });
    expect(r.isIncremental).toBe(false);
    const c = newFile();
    expect(writeCheckpoint(c, baseInput(ram, { instructionCount: 1n })).digest).not.toBe(ra.digest);
  });

  test("explicit types are kept; misuse is refused with INVALID_ARGUMENT", () => {
    const f = newFile();
    writeCheckpoint(
      f,
      baseInput(new SparseRam(4096), {
        sections: [
          { name: "t", version: 1, fields: { a: typed.f64(2), b: typed.i32(5), c: typed.i64(-1n), d: 1.5 } },
        ],
      }),
    );
    const r = CheckpointReader.open(memFile(f.contents()));
    expect(r.typedFields("t")).toEqual({
      a: typed.f64(2),
      b: typed.i32(5),
      c: typed.i64(-1n),
      d: typed.f64(1.5),
    });
    const bad = (over: object) => () =>
      writeCheckpoint(newFile(), { ...baseInput(new SparseRam(8192)), ...over });
    expect(bad({ sections: [{ name: "x", version: 1, fields: { a: typed.u32(-1) } }] })).toThrow(
      /INVALID|not a valid u32/,
    );
    expect(
      bad({
        sections: [
          { name: "x", version: 1, fields: {} },
          { name: "x", version: 1, fields: {} },
        ],
      }),
    ).toThrow(/given twice/);
    expect(bad({ sections: [{ name: "x", version: 1, minVersion: 2, fields: {} }] })).toThrow(
      /minimum version/,
    );
    expect(
      bad({
        segments: [
          {
            name: "ram",
            base: 0,
            size: 8192,
            pages: [
              { index: 1, bytes: pageOf(1) },
              { index: 0, bytes: pageOf(0) },
            ],
          },
        ],
      }),
    ).toThrow(/out of order/);
    expect(bad({ segments: [{ name: "ram", base: 0, size: 8192, pageSize: 1000, pages: [] }] })).toThrow(
      /power of two/,
    );
  });
});
