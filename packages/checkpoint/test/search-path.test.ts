import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { initCheckpoint } from "../src/index.js";
import {
  convertCheckpoint,
  openCheckpoint,
  relocateCheckpoint,
  writeCheckpointFile,
} from "../src/node/index.js";
import { baseInput, pageOf, SparseRam } from "./support/helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-ckpt-search-"));
beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ram(): SparseRam {
  const r = new SparseRam(64 * 4096);
  for (let i = 0; i < 20; i++) r.write(i * 3, pageOf(i + 7));
  return r;
}

describe("the search path: where, not what (outside the digest)", () => {
  test("written, read back, and relocated in place under the same digest, in both layouts", () => {
    const file = join(tmp, "w.ambc");
    const { digest } = writeCheckpointFile(file, baseInput(ram(), { searchPath: ["disks", "/srv/images"] }));
    const plain = writeCheckpointFile(join(tmp, "plain.ambc"), baseInput(ram()));
    // The same content without a search path has the same digest.
    expect(plain.digest).toBe(digest);
    const r = openCheckpoint(file);
    expect(r.header.searchPath).toEqual(["disks", "/srv/images"]);
    r.close();

    expect(relocateCheckpoint(file, ["../moved", "/srv/images"])).toBe(digest);
    const after = openCheckpoint(file);
    expect(after.header.searchPath).toEqual(["../moved", "/srv/images"]);
    after.verify();
    after.close();
    expect(readdirSync(tmp).filter((n) => n.includes(".tmp-"))).toEqual([]);

    const dir = join(tmp, "w.d");
    expect(convertCheckpoint(file, dir, "directory")).toBe(digest);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { searchPath: string[] };
    expect(manifest.searchPath).toEqual(["../moved", "/srv/images"]);
    expect(relocateCheckpoint(dir, ["elsewhere"])).toBe(digest);
    const d = openCheckpoint(dir);
    expect(d.header.searchPath).toEqual(["elsewhere"]);
    d.close();
    // Back to a file: the list travels with the image.
    const back = join(tmp, "back.ambc");
    expect(convertCheckpoint(dir, back, "file")).toBe(digest);
    const b = openCheckpoint(back);
    expect(b.header.searchPath).toEqual(["elsewhere"]);
    b.close();
  });

  test("an image without a search path reads as an empty list (what every earlier image holds)", () => {
    const file = join(tmp, "none.ambc");
    writeCheckpointFile(file, baseInput(ram()));
    const r = openCheckpoint(file);
    expect(r.header.searchPath).toEqual([]);
    r.close();
  });

  test("an empty directory name or one holding a NUL is refused when writing", () => {
    expect(() => writeCheckpointFile(join(tmp, "bad.ambc"), baseInput(ram(), { searchPath: [""] }))).toThrow(
      /search path directory "" is empty/,
    );
  });
});
