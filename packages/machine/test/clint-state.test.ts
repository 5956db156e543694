import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine, SECTION_SPECS } from "../src/index.js";

beforeAll(async () => {
  await initCheckpoint();
});

const MTIME_HI = 0xbffc;
const MTIMECMP_HI = 0x4004;

function saveAndRestore(m: Machine): Machine {
  const file = new MemoryBlockFile(new Uint8Array(0), "clint.ambc");
  const { size } = writeCheckpoint(file, m.checkpointInput());
  const reader = CheckpointReader.open(new MemoryBlockFile(file.read(0, size).slice(), "clint.ambc", false), {
    sections: SECTION_SPECS,
  });
  return Machine.fromCheckpoint(reader, { io: new CapturedIo() });
}

describe("the CLINT's 64-bit registers", () => {
  it("saturate at 2^53 - 1, so a machine whose guest wrote a huge mtime still saves and restores", () => {
    const m = new Machine({ ramSize: 8 << 20, io: new CapturedIo() });
    m.clint.write(MTIME_HI, 4, 0x12345678); // QEMU keeps it; a JavaScript number cannot
    m.clint.write(MTIMECMP_HI, 4, 0xffffffff);
    expect(m.clint.read(MTIME_HI, 4)).toBe(0x001fffff);
    expect(m.clint.read(MTIMECMP_HI, 4)).toBe(0x001fffff);
    const r = saveAndRestore(m);
    expect(r.clint.read(MTIME_HI, 4)).toBe(0x001fffff);
    expect(r.clint.saveState()).toEqual(m.clint.saveState());
  });

  it("keep values below 2^53 exactly", () => {
    const m = new Machine({ ramSize: 8 << 20, io: new CapturedIo() });
    m.clint.write(MTIME_HI, 4, 0x1fffff);
    m.clint.write(MTIMECMP_HI, 4, 0x123456);
    const r = saveAndRestore(m);
    expect([r.clint.read(MTIME_HI, 4), r.clint.read(MTIMECMP_HI, 4)]).toEqual([0x1fffff, 0x123456]);
  });
});
