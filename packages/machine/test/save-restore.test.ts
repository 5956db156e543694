import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { randomUnit } from "../../../tools/test-support/prng.mjs";
import { CapturedIo, Machine, MachineError } from "../src/index.js";
import { bootGuest } from "./boot-guest.js";
import { endState } from "./end-state.js";

const GUESTS = ["hello", "traps", "strings", "priv-interrupts", "priv-paging", "bench-short", "atomics"];
const RAM = 128 << 20;

beforeAll(() => initCheckpoint());

/** Numbers in [0, 1) from the project's one PRNG. */
const rng = randomUnit;

function save(m: Machine): { file: MemoryBlockFile; digest: string } {
  const file = new MemoryBlockFile();
  const { digest } = writeCheckpoint(file, m.checkpointInput());
  return { file, digest };
}

describe("save and restore", () => {
  for (const [g, name] of GUESTS.entries()) {
    it(`${name}: a restored run ends exactly as a straight one`, () => {
      const a = bootGuest(name);
      const straight = endState(a.machine, "", a.machine.run());
      straight.stdout = a.io.stdoutText;
      const total = straight.steps;
      expect(total).toBeGreaterThan(0);
      const random = rng(1000 + g);
      const points = [
        1,
        Math.floor(total / 2),
        ...[0, 1, 2].map(() => 1 + Math.floor(random() * (total - 1))),
      ];
      for (const n of points) {
        const b = bootGuest(name);
        b.machine.run(n);
        expect(b.machine.hart.steps).toBe(n);
        const { file } = save(b.machine);
        const reader = CheckpointReader.open(file);
        const io = new CapturedIo();
        const restored = Machine.fromCheckpoint(reader, { io });
        const outcome = restored.run();
        const after = endState(restored, b.io.stdoutText + io.stdoutText, outcome);
        expect(after, `${name} saved at ${n}`).toEqual(straight);
      }
    });
  }

  it("restores into the plain interpreter just as well", () => {
    const a = bootGuest("priv-interrupts", false);
    const outcome = a.machine.run();
    const b = bootGuest("priv-interrupts");
    b.machine.run(5000);
    const restored = Machine.fromCheckpoint(CheckpointReader.open(save(b.machine).file), {
      io: new CapturedIo(),
      jit: false,
    });
    expect(restored.run()).toEqual(outcome);
    expect(restored.hart.steps).toBe(a.machine.hart.steps);
  });

  it("saving the same state twice gives the same digest; a restored machine saves the same image", () => {
    const one = bootGuest("strings");
    one.machine.run(3000);
    const two = bootGuest("strings");
    two.machine.run(3000);
    const d1 = save(one.machine).digest;
    expect(save(two.machine).digest).toBe(d1);
    expect(save(one.machine).digest).toBe(d1);
    // An untouched restored machine holds the same state, though its pages are still in the image.
    const restored = Machine.fromCheckpoint(CheckpointReader.open(save(one.machine).file));
    expect(save(restored).digest).toBe(d1);
    // A different instant is a different image.
    one.machine.run(1);
    expect(save(one.machine).digest).not.toBe(d1);
  });

  it("reads RAM lazily: only the pages the guest touches", () => {
    const { machine } = bootGuest("hello");
    // Make RAM big in data: 512 pages written that the guest never looks at.
    for (let i = 0; i < 512; i++) machine.ram.write(0x80_0000 + i * 4096, 4, i + 1);
    machine.run(200);
    const reader = CheckpointReader.open(save(machine).file);
    const segment = reader.segment("ram");
    // RAM reads each page through a view it copies at once (SegmentReader.pageView).
    const readPage = vi.spyOn(segment, "pageView");
    const restored = Machine.fromCheckpoint(reader, { io: new CapturedIo() });
    expect(readPage).not.toHaveBeenCalled();
    expect(restored.run()).toEqual({ kind: "exited", code: 0 });
    expect(readPage.mock.calls.length).toBeGreaterThan(0);
    expect(readPage.mock.calls.length).toBeLessThan(32);
    expect(restored.ram.read(0x80_0000 + 7 * 4096, 4)).toBe(8);
  });

  it("saves a machine with a virtio disk, but refuses one whose disk writes into its file", () => {
    const disk = { size: 4096, read: (_o: number, l: number) => new Uint8Array(l), write: () => {} };
    const m = new Machine({ ramSize: RAM, disks: [disk] });
    expect([...m.checkpointInput().sections].map((s) => s.name)).toContain("virtio0");
    const rw = new Machine({ ramSize: RAM, disks: [{ backend: disk, writesThrough: true }] });
    expect(() => rw.checkpointInput()).toThrow(MachineError);
    expect(() => rw.checkpointInput()).toThrow(/writes into its file/);
  });

  it("refuses an image of another board", () => {
    const { machine } = bootGuest("hello");
    const input = { ...machine.checkpointInput(), machine: "x86" };
    const file = new MemoryBlockFile();
    writeCheckpoint(file, input);
    expect(() => Machine.fromCheckpoint(CheckpointReader.open(file))).toThrow(/not of this board/);
  });
});
