import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ImageError } from "../src/errors.js";
import { NodeBlockFile } from "../src/node/index.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-closed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("NodeBlockFile after close", () => {
  it("a read or write names the file, the offset and that it was closed (not Node's fd -1 error)", () => {
    const p = join(tmp, "f.bin");
    writeFileSync(p, new Uint8Array(4096).fill(7));
    const f = new NodeBlockFile(p, true);
    expect(f.read(100, 4)).toEqual(new Uint8Array([7, 7, 7, 7]));
    f.close();
    const read = (() => {
      try {
        f.read(133352, 4);
      } catch (e) {
        return e;
      }
    })() as ImageError;
    expect(read).toBeInstanceOf(ImageError);
    expect(read.message).toBe(
      `${p}: read of 4 bytes at offset 133352 after the file was closed (expected it open while it is in use)`,
    );
    expect(() => f.write(0, new Uint8Array(1))).toThrow(
      /write of 1 bytes at offset 0 after the file was closed/,
    );
    f.close(); // closing twice is harmless
  });
});
