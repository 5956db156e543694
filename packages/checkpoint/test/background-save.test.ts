import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CheckpointError, initCheckpoint } from "../src/index.js";
import {
  type BackgroundIo,
  openCheckpoint,
  startCheckpointFile,
  writeCheckpointFile,
} from "../src/node/index.js";
import { baseInput, pageOf, SparseRam } from "./support/helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-ckpt-background-"));
beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 3 MiB of pages: more than one staging buffer, so the image is several background writes. */
function ram(seed: number): SparseRam {
  const r = new SparseRam(1024 * 4096);
  for (let i = 0; i < 768; i++) r.write(i, pageOf(i * seed + 1));
  return r;
}

const noTemps = (): string[] => readdirSync(tmp).filter((n) => n.startsWith("."));

/** Background writes held until `release()`: the test decides when the OS "finishes" them. */
function heldWrites(): { io: Partial<BackgroundIo>; held: () => number; release: () => void } {
  const queue: (() => void)[] = [];
  const real = (fd: number, bytes: Uint8Array, at: number) =>
    new Promise<void>((resolve, reject) => {
      try {
        // Synchronous here (the test's own stand-in for the thread pool).
        writeSync(fd, bytes, 0, bytes.length, at);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  return {
    io: {
      write: (fd, bytes, at) =>
        new Promise<void>((resolve, reject) => queue.push(() => real(fd, bytes, at).then(resolve, reject))),
    },
    held: () => queue.length,
    release: () => {
      for (const go of queue.splice(0)) go();
    },
  };
}

test("the background save writes the same file as the synchronous one, durable once `durable` resolves", async () => {
  const sync = join(tmp, "sync.ambc");
  const bg = join(tmp, "bg.ambc");
  const want = writeCheckpointFile(sync, baseInput(ram(3)));
  const pending = startCheckpointFile(bg, baseInput(ram(3)));
  // Encoded now: the digest is known before anything is durable; the target is not there yet.
  expect(pending.result.digest).toBe(want.digest);
  expect(existsSync(bg)).toBe(false);
  const done = await pending.durable;
  expect(done.digest).toBe(want.digest);
  expect(readFileSync(bg).equals(readFileSync(sync))).toBe(true);
  expect(openCheckpoint(bg).digest).toBe(want.digest);
  expect(noTemps()).toEqual([]);
});

test("the image reads correctly before its writes are done (open() sees the bytes on their way)", async () => {
  const target = join(tmp, "early.ambc");
  const r = ram(5);
  const writes = heldWrites();
  const pending = startCheckpointFile(target, baseInput(r), { io: writes.io });
  expect(writes.held()).toBeGreaterThan(1);
  const reader = pending.open({ withoutParent: true });
  expect(reader.digest).toBe(pending.result.digest);
  expect(reader.name).toBe(target);
  const seg = reader.findSegment("ram")!;
  for (const i of [0, 1, 400, 767]) expect(seg.readPage(i)).toEqual(r.read(i));
  writes.release();
  await pending.durable;
  // Still the same image after the rename (the reader holds its own descriptor).
  expect(seg.readPage(766)).toEqual(r.read(766));
  reader.close();
});

test("a write failing midway (a full disk) rejects `durable` with one line naming the image, the previous image intact", async () => {
  const target = join(tmp, "full.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(7)));
  const before = readFileSync(target);
  let calls = 0;
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  const pending = startCheckpointFile(target, baseInput(ram(8)), {
    io: {
      write: (fd, bytes, at) => {
        calls++;
        if (calls === 2) return Promise.reject(enospc);
        writeSync(fd, bytes, 0, bytes.length, at);
        return Promise.resolve();
      },
    },
  });
  const err = await pending.durable.then(
    () => undefined,
    (e: unknown) => e as CheckpointError,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  expect(err?.code).toBe("NO_SPACE");
  expect(err?.message).toBe(`${target}: no space left on device while writing`);
  expect(readFileSync(target).equals(before)).toBe(true);
  expect(openCheckpoint(target).digest).toBe(first.digest);
  expect(noTemps()).toEqual([]);
});

test("a failing fdatasync or rename (a read-only file system) leaves the previous image and no temporary file", async () => {
  const target = join(tmp, "ro.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(9)));
  const erofs = () => Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" });
  for (const io of [
    { fdatasync: () => Promise.reject(erofs()) },
    { rename: () => Promise.reject(erofs()) },
  ] satisfies Partial<BackgroundIo>[]) {
    const pending = startCheckpointFile(target, baseInput(ram(10)), { io });
    const err = await pending.durable.then(
      () => undefined,
      (e: unknown) => e as CheckpointError,
    );
    expect(err?.code).toBe("IO_ERROR");
    expect(err?.message.startsWith(`${target}: `)).toBe(true);
    expect(err?.message).toContain("read-only file system");
    expect(err?.message).not.toContain("\n");
    expect(openCheckpoint(target).digest).toBe(first.digest);
    expect(noTemps()).toEqual([]);
  }
});

test("a directory that cannot be written is refused at once, before anything is encoded", () => {
  const target = join(tmp, "no-such-dir", "x.ambc");
  expect(() => startCheckpointFile(target, baseInput(ram(2)))).toThrow(
    `${target}: cannot write in ${join(tmp, "no-such-dir")}: no such file or directory`,
  );
  let read = 0;
  const input = baseInput(ram(2));
  const counted = {
    ...input,
    segments: [
      {
        name: "ram",
        base: 0,
        size: 4096 * 4,
        pages: {
          pages: () => [0],
          readPage: () => {
            read++;
            return pageOf(1);
          },
        },
      },
    ],
  };
  expect(() => startCheckpointFile(target, counted)).toThrow(CheckpointError);
  expect(read).toBe(0);
});
