import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine, Plic, SECTION_SPECS } from "../src/index.js";
import { copyDisk, DISK_IMG } from "./support/virtio-scenario.js";

beforeAll(async () => {
  await initCheckpoint();
});

const UART = 10;
const CLAIM = 0x200004;
const open = (bytes: Uint8Array, name: string) =>
  CheckpointReader.open(new MemoryBlockFile(bytes, name, false), { sections: SECTION_SPECS });
const plicEntry = (r: CheckpointReader) => r.sectionEntries.find((e) => e.name === "plic")!;

/** A PLIC whose context 0 has claimed source 10 while its line stays high. */
function claimedWithLineHigh(): Plic {
  const plic = new Plic(() => {});
  plic.write(4 * UART, 4, 1);
  plic.write(0x2000, 4, 1 << UART);
  plic.setLevel(UART, true);
  expect(plic.read(CLAIM, 4)).toBe(UART);
  return plic;
}

describe("the PLIC's saved state", () => {
  it("is section version 2 with minimum version 2: a version-1 reader would offer a source pending while claimed twice", () => {
    // An image main wrote before the latching gateway (its PLIC section is version 1).
    const old = open(
      new Uint8Array(readFileSync(join(import.meta.dirname, "fixtures/virtio-1835ad0.ambc"))),
      "old",
    );
    expect(plicEntry(old)).toMatchObject({ version: 1, minVersion: 1 });
    const m = Machine.fromCheckpoint(old, { io: new CapturedIo(), disks: [copyDisk(DISK_IMG)] });
    const file = new MemoryBlockFile(new Uint8Array(0), "now.ambc");
    const { size } = writeCheckpoint(file, m.checkpointInput());
    expect(plicEntry(open(file.read(0, size).slice(), "now"))).toMatchObject({ version: 2, minVersion: 2 });
  });

  it("of version 1 latches a claimed source whose line is high, so completing it offers it again as version 1 did", () => {
    const spec = SECTION_SPECS.find((s) => s.name === "plic")!;
    const saved = claimedWithLineHigh().saveState();
    expect([saved.pending[UART], saved.claimed[UART], saved.level[UART]]).toEqual([0, 1, 1]);

    const upgraded = new Plic(() => {});
    upgraded.loadState(spec.upgrade!({ ...saved }, 1) as unknown as typeof saved);
    upgraded.write(CLAIM, 4, UART);
    expect(upgraded.read(CLAIM, 4)).toBe(UART);

    // Version 2 keeps QEMU's rule: completion looks at no line; the device must report it again.
    const current = new Plic(() => {});
    current.loadState(spec.upgrade!({ ...saved }, 2) as unknown as typeof saved);
    current.write(CLAIM, 4, UART);
    expect(current.read(CLAIM, 4)).toBe(0);
    current.setLevel(UART, true);
    expect(current.read(CLAIM, 4)).toBe(UART);
  });
});
