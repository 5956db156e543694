import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlockFile } from "@amber/image";
import { NodeBlockFile } from "@amber/image/node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CheckpointError, initCheckpoint, writeCheckpoint } from "../src/index.js";
import {
  convertCheckpoint,
  openCheckpoint,
  removeStaleTemps,
  writeCheckpointFile,
} from "../src/node/index.js";
import { baseInput, pageOf, SparseRam } from "./support/helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-ckpt-atomic-"));
beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ram(seed: number): SparseRam {
  const r = new SparseRam(256 * 4096);
  for (let i = 0; i < 200; i++) r.write(i, pageOf(i * seed));
  return r;
}

/** A file whose writes fail after `limit` bytes, as a crash or a full disk would. */
function failingAfter(limit: number, error: () => Error) {
  return (f: BlockFile): BlockFile => {
    let written = 0;
    return {
      get name() {
        return f.name;
      },
      writable: true,
      size: () => f.size(),
      read: (o, l) => f.read(o, l),
      write: (o, d) => {
        written += d.length;
        if (written > limit) throw error();
        f.write(o, d);
      },
      sync: () => f.sync?.(),
      close: () => f.close(),
    };
  };
}

test("a save that dies midway leaves the previous image intact and loadable, and no temporary file", () => {
  const target = join(tmp, "a.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(1)));
  const before = readFileSync(target);
  for (const limit of [0, 100, 5000, 50_000]) {
    expect(() =>
      writeCheckpointFile(target, baseInput(ram(2)), {
        wrapFile: failingAfter(limit, () => new Error("killed")),
      }),
    ).toThrow("killed");
    expect(readFileSync(target).equals(before)).toBe(true);
    expect(openCheckpoint(target).digest).toBe(first.digest);
  }
  expect(readdirSync(tmp).filter((n) => n.startsWith("."))).toEqual([]);
  // A page source that throws is no different.
  expect(() =>
    writeCheckpointFile(target, {
      ...baseInput(ram(2)),
      segments: [
        {
          name: "ram",
          base: 0,
          size: 4096 * 8,
          pages: {
            pages: () => [0, 1],
            readPage: () => {
              throw new Error("guest fault");
            },
          },
        },
      ],
    }),
  ).toThrow("guest fault");
  expect(openCheckpoint(target).digest).toBe(first.digest);
});

test("a full disk is NO_SPACE naming the file, with the previous image intact", () => {
  const target = join(tmp, "b.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(3)));
  const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  expect(() =>
    writeCheckpointFile(target, baseInput(ram(4)), { wrapFile: failingAfter(10_000, enospc) }),
  ).toThrow(expect.objectContaining({ code: "NO_SPACE", file: target }));
  expect(openCheckpoint(target).digest).toBe(first.digest);
  // The real thing: /dev/full returns ENOSPC on every write.
  if (existsSync("/dev/full")) {
    const full = new NodeBlockFile("/dev/full", true);
    const err = (() => {
      try {
        writeCheckpoint(full, baseInput(ram(5)));
      } catch (e) {
        return e as CheckpointError;
      }
    })();
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err?.code).toBe("NO_SPACE");
    expect(err?.message).toMatch(/^\/dev\/full: no space left on device/);
    full.close();
  }
});

test("a save removes the temporary files killed saves of the same image left, and only those", () => {
  const target = join(tmp, "stale.ambc");
  const dead = join(tmp, ".stale.ambc.tmp-2147483646-abc"); // no such process
  const live = join(tmp, `.stale.ambc.tmp-${process.ppid}-abc`); // a running process
  const other = join(tmp, ".other.ambc.tmp-2147483646-abc"); // another image's
  for (const f of [dead, live, other]) writeFileSync(f, "partial");
  writeCheckpointFile(target, baseInput(ram(3)));
  expect(existsSync(dead)).toBe(false);
  expect(existsSync(live)).toBe(true);
  expect(existsSync(other)).toBe(true);
  for (const f of [live, other]) rmSync(f);
});

test("killed directory-layout writes (.NAME.tmp-* directories) are cleared by the next one; a set-aside old image is put back", () => {
  const src = join(tmp, "src.ambc");
  writeCheckpointFile(src, baseInput(ram(5)));
  const target = join(tmp, "dir.d");
  const dead = join(tmp, ".dir.d.tmp-2147483646-abc"); // a killed convert --layout dir
  mkdirSync(join(dead, "segments"), { recursive: true });
  writeFileSync(join(dead, "segments", "ram.ambp"), new Uint8Array(65536));
  const live = join(tmp, `.dir.d.tmp-${process.ppid}-abc`);
  mkdirSync(live);
  const digest = convertCheckpoint(src, target, "directory");
  expect(existsSync(dead)).toBe(false);
  expect(existsSync(live)).toBe(true);
  rmSync(live, { recursive: true });
  // Killed between the two renames of a replacement: the old image sits under .old-*.
  const old = join(tmp, ".dir.d.old-2147483646-abc");
  renameSync(target, old);
  removeStaleTemps(target);
  expect(existsSync(old)).toBe(false);
  expect(openCheckpoint(target).digest).toBe(digest);
});
