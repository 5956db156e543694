import { readFileSync } from "node:fs";
import {
  CheckpointReader,
  type FieldRecord,
  initCheckpoint,
  MemoryBlockFile,
  writeCheckpoint,
} from "@amber/checkpoint";
import { TDATA1_RESET } from "@amber/isa";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine, MachineError } from "../src/index.js";
import { GUESTS } from "./boot-guest.js";

const ELF = readFileSync(`${GUESTS}triggers.elf`);
const EXPECTED = readFileSync(`${GUESTS}triggers.stdout`, "utf8");

beforeAll(() => initCheckpoint());

function image(
  m: Machine,
  edit?: (csr0: { version: number; fields: FieldRecord }) => void,
): CheckpointReader {
  const input = m.checkpointInput();
  const sections = [...input.sections].map((s) => {
    if (s.name !== "csr0" || edit === undefined) return s;
    const copy = { ...s, fields: structuredClone(s.fields) as FieldRecord };
    edit(copy);
    return copy;
  });
  const file = new MemoryBlockFile();
  writeCheckpoint(file, { ...input, sections });
  return CheckpointReader.open(file);
}

describe("debug triggers are machine state", () => {
  it("a world saved while the guest has triggers armed resumes with them, and prints what QEMU prints", () => {
    const io = new CapturedIo();
    const m = new Machine({ io });
    m.loadElf(ELF, "triggers.elf");
    // To the first instant a load/store trigger is armed (the guest's store tests).
    let steps = 0;
    while (!(m.hart.csr.triggers.dataArmed && m.hart.csr.triggers.select === 0)) {
      expect(m.run(1).kind).toBe("budget");
      if (++steps > 2_000_000) throw new Error("the guest never armed a trigger");
    }
    const armed = {
      select: m.hart.csr.triggers.select,
      tdata1: [...m.hart.csr.triggers.tdata1],
      tdata2: [...m.hart.csr.triggers.tdata2],
    };
    const reader = image(m);
    const before = io.stdoutText;
    const resumedIo = new CapturedIo();
    const resumed = Machine.fromCheckpoint(reader, { io: resumedIo });
    const t = resumed.hart.csr.triggers;
    expect({ select: t.select, tdata1: [...t.tdata1], tdata2: [...t.tdata2] }).toEqual(armed);
    expect(t.dataArmed).toBe(true);
    expect(resumed.run()).toEqual({ kind: "exited", code: 0 });
    expect(before + resumedIo.stdoutText).toBe(EXPECTED);
  });

  it("an image of csr0 version 1 (no trigger fields) restores the triggers as at reset", () => {
    const m = new Machine({ io: new CapturedIo() });
    m.loadElf(ELF, "triggers.elf");
    m.run(1000);
    const reader = image(m, (s) => {
      s.version = 1;
      delete s.fields.tselect;
      delete s.fields.tdata1;
      delete s.fields.tdata2;
    });
    const t = Machine.fromCheckpoint(reader).hart.csr.triggers;
    expect([t.select, ...t.tdata1, ...t.tdata2]).toEqual([0, TDATA1_RESET, TDATA1_RESET, 0, 0]);
  });

  it("refuses a tdata1 no write could produce, naming the field", () => {
    const m = new Machine({ io: new CapturedIo() });
    m.loadElf(ELF, "triggers.elf");
    const reader = image(m, (s) => {
      s.fields.tdata1 = Uint32Array.of(TDATA1_RESET, 0x2000_1044); // action 1: QEMU keeps action 0
    });
    expect(() => Machine.fromCheckpoint(reader)).toThrow(MachineError);
    expect(() => Machine.fromCheckpoint(reader)).toThrow(/csr0: section field "tdata1\[1\]" is 0x20001044/);
  });
});
