import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, expect, test } from "vitest";
import { ImageError } from "../src/index.js";
import { ioError, writeFileAtomic } from "../src/node/index.js";
import { tempDir } from "./support/qemu-img.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

test("a failed write (e.g. ENOSPC) leaves the original file intact and no temporary file behind", () => {
  const target = tmp.path("good.img");
  writeFileSync(target, "the good image");
  const enospc = Object.assign(new Error("no space"), { code: "ENOSPC" });
  expect(() =>
    writeFileAtomic(target, (f) => {
      f.write(0, new Uint8Array(1000));
      throw ioError(enospc, target, "writing");
    }),
  ).toThrow(
    expect.objectContaining({ code: "NO_SPACE", message: expect.stringMatching(/no space left on device/) }),
  );
  expect(readFileSync(target, "utf8")).toBe("the good image");
  expect(readdirSync(tmp.dir)).toEqual(["good.img"]);

  writeFileAtomic(target, (f) => f.write(0, new TextEncoder().encode("new")));
  expect(readFileSync(target, "utf8")).toBe("new");
  expect(existsSync(target)).toBe(true);
  expect(new ImageError("IO_ERROR", "x")).toBeInstanceOf(Error);
});
