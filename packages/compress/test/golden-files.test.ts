import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { CompressError, decodeBlock, FramedReader, initCodecs } from "../src/index.js";
import { buildFixtures } from "./fixtures/make-fixtures.js";
import { expectBytes } from "./support/expect-bytes.js";
import { sampleBase, samplePages } from "./support/sample-image.js";

const dir = fileURLToPath(new URL("./fixtures/", import.meta.url));

beforeAll(async () => {
  await initCodecs();
  if (process.env.AMBER_UPDATE_FIXTURES) {
    for (const f of buildFixtures()) writeFileSync(dir + f.name, f.bytes);
  }
});

function readFixture(bytes: Uint8Array): Uint8Array[] {
  if (bytes[3] === 0x4b) return [decodeBlock(bytes)]; // "AMBK": a codec block
  const reader = FramedReader.open(bytes, { basePage: sampleBase });
  return Array.from({ length: reader.pageCount }, (_, n) => reader.readPage(n));
}

const files = readdirSync(dir).filter((f) => f.startsWith("pass-") || f.startsWith("fail-"));

describe("golden files", () => {
  it("every fixture the generator makes is committed", () => {
    expect(files.sort()).toEqual(
      buildFixtures()
        .map((f) => f.name)
        .sort(),
    );
  });

  it.each(files.filter((f) => f.startsWith("pass-") && f.endsWith(".ambp")))(
    "%s decodes to the sample pages",
    (name) => {
      const pages = readFixture(new Uint8Array(readFileSync(dir + name)));
      const expected = samplePages();
      expect(pages).toHaveLength(expected.length);
      for (const [n, p] of pages.entries()) expectBytes(p, expected[n]);
    },
  );

  it.each(["pass-lz4.ambp", "pass-none.ambp", "pass-block-lz4.ambk"])(
    "the writer still produces %s byte for byte",
    (name) => {
      const built = buildFixtures().find((f) => f.name === name)!;
      expectBytes(built.bytes, new Uint8Array(readFileSync(dir + name)));
    },
  );

  it.each(files.filter((f) => f.startsWith("fail-")))("%s fails with its typed error", (name) => {
    const expected = buildFixtures().find((f) => f.name === name)!.expect;
    let error: unknown;
    try {
      readFixture(new Uint8Array(readFileSync(dir + name)));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CompressError);
    expect((error as CompressError).code).toBe(expected);
    expect((error as CompressError).offset).toBeTypeOf("number");
  });
});
