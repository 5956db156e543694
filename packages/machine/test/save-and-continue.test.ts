import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine, type RunOutcome } from "../src/index.js";
import { bootGuest } from "./boot-guest.js";
import { finish } from "./end-state.js";

beforeAll(() => initCheckpoint());

/** Image of `m` as it is now, written with the machine stopped. */
function saveStopped(m: Machine): { file: MemoryBlockFile; digest: string } {
  const file = new MemoryBlockFile();
  return { file, digest: writeCheckpoint(file, m.checkpointInput()).digest };
}

/**
 * Image of `m` as it is now, written while it runs on: `slice` steps after every `every`
 * pages. Returns the image, the outcome of the last slice run, and how many pages were copied.
 */
function saveRunning(
  m: Machine,
  every: number,
  slice: number,
): { file: MemoryBlockFile; digest: string; outcome: RunOutcome; copied: number; ranDuring: number } {
  const file = new MemoryBlockFile();
  const at = m.hart.steps;
  let outcome: RunOutcome = { kind: "budget" };
  const save = m.beginSave(undefined, {
    every,
    between: () => {
      if (outcome.kind === "budget") outcome = m.run(slice);
    },
  });
  try {
    const { digest } = writeCheckpoint(file, save.input);
    return { file, digest, outcome, copied: save.copiedPages(), ranDuring: m.hart.steps - at };
  } finally {
    save.end();
  }
}

describe("save and continue", () => {
  for (const name of ["bench-short", "strings"]) {
    it(`${name}: an image saved while the guest runs on is the image saved stopped`, () => {
      const a = bootGuest(name);
      const straight = finish(a.machine, a.io, a.machine.run());
      const total = straight.steps;
      let copied = 0;
      for (const n of [1, Math.floor(total / 3), Math.floor(total / 2), total - 10]) {
        const stopped = bootGuest(name);
        stopped.machine.run(n);
        const imageA = saveStopped(stopped.machine);

        const running = bootGuest(name);
        running.machine.run(n);
        const b = saveRunning(running.machine, 1, 500);
        expect(b.ranDuring, `${name} at ${n}: the guest ran during the write`).toBeGreaterThan(0);
        expect(b.digest, `${name} at ${n}`).toBe(imageA.digest);
        copied += b.copied;

        // The run that saved ends as a straight run.
        expect(finish(running.machine, running.io, b.outcome), `${name} at ${n}`).toEqual(straight);

        // The image restores into a machine that ends as a straight run.
        const io = new CapturedIo();
        const restored = Machine.fromCheckpoint(CheckpointReader.open(b.file), { io });
        const after = finish(restored, io, restored.run());
        expect({ ...after, stdout: stopped.io.stdoutText + io.stdoutText }, `${name} at ${n}`).toEqual(
          straight,
        );
      }
      // Pages did change while the images were written, so copy-on-write was exercised.
      expect(copied).toBeGreaterThan(0);
    }, 30_000);
  }

  it("a lazily restored machine saved while running on gives the image saved stopped", () => {
    const a = bootGuest("strings");
    a.machine.run(2000);
    const first = CheckpointReader.open(saveStopped(a.machine).file);
    const stoppedReader = CheckpointReader.open(saveStopped(a.machine).file);
    const stopped = Machine.fromCheckpoint(stoppedReader, { io: new CapturedIo() });
    stopped.run(1000);
    const running = Machine.fromCheckpoint(first, { io: new CapturedIo() });
    running.run(1000);
    const b = saveRunning(running, 1, 300);
    expect(b.ranDuring).toBeGreaterThan(0);
    expect(b.digest).toBe(saveStopped(stopped).digest);
  });
});
