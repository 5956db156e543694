import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CheckpointReader,
  initCheckpoint,
  isCheckpointError,
  MemoryBlockFile,
  CheckpointReader as Reader,
  writeCheckpoint,
} from "@amber/checkpoint";
import { convertCheckpoint, openCheckpoint, writeCheckpointFile } from "@amber/checkpoint/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine } from "../src/index.js";
import { bootGuest } from "./boot-guest.js";
import { type EndState, endState } from "./end-state.js";
import { fullImage, resume } from "./resume-helpers.js";

// Resume reads RAM lazily: a page comes from the image when the guest (or a save) first
// touches it. These tests hold a lazily resumed machine against one whose every page was
// read at resume ("eager"): same run, same output, same images saved, full or incremental.

const PAGE = 4096;
const tmp = mkdtempSync(join(tmpdir(), "amber-lazy-resume-"));

beforeAll(() => initCheckpoint());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The digest of an image of `m` incremental on `parent` (not committed: the baseline stays). */
function incrementalDigest(m: Machine, parent: CheckpointReader): string {
  const s = m.beginSave(undefined, { parent });
  try {
    return writeCheckpoint(new MemoryBlockFile(), s.input).digest;
  } finally {
    s.end();
  }
}

describe("lazy resume", () => {
  it("runs, prints and saves (full and incremental, through a parent chain) exactly as an eager one", () => {
    // A parent image, a child incremental on it (the child's pages fall through to the
    // parent's), and data pages the guest never looks at, so most of RAM stays unread.
    const a = bootGuest("strings");
    for (let i = 0; i < 64; i++) a.machine.ram.write(0x600_0000 + i * PAGE, 4, 0x1000 + i);
    a.machine.run(3000);
    const parent = Reader.open(fullImage(a.machine).file);
    const mid = Machine.fromCheckpoint(parent, { io: new CapturedIo() });
    mid.run(2000);
    mid.ram.write(0x600_0000 + 3 * PAGE, 4, 0xdead_beef);
    const childFile = new MemoryBlockFile();
    const cs = mid.beginSave(undefined, { parent });
    writeCheckpoint(childFile, cs.input);
    cs.end();
    const open = () => Reader.open(childFile, { parent });
    const before = a.io.stdoutText;

    const lazy = resume(open(), "lazy");
    const eager = resume(open(), "eager");
    const held = (m: Machine) => m.ram.allocatedPages;
    expect(held(lazy.machine)).toBe(0);
    expect(held(eager.machine)).toBeGreaterThan(64);

    // Saved before running: every page is read from the image for the save, none is loaded.
    const l0 = fullImage(lazy.machine).digest;
    expect(fullImage(eager.machine).digest).toBe(l0);
    expect(held(lazy.machine)).toBe(0);
    const child = open();
    expect(incrementalDigest(lazy.machine, child)).toBe(incrementalDigest(eager.machine, child));

    // Run a little, save again both ways, then to the end.
    for (const m of [lazy, eager]) m.machine.run(1500);
    expect(held(lazy.machine)).toBeLessThan(held(eager.machine));
    expect(fullImage(lazy.machine).digest).toBe(fullImage(eager.machine).digest);
    expect(incrementalDigest(lazy.machine, child)).toBe(incrementalDigest(eager.machine, child));
    const ends: EndState[] = [lazy, eager].map(({ machine, io }) => {
      const outcome = machine.run();
      return endState(machine, before + io.stdoutText, outcome);
    });
    expect(ends[0]).toEqual(ends[1]);
    // And as the machine that was never saved.
    const straight = bootGuest("strings");
    for (let i = 0; i < 64; i++) straight.machine.ram.write(0x600_0000 + i * PAGE, 4, 0x1000 + i);
    straight.machine.run(5000);
    straight.machine.ram.write(0x600_0000 + 3 * PAGE, 4, 0xdead_beef);
    straight.machine.run(1500);
    const outcome = straight.machine.run();
    expect(ends[0]).toEqual(endState(straight.machine, straight.io.stdoutText, outcome));
    expect(ends[0]!.stdout.length).toBeGreaterThan(before.length);
    expect(fullImage(lazy.machine).digest).toBe(fullImage(eager.machine).digest);
    expect(incrementalDigest(lazy.machine, child)).toBe(incrementalDigest(eager.machine, child));
    // The data page the guest never touched was loaded meanwhile by the prefetch (see
    // ram-prefetch.test.ts), not by the guest, and reads right.
    expect(lazy.machine.ram.loadsDirect).toBe(true);
    expect(lazy.machine.ram.read(0x600_0000 + 3 * PAGE, 4)).toBe(0xdead_beef);
    expect(lazy.machine.ram.read(0x600_0000 + 5 * PAGE, 4)).toBe(0x1005);
  });

  it("an image whose block index spans several windows (checked where used) resumes as an eager one", () => {
    // 34 MiB of data pages high in RAM: 270 blocks of 32 pages, so the RAM segment's index has
    // two windows of 256 entries; a lazy resume checks those it uses, an eager one all of them.
    const pages = 8640;
    const withData = () => {
      const g = bootGuest("hello");
      for (let i = 0; i < pages; i++) g.machine.ram.write(0x400_0000 + i * PAGE, 4, 0x5eed_0000 + i);
      return g;
    };
    const a = withData();
    a.machine.run(2000);
    const image = fullImage(a.machine);
    const open = () => Reader.open(image.file);
    const lazy = resume(open(), "lazy");
    const eager = resume(open(), "eager");
    expect(lazy.machine.ram.allocatedPages).toBe(0);
    expect(eager.machine.ram.allocatedPages).toBeGreaterThan(pages);
    // A page in the second window, read by the host before the guest runs.
    expect(lazy.machine.ram.read(0x400_0000 + 8500 * PAGE, 4)).toBe(0x5eed_0000 + 8500);
    const ends = [lazy, eager].map(({ machine, io }) => {
      const outcome = machine.run();
      return endState(machine, a.io.stdoutText + io.stdoutText, outcome);
    });
    expect(ends[0]).toEqual(ends[1]);
    expect(fullImage(lazy.machine).digest).toBe(fullImage(eager.machine).digest);
    // And as the machine that was never saved.
    const straight = withData();
    const outcome = straight.machine.run();
    expect(ends[0]).toEqual(endState(straight.machine, straight.io.stdoutText, outcome));
    expect(ends[0]!.stdout.length).toBeGreaterThan(a.io.stdoutText.length);
  });

  it("a page damaged in the file is found when the guest first touches it: one error naming the file and offset; the file is left as it was", () => {
    const a = bootGuest("hello");
    a.machine.run(200);
    const world = join(tmp, "damaged.amber");
    const s = a.machine.beginSave();
    s.committed(writeCheckpointFile(world, s.input));
    const check = openCheckpoint(world);
    const ram = check.segment("ram").entry;
    check.close();
    // Flip a byte in the first block of page data (it holds the guest's code).
    const blockAt = ram.dataOffset + 32; // after the framed data's 32-byte header
    const bytes = readFileSync(world);
    bytes[blockAt + 100] = (bytes[blockAt + 100] as number) ^ 0xff;
    writeFileSync(world, bytes);

    const reader = openCheckpoint(world);
    // Resuming reads no page: the damage is not seen yet.
    const m = Machine.fromCheckpoint(reader, { io: new CapturedIo() });
    let thrown: unknown;
    try {
      m.run();
    } catch (e) {
      thrown = e;
    }
    reader.close();
    expect(isCheckpointError(thrown)).toBe(true);
    if (!isCheckpointError(thrown)) return;
    expect(thrown.code).toBe("CHECKSUM_MISMATCH");
    expect(thrown.file).toBe(world);
    expect(thrown.offset).toBe(blockAt);
    expect(thrown.message).toMatch(/damaged\.amber: page \d+ of segment "ram": block 0 checksum is/);
    expect(thrown.message).not.toMatch(/\n/);
    expect(m.hart.steps).toBe(200); // not one instruction ran on damaged code
    expect(readFileSync(world).equals(bytes)).toBe(true);
  });

  it("keeps reading the composed directory it resumed from when another is swapped in under its name", () => {
    const straight = bootGuest("strings");
    const end = endState(straight.machine, "", straight.machine.run());
    end.stdout = straight.io.stdoutText;

    const a = bootGuest("strings");
    a.machine.run(2500);
    const file = join(tmp, "for-dir.amber");
    const s = a.machine.beginSave();
    s.committed(writeCheckpointFile(file, s.input));
    const dir = join(tmp, "world.d");
    convertCheckpoint(file, dir, "directory");
    const reader = openCheckpoint(dir);
    const { machine, io } = resume(reader, "lazy");
    // No page read yet: the segment's data file must be the one opened with the image.
    expect(machine.ram.allocatedPages).toBe(0);
    const other = bootGuest("hello");
    other.machine.run(100);
    const otherFile = join(tmp, "other.amber");
    const o = other.machine.beginSave();
    o.committed(writeCheckpointFile(otherFile, o.input));
    convertCheckpoint(otherFile, dir, "directory");
    const outcome = machine.run();
    const after = endState(machine, a.io.stdoutText + io.stdoutText, outcome);
    reader.close();
    expect(after).toEqual(end);
  });

  it("keeps reading the image it resumed from when a save replaces that file", () => {
    const straight = bootGuest("strings");
    const end = endState(straight.machine, "", straight.machine.run());
    end.stdout = straight.io.stdoutText;

    const a = bootGuest("strings");
    a.machine.run(2500);
    const world = join(tmp, "replaced.amber");
    const s = a.machine.beginSave();
    s.committed(writeCheckpointFile(world, s.input));
    const reader = openCheckpoint(world);
    const { machine, io } = resume(reader, "lazy");
    machine.run(10);
    // Another machine's image goes to the same name (written aside, renamed over it): the
    // open file is the old one still, so pages not yet read come from the image resumed.
    const other = bootGuest("hello");
    other.machine.run(100);
    const o = other.machine.beginSave();
    o.committed(writeCheckpointFile(world, o.input));
    const outcome = machine.run();
    const after = endState(machine, a.io.stdoutText + io.stdoutText, outcome);
    reader.close();
    expect(after).toEqual(end);
  });
});
