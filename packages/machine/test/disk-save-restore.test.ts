import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { TrackedDisk } from "../src/devices/tracked-disk.js";
import {
  CapturedIo,
  type DiskBackend,
  diskFingerprint,
  Machine,
  MachineError,
  type RunOutcome,
  SECTION_SPECS,
} from "../src/index.js";
import { ramDigest } from "./ram-digest.js";

const OUT = fileURLToPath(new URL("../../../tools/guests/out/", import.meta.url));
const BASE = new Uint8Array(readFileSync(`${OUT}disk.img`));
const ELF = readFileSync(`${OUT}rv32imac/disk.elf`);

beforeAll(() => initCheckpoint());

/** A disk that keeps the guest's writes aside over a base it never changes (as @amber/image does). */
function shadowDisk(base: Uint8Array): DiskBackend & { content(): Uint8Array; writes: number } {
  const top = new Map<number, number>();
  return {
    size: base.length,
    writes: 0,
    read: (o, l) => {
      const out = base.slice(o, o + l);
      for (let i = 0; i < l; i++) {
        const b = top.get(o + i);
        if (b !== undefined) out[i] = b;
      }
      return out;
    },
    write(o, d) {
      this.writes++;
      for (const [i, b] of d.entries()) top.set(o + i, b);
    },
    content() {
      return this.read(0, base.length);
    },
  };
}

function boot(disk = shadowDisk(BASE)) {
  const io = new CapturedIo();
  const machine = new Machine({ io, disks: [{ backend: disk, source: "disk.img", format: "raw" }] });
  machine.loadElf(ELF, "disk.elf");
  return { machine, io, disk };
}

function end(m: Machine, io: CapturedIo, disk: ReturnType<typeof shadowDisk>, outcome: RunOutcome) {
  const last = outcome.kind === "budget" ? m.run() : outcome;
  return {
    stdout: io.stdoutText,
    outcome: last,
    steps: m.hart.steps,
    pc: m.hart.pc,
    ram: ramDigest(m),
    disk: Buffer.from(disk.content()).toString("base64"),
  };
}

function open(file: MemoryBlockFile, parent?: CheckpointReader): CheckpointReader {
  return CheckpointReader.open(file, { sections: SECTION_SPECS, parent });
}

function restore(reader: CheckpointReader, base = BASE) {
  const io = new CapturedIo();
  const disk = shadowDisk(base);
  // The restored machine's console starts empty: compare what it prints after the instant.
  const machine = Machine.fromCheckpoint(reader, { io, disks: [disk] });
  return { machine, io, disk };
}

const straight = (() => {
  let memo: ReturnType<typeof end> | undefined;
  return () => {
    if (memo === undefined) {
      const { machine, io, disk } = boot();
      memo = end(machine, io, disk, machine.run());
    }
    return memo;
  };
})();

/** The disk guest writes sector 5 in its step 45,340 (of 74,255): 45,339 is just before, 45,340 just after. */
const POINTS = [3_000, 20_000, 45_339, 45_340, 60_000, 74_000];

describe("machines with virtio disks save and restore exactly", () => {
  it("the straight run writes the disk", () => {
    const s = straight();
    expect(s.outcome).toEqual({ kind: "exited", code: 0 });
    expect(s.stdout).toContain('"written by the disk guest", same 1');
  });

  for (const at of POINTS) {
    it(`saved stopped at step ${at}: resumes to the same output, steps, RAM and disk`, () => {
      const s = straight();
      const a = boot();
      expect(a.machine.run(at)).toEqual({ kind: "budget" });
      const before = a.io.stdoutText;
      const file = new MemoryBlockFile();
      writeCheckpoint(file, a.machine.checkpointInput());
      const reader = open(file);
      expect(reader.sectionNames).toContain("virtio0");
      expect(reader.sectionNames).not.toContain("virtio1");
      expect(Machine.checkpointDisks(reader)).toEqual([
        expect.objectContaining({ slot: 0, source: "disk.img", format: "raw", size: BASE.length }),
      ]);
      const r = restore(reader);
      const e = end(r.machine, r.io, r.disk, { kind: "budget" });
      expect({ ...e, stdout: before + e.stdout }).toEqual(s);
      // The saving machine runs on to the same end.
      expect(end(a.machine, a.io, a.disk, { kind: "budget" })).toEqual(s);
    });
  }

  for (const at of [20_000, 45_000]) {
    it(`saved while running on from step ${at} (the disk write lands during the save): exact`, () => {
      const s = straight();
      const a = boot();
      a.machine.run(at);
      const before = a.io.stdoutText;
      const file = new MemoryBlockFile();
      let outcome: RunOutcome = { kind: "budget" };
      const save = a.machine.beginSave(undefined, {
        every: 1,
        between: () => {
          if (outcome.kind === "budget") outcome = a.machine.run(500);
        },
      });
      const written = writeCheckpoint(file, save.input);
      save.committed(written);
      expect(a.machine.hart.steps).toBeGreaterThan(at + 1000);
      expect(end(a.machine, a.io, a.disk, outcome)).toEqual(s);
      const reader = open(file);
      expect(reader.header.instructionCount).toBe(BigInt(at));
      const r = restore(reader);
      const e = end(r.machine, r.io, r.disk, { kind: "budget" });
      expect({ ...e, stdout: before + e.stdout }).toEqual(s);
    });
  }

  it("a disk page the device rewrites while the image is written is saved as at the instant", () => {
    const a = boot();
    a.machine.run(50_000);
    const tracked = (a.machine as unknown as { disks: TrackedDisk[] }).disks[0]!;
    const atInstant = tracked.read(0, 4096);
    let rewrote = false;
    const save = a.machine.beginSave(undefined, {
      every: 1,
      between: () => {
        if (rewrote) return;
        rewrote = true;
        tracked.write(2560, new Uint8Array(512).fill(0xee)); // as the device's DMA would
      },
    });
    const file = new MemoryBlockFile();
    save.committed(writeCheckpoint(file, save.input));
    expect(rewrote).toBe(true);
    expect(save.copiedPages()).toBeGreaterThanOrEqual(1);
    const r = restore(open(file));
    const back = (r.machine as unknown as { disks: TrackedDisk[] }).disks[0]!;
    expect(back.read(0, 4096)).toEqual(atInstant);
    expect(new TextDecoder().decode(back.read(2560, 25))).toBe("written by the disk guest");
  });

  it("incremental images: the disk pages fall through to the parent when not rewritten", () => {
    const s = straight();
    const a = boot();
    a.machine.run(20_000);
    let stdout = a.io.stdoutText;
    const f1 = new MemoryBlockFile();
    writeCheckpoint(f1, a.machine.checkpointInput());
    const r1 = open(f1);
    // Restore, run past the disk write, save incrementally on the baseline (dirty pages only).
    const b = restore(r1);
    b.machine.run(50_000 - 20_000);
    stdout += b.io.stdoutText;
    const save2 = b.machine.beginSave(undefined, { parent: r1 });
    expect(save2.mode).toBe("dirty");
    const f2 = new MemoryBlockFile();
    save2.committed(writeCheckpoint(f2, save2.input));
    const r2 = open(f2, r1);
    expect(r2.findSegment("disk0")?.storedPageCount).toBe(1);
    // Again, with no disk write in between: the disk page is only in the parent.
    const c = restore(r2);
    c.machine.run(5_000);
    stdout += c.io.stdoutText;
    const save3 = c.machine.beginSave(undefined, { parent: r2 });
    const f3 = new MemoryBlockFile();
    save3.committed(writeCheckpoint(f3, save3.input));
    const r3 = open(f3, r2);
    expect(r3.findSegment("disk0")?.storedPageCount).toBe(0);
    const d = restore(r3);
    const e = end(d.machine, d.io, d.disk, { kind: "budget" });
    expect({ ...e, stdout: stdout + e.stdout }).toEqual(s);
    // The same save compared against an unrelated parent (a fresh boot's image) stores every written page.
    const fresh = boot();
    const f0 = new MemoryBlockFile();
    writeCheckpoint(f0, fresh.machine.checkpointInput());
    const r0 = open(f0);
    const c2 = restore(r2);
    c2.machine.run(5_000);
    const save4 = c2.machine.beginSave(undefined, { parent: r0 });
    expect(save4.mode).toBe("compare");
    const f4 = new MemoryBlockFile();
    save4.committed(writeCheckpoint(f4, save4.input));
    const r4 = open(f4, r0);
    expect(r4.findSegment("disk0")?.storedPageCount).toBe(1);
    const g = restore(r4);
    const e4 = end(g.machine, g.io, g.disk, { kind: "budget" });
    expect(e4.disk).toBe(s.disk);
    expect(e4.steps).toBe(s.steps);
  });

  it("a written page of zeros is restored as zeros, not as the base's bytes", () => {
    const io = new CapturedIo();
    const disk = shadowDisk(BASE);
    const m = new Machine({ io, disks: [disk] });
    m.loadElf(ELF, "disk.elf");
    m.run(1000);
    // As the device does: through the tracked disk.
    const tracked = (m as unknown as { disks: TrackedDisk[] }).disks[0]!;
    tracked.write(0, new Uint8Array(4096));
    const file = new MemoryBlockFile();
    writeCheckpoint(file, m.checkpointInput());
    const r = Machine.fromCheckpoint(open(file), { disks: [shadowDisk(BASE)] });
    const back = (r as unknown as { disks: TrackedDisk[] }).disks[0]!;
    expect(back.read(0, 4096).every((b) => b === 0)).toBe(true);
    expect(back.read(4096, 512)).toEqual(BASE.slice(4096, 4096 + 512));
  });

  it("a changed, resized or missing base disk is refused with a clear error", () => {
    const a = boot();
    a.machine.run(50_000);
    const file = new MemoryBlockFile();
    writeCheckpoint(file, a.machine.checkpointInput());
    const reader = open(file);
    const changed = BASE.slice();
    changed[1000] ^= 1;
    const fail = (disks: DiskBackend[]) => {
      try {
        Machine.fromCheckpoint(reader, { disks });
      } catch (e) {
        expect(e).toBeInstanceOf(MachineError);
        expect((e as MachineError).code).toBe("CHECKPOINT_INVALID");
        return (e as Error).message;
      }
      throw new Error("restored");
    };
    expect(fail([shadowDisk(changed)])).toMatch(
      /disk 0 \(disk\.img\).*other content than the saved disk's base/,
    );
    expect(fail([shadowDisk(BASE.slice(0, 32768))])).toMatch(
      /has 32768 bytes, the saved disk's base had 65536/,
    );
    expect(fail([])).toMatch(/holds a disk in virtio slot 0; give its base/);
  });

  it("a disk that writes into its file cannot be saved", () => {
    const m = new Machine({ disks: [{ backend: shadowDisk(BASE), source: "d.img", writesThrough: true }] });
    expect(() => m.checkpointInput()).toThrow(/disk 0 \(d\.img\) writes into its file \(opened rw\)/);
    expect(() => m.beginSave()).toThrow(MachineError);
  });

  it("the copy-on-write keeps the page at the save instant", () => {
    const base = shadowDisk(new Uint8Array(16384).fill(7));
    const d = new TrackedDisk(base, "", "", false);
    d.write(4096, new Uint8Array(4096).fill(1));
    const snap = d.beginSnapshot([1]);
    d.write(4096 + 100, Uint8Array.of(9, 9));
    d.write(8192, Uint8Array.of(5));
    expect(snap.take(1)).toEqual(new Uint8Array(4096).fill(1));
    expect(snap.copied()).toBe(1);
    d.endSnapshot(true);
    expect([...d.written].sort()).toEqual([1, 2]);
    expect([...d.sinceBaseline].sort()).toEqual([1, 2]);
    // The fingerprint is the base's, taken before the first write.
    expect(d.fingerprint()).toBe(
      diskFingerprint({ size: 16384, read: (_o, l) => new Uint8Array(l).fill(7) }),
    );
  });

  it("sampled fingerprints for big disks: a change in a sample is noticed", () => {
    const size = 64 << 20;
    const bytes = new Uint8Array(size);
    const fp = (b: Uint8Array) => diskFingerprint({ size: b.length, read: (o, l) => b.subarray(o, o + l) });
    const before = fp(bytes);
    bytes[size - 1] = 1;
    expect(fp(bytes)).not.toBe(before);
    bytes[size - 1] = 0;
    expect(fp(bytes)).toBe(before);
  });
});
