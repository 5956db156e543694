import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { CheckpointReader, compactCheckpoint, initCheckpoint, MemoryBlockFile } from "../src/index.js";
import { makeFixtures } from "./fixtures/make-fixtures.js";
import { memFile, sameBytes } from "./support/helpers.js";

const DIR = join(import.meta.dirname, "fixtures");
const UART_SPEC = { name: "uart", version: 2, minVersion: 1, defaults: { fifoDepth: 16 } };

const MUST_FAIL: Record<string, string> = {
  "fail-bad-magic.ambc": "BAD_MAGIC",
  "fail-never-finished.ambc": "BAD_MAGIC",
  "fail-truncated.ambc": "TRUNCATED",
  "fail-header-checksum.ambc": "CHECKSUM_MISMATCH",
  "fail-unsupported-version.ambc": "UNSUPPORTED_VERSION",
  "fail-unsupported-feature.ambc": "UNSUPPORTED_FEATURE",
  "fail-absurd-section-count.ambc": "LIMIT_EXCEEDED",
  "fail-tables-outside.ambc": "CORRUPT",
  "fail-digest-mismatch.ambc": "CHECKSUM_MISMATCH",
  "fail-page-block-flipped.ambc": "CHECKSUM_MISMATCH",
  "fail-section-too-new.ambc": "SECTION_TOO_NEW",
};

/** Opens, reads every section with the current specs and verifies: the first error's code. */
function load(name: string): void {
  const r = CheckpointReader.open(memFile(readFileSync(join(DIR, name)), name), { sections: [UART_SPEC] });
  for (const n of r.sectionNames) r.section(n);
  r.verify();
}

beforeAll(async () => {
  await initCheckpoint();
  if (process.env.AMBER_UPDATE_FIXTURES) {
    for (const [name, bytes] of Object.entries(makeFixtures())) writeFileSync(join(DIR, name), bytes);
  }
});

describe("golden files", () => {
  test("the committed fixtures are what make-fixtures.ts writes (format unchanged)", () => {
    for (const [name, bytes] of Object.entries(makeFixtures())) {
      expect(sameBytes(new Uint8Array(readFileSync(join(DIR, name))), bytes), name).toBe(true);
    }
  });

  test.each(Object.entries(MUST_FAIL))("%s fails with %s, naming the file", (name, code) => {
    expect(() => load(name)).toThrow(expect.objectContaining({ code, file: name }));
  });

  test("a content-hashed image stored uncompressed loads, verifies and compacts to zstd with its digest", () => {
    const name = "content-hash-none.ambc";
    const r = CheckpointReader.open(memFile(readFileSync(join(DIR, name)), name), { sections: [UART_SPEC] });
    r.verify();
    const out = new MemoryBlockFile(new Uint8Array(0), "packed.ambc");
    expect(compactCheckpoint(r, out).digest).toBe(r.digest);
    const packed = CheckpointReader.open(out, { sections: [UART_SPEC] });
    packed.verify();
    expect(sameBytes(packed.segment("ram").read(0, 16 * 4096), r.segment("ram").read(0, 16 * 4096))).toBe(
      true,
    );
  });

  test("an image from an older section version loads, with the default for the new field", () => {
    const r = CheckpointReader.open(memFile(readFileSync(join(DIR, "uart-v1.ambc")), "uart-v1.ambc"), {
      sections: [UART_SPEC],
    });
    const uart = r.section("uart");
    expect(uart.version).toBe(1);
    expect(uart.fields).toEqual({ lsr: 0x60, ier: 0, fifoDepth: 16 });
    // An upgrade hook sees the old fields and the stored version.
    const up = r.section("uart", {
      ...UART_SPEC,
      upgrade: (f, from) => ({ ...f, fifoDepth: from === 1 ? 1 : 99 }),
    });
    expect(up.fields.fifoDepth).toBe(1);
    // A reader that dropped version 1 refuses it clearly.
    expect(() => r.section("uart", { name: "uart", version: 4, minVersion: 2 })).toThrow(
      expect.objectContaining({
        code: "SECTION_TOO_OLD",
        message: expect.stringContaining("written by amber 0.1.0-fixture"),
      }),
    );
    r.verify();
  });

  test("a newer incompatible section version is refused, naming both versions and the creator", () => {
    const r = CheckpointReader.open(
      memFile(readFileSync(join(DIR, "fail-section-too-new.ambc")), "new.ambc"),
    );
    expect(() => r.section("uart", UART_SPEC)).toThrow(
      /new.ambc: section "uart" is version 3 and needs a reader of version ≥ 3; this reader knows version 2 \(image written by amber 9.0.0\)/,
    );
    // Without a spec the fields are still readable by name.
    expect(r.section("uart").fields.fifoDepth).toBe(64);
  });

  test("a big-endian image (byte-swapped magic) reads the same as the little-endian one", () => {
    const le = CheckpointReader.open(memFile(readFileSync(join(DIR, "uart-v1.ambc")), "le"));
    const be = CheckpointReader.open(memFile(readFileSync(join(DIR, "big-endian.ambc")), "be"));
    expect(be.header.littleEndian).toBe(false);
    expect(be.header.instructionCount).toBe(4242n);
    expect(be.section("cpu0").fields).toEqual(le.section("cpu0").fields);
    expect(be.section("uart").fields).toEqual(le.section("uart").fields);
    for (let p = 0; p < 16; p++)
      expect(sameBytes(be.segment("ram").readPage(p), le.segment("ram").readPage(p))).toBe(true);
    be.verify();
  });
});
