import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type CheckpointInput,
  CheckpointReader,
  type FieldRecord,
  initCheckpoint,
  MemoryBlockFile,
  writeCheckpoint,
} from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine, MachineError } from "../src/index.js";

// Images whose sections were edited and written again with consistent checksums: the
// checkpoint layer accepts them, the machine must refuse every value the hart and the
// devices cannot hold, naming the section and the field, before anything runs.
const LISP = readFileSync(fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url)));

beforeAll(() => initCheckpoint());

let saved: CheckpointInput;
beforeAll(() => {
  const m = new Machine({ io: new CapturedIo("(define x 42)\n") });
  m.loadElf(LISP);
  m.run(400_000);
  saved = m.checkpointInput();
});

/** The saved image with one section's fields changed by `edit`, written afresh (checksums right). */
function edited(section: string, edit: (f: FieldRecord) => void): CheckpointReader {
  const sections = [...saved.sections].map((s) => {
    if (s.name !== section) return s;
    const fields = structuredClone(s.fields) as FieldRecord;
    edit(fields);
    return { ...s, fields };
  });
  const file = new MemoryBlockFile();
  writeCheckpoint(file, { ...saved, sections });
  return CheckpointReader.open(file);
}

function refusal(reader: CheckpointReader): string {
  try {
    Machine.fromCheckpoint(reader);
  } catch (e) {
    expect(e).toBeInstanceOf(MachineError);
    expect((e as MachineError).code).toBe("CHECKPOINT_INVALID");
    return (e as Error).message;
  }
  throw new Error("the edited image was accepted");
}

describe("machine state restored from an image is validated", () => {
  it("accepts the image as saved, and it runs on", () => {
    const file = new MemoryBlockFile();
    writeCheckpoint(file, saved);
    const m = Machine.fromCheckpoint(CheckpointReader.open(file), { io: new CapturedIo("(exit 3)\n") });
    expect(m.run()).toEqual({ kind: "exited", code: 3 });
  });

  it.each<[string, string, (f: FieldRecord) => void, RegExp]>([
    [
      "hart0",
      "pc",
      (f) => {
        f.pc = 1;
      },
      /^memory: hart0: section field "pc" is 1: not 2-byte aligned/,
    ],
    [
      "hart0",
      "pc",
      (f) => {
        f.pc = 2 ** 40;
      },
      /hart0: section field "pc" is 0x10000000000: not an integer in/,
    ],
    [
      "hart0",
      "priv",
      (f) => {
        f.priv = 2;
      },
      /hart0: section field "priv" is 2: not a privilege level/,
    ],
    [
      "hart0",
      "steps",
      (f) => {
        f.steps = -5;
      },
      /hart0: section field "steps" is -5/,
    ],
    [
      "hart0",
      "steps",
      (f) => {
        f.steps = 0.5;
      },
      /hart0: section field "steps" is 0\.5/,
    ],
    [
      "hart0",
      "x",
      (f) => {
        (f.x as Int32Array)[0] = 7;
      },
      /hart0: section field "x\[0\]" is 7: x0 is always 0/,
    ],
    [
      "csr0",
      "mstatus",
      (f) => {
        f.mstatus = 0x1000;
      },
      /csr0: section field "mstatus" has MPP = 2/,
    ],
    [
      "csr0",
      "mstatus",
      (f) => {
        f.mstatus = 0x8000_0000;
      },
      /csr0: section field "mstatus" is 0x80000000: bits outside/,
    ],
    [
      "csr0",
      "mtvec",
      (f) => {
        f.mtvec = 0x8000_0002;
      },
      /csr0: section field "mtvec" is 0x80000002/,
    ],
    [
      "csr0",
      "mepc",
      (f) => {
        f.mepc = 0x8000_0001;
      },
      /csr0: section field "mepc" is 0x80000001: not 2-byte aligned/,
    ],
    [
      "csr0",
      "hartId",
      (f) => {
        f.hartId = 3;
      },
      /csr0: section field "hartId" is 3/,
    ],
    [
      "machine",
      "ramSize",
      (f) => {
        f.ramSize = 5000;
      },
      /machine: section field "ramSize" is 0x1388: not a multiple of 4 KiB/,
    ],
    [
      "clint",
      "msip",
      (f) => {
        f.msip = 2;
      },
      /clint: section field "msip" is 2/,
    ],
    [
      "plic",
      "priority",
      (f) => {
        (f.priority as Uint32Array)[10] = 99;
      },
      /plic: section field "priority\[10\]" is 99: above 7/,
    ],
    [
      "uart0",
      "ier",
      (f) => {
        f.ier = 0x80;
      },
      /uart0: section field "ier" is 128/,
    ],
    [
      "uart0",
      "rx",
      (f) => {
        f.rx = new Uint8Array(17);
      },
      /uart0: section field "rx" holds 17 bytes/,
    ],
    [
      "semihosting",
      "handles",
      (f) => {
        f.handles = [{ id: 1, kind: "socket", pos: 0 }];
      },
      /semihosting\.handles\[0\]: section field "kind" is "socket": not a handle kind/,
    ],
  ])("refuses %s.%s out of what the machine can hold", (section, _field, edit, message) => {
    const text = refusal(edited(section, edit));
    expect(text).toMatch(message);
    expect(text).not.toMatch(/\n/);
  });
});

describe("sections written by an older version read with defaults", () => {
  it("a semihosting section of version 1 (before cmdlineRead) reads as having read its command line", () => {
    const sections = [...saved.sections].map((s) => {
      if (s.name !== "semihosting") return s;
      const fields = structuredClone(s.fields) as FieldRecord;
      delete fields.cmdlineRead;
      return { ...s, version: 1, minVersion: 1, fields };
    });
    const file = new MemoryBlockFile();
    writeCheckpoint(file, { ...saved, sections });
    const old = Machine.fromCheckpoint(CheckpointReader.open(file));
    expect(old.commandLineRead).toBe(true);
    // A world saved now keeps what the guest did: the Lisp never asks for its command line.
    const now = new MemoryBlockFile();
    writeCheckpoint(now, saved);
    expect(Machine.fromCheckpoint(CheckpointReader.open(now)).commandLineRead).toBe(false);
  });
});
