import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { randomUnit } from "../../../tools/test-support/prng.mjs";
import { CapturedIo, Machine, MachineError, type MachineSave, type RunOutcome } from "../src/index.js";
import { bootGuest } from "./boot-guest.js";
import { endState } from "./end-state.js";

const RAM = 128 << 20;

beforeAll(() => initCheckpoint());

interface Saved {
  reader: CheckpointReader;
  digest: string;
  save: MachineSave;
  outcome: RunOutcome;
  stored: number;
}

/**
 * Saves `m` into memory (incremental on `parent` if given), running the guest on `slice`
 * steps after every `every` pages when `slice` > 0; commits the image as the new baseline.
 */
function saveTo(m: Machine, parent: CheckpointReader | undefined, slice = 0, every = 1): Saved {
  const file = new MemoryBlockFile();
  let outcome: RunOutcome = { kind: "budget" };
  const save = m.beginSave(undefined, {
    parent,
    every,
    between:
      slice > 0
        ? () => {
            if (outcome.kind === "budget") outcome = m.run(slice);
          }
        : undefined,
  });
  let result: ReturnType<typeof writeCheckpoint>;
  try {
    result = writeCheckpoint(file, save.input);
    save.committed(result);
  } finally {
    save.end();
  }
  const reader = CheckpointReader.open(file, { parent });
  return { reader, digest: result.digest, save, outcome, stored: result.stats.storedPages };
}

/** Every RAM page of an image (through its chain), as one comparable list. */
function pagesOf(r: CheckpointReader): Map<number, string> {
  const seg = r.segment("ram");
  const out = new Map<number, string>();
  for (const p of seg.presentPages()) {
    const bytes = seg.readPage(p);
    if (bytes.every((b) => b === 0)) continue;
    out.set(p, Buffer.from(bytes).toString("base64"));
  }
  return out;
}

describe("incremental saves driven by dirty epochs", () => {
  for (const name of ["strings", "bench-short", "priv-paging", "priv-interrupts"]) {
    it(`${name}: resume A → save B on A (running on) → resume B → save C on B ends as a straight run`, () => {
      const a0 = bootGuest(name);
      const straight = endState(a0.machine, "", a0.machine.run());
      straight.stdout = a0.io.stdoutText;
      const total = straight.steps;
      const [n1, n2, n3] = [Math.floor(total / 5), Math.floor(total / 2), Math.floor((total * 4) / 5)];

      // A: a full image of a booted machine at n1.
      const first = bootGuest(name);
      first.machine.run(n1);
      const A = saveTo(first.machine, undefined);
      expect(A.save.mode).toBe("full");
      expect(first.machine.baselineDigest).toBe(A.digest);
      let stdout = first.io.stdoutText;

      // Resume A, run to n2, save B incremental on A while the guest runs on.
      const ioA = new CapturedIo();
      const fromA = Machine.fromCheckpoint(A.reader, { io: ioA });
      expect(fromA.baselineDigest).toBe(A.digest);
      fromA.run(n2 - n1);
      const stdoutAtB = stdout + ioA.stdoutText;
      const stepsAtB = fromA.hart.steps;
      const B = saveTo(fromA, A.reader, 300);
      expect(B.save.mode).toBe("dirty");
      expect(B.reader.parentDigest).toBe(A.digest);
      expect(fromA.baselineDigest).toBe(B.digest);
      expect(Number(B.reader.header.instructionCount)).toBe(stepsAtB);
      // The machine that saved ends as the straight run.
      const goOn = B.outcome.kind === "budget" ? fromA.run() : B.outcome;
      expect(endState(fromA, stdout + ioA.stdoutText, goOn), `${name}: the run that saved B`).toEqual(
        straight,
      );

      // B holds the same RAM as a full image saved at the same instant, in fewer pages.
      const ref = bootGuest(name);
      ref.machine.run(n2);
      const fullB = saveTo(ref.machine, undefined);
      expect(pagesOf(B.reader)).toEqual(pagesOf(fullB.reader));
      expect(B.stored).toBeLessThan(fullB.stored);

      // Resume B, run to n3, save C on B (dirty again, its baseline being B), resume C.
      const ioB = new CapturedIo();
      const fromB = Machine.fromCheckpoint(B.reader, { io: ioB });
      fromB.run(n3 - n2);
      stdout = stdoutAtB + ioB.stdoutText;
      const C = saveTo(fromB, B.reader, 200, 2);
      expect(C.save.mode).toBe("dirty");
      expect(C.reader.chain).toHaveLength(3);
      const ioC = new CapturedIo();
      const fromC = Machine.fromCheckpoint(C.reader, { io: ioC });
      const outC = fromC.run();
      expect(endState(fromC, stdout + ioC.stdoutText, outC), `${name}: resumed from C`).toEqual(straight);

      // And B resumed straight to the end.
      const ioB2 = new CapturedIo();
      const fromB2 = Machine.fromCheckpoint(B.reader, { io: ioB2 });
      const outB = fromB2.run();
      expect(endState(fromB2, stdoutAtB + ioB2.stdoutText, outB), `${name}: resumed from B`).toEqual(
        straight,
      );
    }, 60_000);
  }

  it("a dirty save gives the same image running on or stopped, with page copies or from the parent's file", () => {
    const first = bootGuest("bench-short");
    first.machine.run(200_000);
    const A = saveTo(first.machine, undefined);
    const digests = new Set<string>();
    for (const [slice, baselineBytes] of [
      [0, undefined],
      [500, undefined],
      [0, 0],
      [500, 0],
      [500, 3 * 4096],
    ] as const) {
      const m = Machine.fromCheckpoint(A.reader, { io: new CapturedIo(), baselineBytes });
      m.run(300_000);
      const s = saveTo(m, A.reader, slice);
      expect(s.save.mode).toBe("dirty");
      if (slice > 0) expect(m.hart.steps).toBeGreaterThan(500_000);
      digests.add(s.digest);
    }
    expect(digests.size).toBe(1);
  });

  it("a booted machine's first save becomes its baseline; later saves on it store only what changed", () => {
    const { machine } = bootGuest("strings");
    expect(machine.baselineDigest).toBeUndefined();
    machine.run(2000);
    // Without a baseline every page holding data is dirty.
    expect(machine.dirtyPages()).toBe(machine.ram.allocatedPages);
    const A = saveTo(machine, undefined);
    expect(machine.dirtyPages()).toBe(0);
    machine.ram.write(0x10_0000, 4, 0x1234_5678);
    machine.ram.write(0x10_0000 + 4096 * 7, 1, 0xaa);
    machine.ram.write(0x10_0000 + 4, 4, 1);
    expect(machine.dirtyPages()).toBe(2);
    const B = saveTo(machine, A.reader);
    expect(B.save.mode).toBe("dirty");
    expect(B.save.pagesWritten()).toBe(2);
    expect(B.stored).toBe(2);
    // Nothing written since B: an incremental save on B stores no page.
    const C = saveTo(machine, B.reader);
    expect(C.stored).toBe(0);
    expect(pagesOf(C.reader)).toEqual(pagesOf(saveTo(machine, undefined).reader));
  });

  it("a parent that is not the baseline is compared page by page, and the result is the same state", () => {
    const one = bootGuest("strings");
    one.machine.run(1500);
    const A = saveTo(one.machine, undefined);
    const two = bootGuest("strings");
    two.machine.run(4000);
    // `two` never saw A: its baseline is undefined, so the pages are compared.
    const B = saveTo(two.machine, A.reader, 100);
    expect(B.save.mode).toBe("compare");
    expect(B.reader.parentDigest).toBe(A.digest);
    const ref = bootGuest("strings");
    ref.machine.run(4000);
    expect(pagesOf(B.reader)).toEqual(pagesOf(saveTo(ref.machine, undefined).reader));
    // The same state saved on A by a machine whose baseline is A (dirty pages): the same image.
    const fromA = Machine.fromCheckpoint(A.reader, { io: new CapturedIo() });
    fromA.run(4000 - 1500);
    const dirty = saveTo(fromA, A.reader, 100);
    expect(dirty.save.mode).toBe("dirty");
    expect(dirty.digest).toBe(B.digest);
    // After committing B, `two`'s baseline is B: the next save on B is a dirty one.
    two.machine.run(100);
    expect(saveTo(two.machine, B.reader).save.mode).toBe("dirty");
  });

  it("end() without committed keeps the old baseline; one save at a time; a foreign parent is refused", () => {
    const { machine } = bootGuest("strings");
    machine.run(1000);
    const A = saveTo(machine, undefined);
    machine.ram.write(0x20_0000, 4, 1);
    const abandoned = machine.beginSave(undefined, { parent: A.reader });
    expect(() => machine.beginSave()).toThrow(MachineError);
    abandoned.end();
    abandoned.end();
    expect(() => abandoned.committed("00")).toThrow(/after it ended/);
    expect(machine.baselineDigest).toBe(A.digest);
    machine.ram.write(0x30_0000, 4, 2);
    // Pages written before and after the abandoned save's instant are both stored.
    const B = saveTo(machine, A.reader);
    expect(B.save.mode).toBe("dirty");
    expect(B.stored).toBeGreaterThanOrEqual(2);
    expect(B.reader.segment("ram").readPage(0x20_0000 / 4096)[0]).toBe(1);
    expect(B.reader.segment("ram").readPage(0x30_0000 / 4096)[0]).toBe(2);

    const other = new Machine({ ramSize: RAM / 2 });
    expect(() => other.beginSave(undefined, { parent: A.reader })).toThrow(/cannot be the parent/);
  });
});

describe("incremental saves under random writes, saves and restores", () => {
  /** Numbers in [0, 1) from the project's one PRNG. */
  const rng = randomUnit;
  const SIZE = 48 * 4096;

  it("every image holds RAM exactly as at its save instant, whatever the mode and what ran meanwhile", () => {
    let saves = 0;
    const modes = new Set<string>();
    for (let seed = 1; seed <= 25; seed++) {
      const random = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const budget = (): number | undefined => pick([undefined, 0, 2 * 4096]);
      const scribble = (m: Machine, n: number): void => {
        for (let k = 0; k < n; k++) {
          const at = Math.floor(random() * (SIZE - 8));
          const what = random();
          if (what < 0.2)
            m.ram.writeBytes(at & ~4095, new Uint8Array(4096)); // back to zero
          else if (what < 0.3)
            m.ram.write(at, 4, m.ram.read(at, 4)); // the same value again
          else m.ram.write(at, pick([1, 2, 4] as const), Math.floor(random() * 2 ** 32));
        }
      };
      let m = new Machine({ ramSize: SIZE, baselineBytes: budget() });
      const images: { reader: CheckpointReader; ram: Uint8Array }[] = [];
      for (let step = 0; step < 30; step++) {
        const op = random();
        if (op < 0.45) scribble(m, 1 + Math.floor(random() * 6));
        else if (op < 0.85) {
          const baseline = images.find((i) => i.reader.digest === m.baselineDigest);
          const parent =
            images.length === 0
              ? undefined
              : pick([undefined, baseline?.reader, baseline?.reader, pick(images).reader]);
          const ram = m.ram.readBytes(0, SIZE);
          const save = m.beginSave(undefined, {
            parent,
            every: 1 + Math.floor(random() * 3),
            between: random() < 0.7 ? () => scribble(m, 1 + Math.floor(random() * 3)) : undefined,
          });
          modes.add(save.mode);
          const file = new MemoryBlockFile();
          const result = writeCheckpoint(file, save.input);
          if (random() < 0.8) save.committed(result);
          else save.end();
          const reader = CheckpointReader.open(file, { parent });
          const held = reader.segment("ram").read(0, SIZE);
          expect(Buffer.compare(held, ram), `seed ${seed} step ${step} (${save.mode})`).toBe(0);
          images.push({ reader, ram });
          saves++;
        } else if (images.length > 0) {
          const image = pick(images);
          m = Machine.fromCheckpoint(image.reader, { baselineBytes: budget() });
          const held = m.ram.readBytes(0, SIZE);
          expect(Buffer.compare(held, image.ram), `seed ${seed} step ${step}: restored`).toBe(0);
        }
      }
    }
    expect(saves).toBeGreaterThan(200);
    expect([...modes].sort()).toEqual(["compare", "dirty", "full"]);
  }, 60_000);
});
