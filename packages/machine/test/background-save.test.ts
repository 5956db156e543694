import {
  copyFileSync,
  fdatasyncSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointError, initCheckpoint } from "@amber/checkpoint";
import {
  type BackgroundIo,
  openCheckpoint,
  startCheckpointFile,
  writeCheckpointFile,
} from "@amber/checkpoint/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine } from "../src/index.js";
import { bootGuest } from "./boot-guest.js";
import { finish } from "./end-state.js";

const tmp = mkdtempSync(join(tmpdir(), "amber-background-save-"));
beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Background fdatasyncs held until `release()`: the test, not the clock, says when the disk is done. */
function heldSyncs(): { io: Partial<BackgroundIo>; release: () => void } {
  const queue: (() => void)[] = [];
  return {
    io: {
      fdatasync: (fd) =>
        new Promise<void>((resolve) =>
          queue.push(() => {
            fdatasyncSync(fd);
            resolve();
          }),
        ),
    },
    release: () => {
      for (const go of queue.splice(0)) go();
    },
  };
}

/** Whether `p` has settled, without waiting for it. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

/** A synchronous save of `m` now into `file` (the baseline moves to it). */
function saveNow(m: Machine, file: string, parent?: string): string {
  const reader = parent === undefined ? undefined : openCheckpoint(parent);
  const save = m.beginSave(undefined, { parent: reader, parentHint: parent?.split("/").pop() });
  try {
    const w = writeCheckpointFile(file, save.input);
    save.committed(w);
    return w.digest;
  } finally {
    save.end();
    reader?.close();
  }
}

describe("saving in the background", () => {
  it("the guest runs while the image is made durable; full and incremental images equal the saves made stopped at the same instants; they resume the same", async () => {
    const name = "bench-short";
    const straight = (() => {
      const g = bootGuest(name);
      return finish(g.machine, g.io, g.machine.run());
    })();
    const [n, during, after] = [
      Math.floor(straight.steps / 4),
      Math.floor(straight.steps / 8),
      Math.floor(straight.steps / 8),
    ];
    const refDir = join(tmp, "ref");
    const bgDir = join(tmp, "bg");
    mkdirSync(refDir);
    mkdirSync(bgDir);

    // The reference: saves made with the machine stopped, at instructions n and n+during+after.
    const ref = bootGuest(name);
    ref.machine.run(n);
    const refFull = saveNow(ref.machine, join(refDir, "a.ambc"));
    ref.machine.run(during + after);
    const refInc = saveNow(ref.machine, join(refDir, "b.ambc"), join(refDir, "a.ambc"));

    // The same instants, each image written in the background while the guest runs on.
    const g = bootGuest(name);
    g.machine.run(n);
    const held = heldSyncs();
    const save = g.machine.beginSave();
    const pending = startCheckpointFile(join(bgDir, "a.ambc"), save.input, { io: held.io });
    expect(pending.result.digest).toBe(refFull);
    // In flight (its fdatasync is held): the guest runs on, and a second save must wait.
    expect(g.machine.run(during).kind).toBe("budget");
    // ...and writes RAM meanwhile: pages the next save must hold although this one was not done.
    expect(g.machine.ram.changedSince(save.epoch).length).toBeGreaterThan(0);
    expect(await settled(pending.durable)).toBe(false);
    expect(() => g.machine.beginSave()).toThrow(/already in progress/);
    // Released (and any sync started on the way, released as it comes): durable, committed.
    const releasing = setInterval(held.release, 0);
    save.committed(await pending.durable);
    clearInterval(releasing);
    g.machine.run(after);
    // Back to back: the incremental save on it holds the pages written since its instant,
    // those written while it was in flight included.
    const parent = openCheckpoint(join(bgDir, "a.ambc"));
    const inc = g.machine.beginSave(undefined, { parent, parentHint: "a.ambc" });
    expect(inc.mode).toBe("dirty");
    const pendingInc = startCheckpointFile(join(bgDir, "b.ambc"), inc.input);
    inc.committed(await pendingInc.durable);
    parent.close();
    expect(pendingInc.result.digest).toBe(refInc);
    expect(openCheckpoint(join(bgDir, "b.ambc")).digest).toBe(refInc);

    // The background run itself ends as a straight run, and so does the chain restored.
    expect(finish(g.machine, g.io, { kind: "budget" })).toEqual(straight);
    const io = new CapturedIo();
    const restored = Machine.fromCheckpoint(openCheckpoint(join(bgDir, "b.ambc")), { io });
    expect(restored.hart.steps).toBe(n + during + after);
    const end = finish(restored, io, restored.run());
    expect(end.steps).toBe(straight.steps);
    expect(end.outcome).toEqual(straight.outcome);
    expect(straight.stdout.endsWith(io.stdoutText)).toBe(true);
  }, 60_000);

  it("a save failing in the background leaves the previous image and the machine's baseline: the next incremental save is still right", async () => {
    const dir = join(tmp, "fail");
    mkdirSync(dir);
    const g = bootGuest("strings");
    g.machine.run(3000);
    const base = join(dir, "base.ambc");
    const baseDigest = saveNow(g.machine, base);
    const before = readFileSync(base);
    g.machine.run(2000);

    // The disk fails at the background fdatasync: the save fails, the image there stays.
    const parent = openCheckpoint(base);
    const save = g.machine.beginSave(undefined, { parent, parentHint: "base.ambc" });
    const eio = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
    const pending = startCheckpointFile(base.replace("base", "next"), save.input, {
      io: { fdatasync: () => Promise.reject(eio) },
    });
    g.machine.run(1000);
    const err = await pending.durable.then(
      () => undefined,
      (e: unknown) => e,
    );
    save.end();
    parent.close();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(`${join(dir, "next.ambc")}: writing: EIO: i/o error, fdatasync`);
    expect(readFileSync(base).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(["base.ambc"]);
    expect(g.machine.baselineDigest).toBe(baseDigest);

    // Saved again on the same parent: every page written since base, those of the failed
    // save's window included, as a machine that never tried gives.
    const again = saveNow(g.machine, join(dir, "next.ambc"), base);
    const ref = bootGuest("strings");
    ref.machine.run(3000);
    saveNow(ref.machine, join(dir, "ref-base.ambc"));
    ref.machine.run(3000);
    const refDir = join(dir, "ref");
    mkdirSync(refDir);
    // The same parent hint ("base.ambc") as the image it is compared with.
    copyFileSync(join(dir, "ref-base.ambc"), join(refDir, "base.ambc"));
    expect(saveNow(ref.machine, join(refDir, "next.ambc"), join(refDir, "base.ambc"))).toBe(again);
  }, 60_000);
});
