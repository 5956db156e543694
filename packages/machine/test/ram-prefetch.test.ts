import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CheckpointReader,
  initCheckpoint,
  isCheckpointError,
  CheckpointReader as Reader,
} from "@amber/checkpoint";
import { openCheckpoint, writeCheckpointFile } from "@amber/checkpoint/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Machine } from "../src/index.js";
import { STEPS_PER_PAGE } from "../src/ram-prefetch.js";
import { bootGuest } from "./boot-guest.js";
import { type EndState, endState } from "./end-state.js";
import { fullImage, resume } from "./resume-helpers.js";

// A lazily resumed machine compiling to WebAssembly loads the image's remaining pages between
// run slices, then drops RAM's page source so that compiled loads go straight to the memory
// (`ram.loadsDirect`). These tests hold it against an eager resume and the interpreter.

const PAGE = 4096;
const DATA = 0x600_0000; // RAM offset of data pages the guests never look at
const tmp = mkdtempSync(join(tmpdir(), "amber-ram-prefetch-"));

beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** bench-short with 64 data pages written, run `steps`, saved in memory. */
function savedBenchShort(steps: number): { open: () => CheckpointReader; before: string } {
  const a = bootGuest("bench-short");
  for (let i = 0; i < 64; i++) a.machine.ram.write(DATA + i * PAGE, 4, 0x1000 + i);
  expect(a.machine.run(steps).kind).toBe("budget");
  const file = fullImage(a.machine).file;
  return { open: () => Reader.open(file), before: a.io.stdoutText };
}

describe("RAM prefetch after a lazy resume", () => {
  it("loads every page the image holds, then loads go direct; the run equals an eager resume's and the interpreter's", () => {
    const { open, before } = savedBenchShort(29_000_000);
    const held = [...open().segment("ram").presentPages()].length;
    const lazy = resume(open(), "lazy");
    expect(lazy.machine.ram.loadsDirect).toBe(false);
    expect(lazy.machine.ram.allocatedPages).toBe(0);
    // A few pages now, as a host might while idle: not done yet, loads still checked.
    expect(lazy.machine.prefetchRam(8)).toBe(false);
    expect(lazy.machine.ram.allocatedPages).toBe(8);
    expect(lazy.machine.ram.loadsDirect).toBe(false);
    // The run loads the rest between its slices: one page per STEPS_PER_PAGE steps run.
    expect(lazy.machine.run(held * STEPS_PER_PAGE).kind).toBe("budget");
    expect(lazy.machine.ram.loadsDirect).toBe(true);
    expect(lazy.machine.prefetchRam()).toBe(true);
    expect(lazy.machine.ram.allocatedPages).toBeGreaterThanOrEqual(held);
    // Untouched data pages read from RAM now, as saved.
    expect(lazy.machine.ram.page(DATA / PAGE + 5)).toBeDefined();
    expect(lazy.machine.ram.read(DATA + 5 * PAGE, 4)).toBe(0x1005);
    const eager = resume(open(), "eager");
    eager.machine.run(held * STEPS_PER_PAGE);
    expect(fullImage(lazy.machine).digest).toBe(fullImage(eager.machine).digest);

    const ends: EndState[] = [lazy, eager].map(({ machine, io }) =>
      endState(machine, before + io.stdoutText, machine.run()),
    );
    // The interpreter, resumed from the same image, with no compiler and no prefetch.
    const interp = resume(open(), "interpreted");
    expect(interp.machine.hart.compilerBackend).toBeUndefined();
    const i = endState(interp.machine, before + interp.io.stdoutText, interp.machine.run());
    expect(ends[0]).toEqual(ends[1]);
    expect(ends[0]).toEqual(i);
    expect(ends[0]!.outcome).toEqual({ kind: "exited", code: 0 });
    expect(lazy.machine.hart.compiledRegions).toBeGreaterThan(0);
    expect(fullImage(lazy.machine).digest).toBe(fullImage(eager.machine).digest);
    expect(fullImage(lazy.machine).digest).toBe(fullImage(interp.machine).digest);
  });

  it("a whole prefetch before the first instruction changes nothing the guest sees", () => {
    const { open } = savedBenchShort(29_500_000);
    const lazy = resume(open(), "lazy");
    expect(lazy.machine.prefetchRam()).toBe(true);
    expect(lazy.machine.ram.loadsDirect).toBe(true);
    const interp = resume(open(), "interpreted");
    const a = endState(lazy.machine, lazy.io.stdoutText, lazy.machine.run());
    const b = endState(interp.machine, interp.io.stdoutText, interp.machine.run());
    expect(a).toEqual(b);
  });

  it("a damaged page met by the prefetch is reported only when the guest (or a save) reads it, in the same one line", () => {
    const a = bootGuest("hello");
    // Data pages the guest never reads, each starting with a word found nowhere else.
    const marker = (i: number) => (0x5eed_0000 | i) >>> 0;
    for (let i = 0; i < 64; i++) a.machine.ram.write(DATA + i * PAGE, 4, marker(i));
    a.machine.run(200);
    const world = join(tmp, "damaged-data.amber");
    const s = a.machine.beginSave();
    s.committed(writeCheckpointFile(world, s.input));
    // Flip a byte of data page 60 (pages are stored as they are, so its marker is in the file).
    const bytes = readFileSync(world);
    const le = Buffer.alloc(4);
    le.writeUInt32LE(marker(60));
    const at = bytes.indexOf(le);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(le, at + 1)).toBe(-1);
    bytes[at + 8] = (bytes[at + 8] as number) ^ 0xff;
    writeFileSync(world, bytes);

    const straight = bootGuest("hello");
    // Not RAM's digest: it would read the damaged page.
    const visible = (m: Machine, stdout: string, outcome: unknown) => ({
      stdout,
      outcome,
      steps: m.hart.steps,
      pc: m.hart.pc,
      x: [...m.hart.x],
    });
    const expected = visible(straight.machine, straight.io.stdoutText, straight.machine.run());

    const reader = openCheckpoint(world);
    try {
      const { machine, io } = resume(reader, "lazy");
      // The prefetch meets the damage, stops and leaves the page to the image.
      expect(machine.prefetchRam()).toBe(true);
      expect(machine.ram.loadsDirect).toBe(false);
      expect(machine.ram.page(DATA / PAGE + 60)).toBeUndefined();
      // The guest never reads that page: it runs to its end as if undamaged.
      const end = visible(machine, a.io.stdoutText + io.stdoutText, machine.run());
      expect(end).toEqual(expected);
      // Read as the guest would: the one-line error of a damaged page met on first touch.
      let thrown: unknown;
      try {
        machine.ram.read(DATA + 60 * PAGE, 4);
      } catch (e) {
        thrown = e;
      }
      expect(isCheckpointError(thrown)).toBe(true);
      if (!isCheckpointError(thrown)) return;
      expect(thrown.code).toBe("CHECKSUM_MISMATCH");
      expect(thrown.file).toBe(world);
      expect(thrown.message).toMatch(/damaged-data\.amber: page \d+ of segment "ram": block \d+ checksum is/);
      expect(thrown.message).not.toMatch(/\n/);
      // A save reads it too, and fails the same way (the file is left as it was).
      let saved: unknown;
      try {
        fullImage(machine);
      } catch (e) {
        saved = e;
      }
      expect(isCheckpointError(saved) && saved.message).toBe(thrown.message);
      expect(readFileSync(world).equals(bytes)).toBe(true);
    } finally {
      reader.close();
    }
  });
});
