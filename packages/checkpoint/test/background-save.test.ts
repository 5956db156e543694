import { existsSync, fdatasyncSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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

/** 3 MiB of pages. */
function ram(seed: number): SparseRam {
  const r = new SparseRam(1024 * 4096);
  for (let i = 0; i < 768; i++) r.write(i, pageOf(i * seed + 1));
  return r;
}

const noTemps = (): string[] => readdirSync(tmp).filter((n) => n.startsWith("."));

/**
 * Background fdatasyncs held until `release()`: the test, not the clock, says when the disk
 * is done. `requested` resolves at the first one asked for.
 */
function heldSyncs(): {
  io: Partial<BackgroundIo>;
  held: () => number;
  requested: Promise<void>;
  release: () => void;
} {
  const queue: (() => void)[] = [];
  let asked: () => void = () => {};
  const requested = new Promise<void>((resolve) => {
    asked = resolve;
  });
  return {
    io: {
      fdatasync: (fd) =>
        new Promise<void>((resolve) => {
          queue.push(() => {
            fdatasyncSync(fd);
            resolve();
          });
          asked();
        }),
    },
    held: () => queue.length,
    requested,
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

test("the image reads correctly before it is durable; the target appears only once it is", async () => {
  const target = join(tmp, "early.ambc");
  const r = ram(5);
  const syncs = heldSyncs();
  const pending = startCheckpointFile(target, baseInput(r), { io: syncs.io });
  const reader = pending.open({ withoutParent: true });
  expect(reader.digest).toBe(pending.result.digest);
  expect(reader.name).toBe(target);
  const seg = reader.findSegment("ram")!;
  for (const i of [0, 1, 400, 767]) expect(seg.readPage(i)).toEqual(r.read(i));
  // Held at the fdatasync: not renamed yet, whatever the time.
  await syncs.requested;
  expect(syncs.held()).toBe(1);
  expect(existsSync(target)).toBe(false);
  syncs.release();
  await pending.durable;
  expect(existsSync(target)).toBe(true);
  // Still the same image after the rename (the reader holds its own descriptor).
  expect(seg.readPage(766)).toEqual(r.read(766));
  reader.close();
});

test("a gathered image is written only after the pause: a full disk then rejects `durable` with one line; the previous image intact", async () => {
  const target = join(tmp, "full-gathered.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(7)));
  const before = readFileSync(target);
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  let writes = 0;
  const pending = startCheckpointFile(target, baseInput(ram(8)), {
    io: {
      write: () => {
        writes++;
        return Promise.reject(enospc);
      },
    },
  });
  // Encoded: the bytes are written only once the caller runs on (the thread pool writes them).
  expect(writes).toBe(0);
  const err = await pending.durable.then(
    () => undefined,
    (e: unknown) => e as CheckpointError,
  );
  expect(writes).toBe(1);
  expect(err).toBeInstanceOf(CheckpointError);
  expect(err?.code).toBe("NO_SPACE");
  expect(err?.message).toBe(`${target}: no space left on device while writing`);
  expect(readFileSync(target).equals(before)).toBe(true);
  expect(openCheckpoint(target).digest).toBe(first.digest);
  expect(noTemps()).toEqual([]);
});

test("an image streamed as it is encoded (too big to gather): a write failing midway (a full disk) is one line naming the image, thrown at once; the previous image intact", () => {
  const target = join(tmp, "full.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(7)));
  const before = readFileSync(target);
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  let written = 0;
  const err = (() => {
    try {
      startCheckpointFile(target, baseInput(ram(8)), {
        gather: 64 * 1024,
        wrapFile: (f) => ({
          name: f.name,
          writable: true,
          size: () => f.size(),
          read: (o, l) => f.read(o, l),
          write: (o, d) => {
            written += d.length;
            if (written > 100_000) throw enospc;
            f.write(o, d);
          },
          sync: () => f.sync?.(),
          close: () => f.close(),
        }),
      });
    } catch (e) {
      return e as CheckpointError;
    }
  })();
  expect(err).toBeInstanceOf(CheckpointError);
  expect(err?.code).toBe("NO_SPACE");
  expect(err?.message).toBe(`${target}: no space left on device while writing`);
  expect(readFileSync(target).equals(before)).toBe(true);
  expect(openCheckpoint(target).digest).toBe(first.digest);
  expect(noTemps()).toEqual([]);
});

test("a disk failing in the background (EIO at the fdatasync) rejects `durable` with one line; the previous image intact", async () => {
  const target = join(tmp, "eio.ambc");
  const first = writeCheckpointFile(target, baseInput(ram(7)));
  const eio = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
  const pending = startCheckpointFile(target, baseInput(ram(8)), {
    io: { fdatasync: () => Promise.reject(eio) },
  });
  const err = await pending.durable.then(
    () => undefined,
    (e: unknown) => e as CheckpointError,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  expect(err?.code).toBe("IO_ERROR");
  expect(err?.message.startsWith(`${target}: writing: `)).toBe(true);
  expect(err?.message).not.toContain("\n");
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

test("two saves of one name started at once both complete; the one renamed last is in place", async () => {
  const target = join(tmp, "twice.ambc");
  const a = startCheckpointFile(target, baseInput(ram(11)));
  const b = startCheckpointFile(target, baseInput(ram(12)));
  const [da, db] = await Promise.all([a.durable, b.durable]);
  expect([da.digest, db.digest]).toContain(openCheckpoint(target).digest);
  expect(noTemps()).toEqual([]);
});
