import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { CapturedIo, Machine, SECTION_SPECS } from "../src/index.js";
import { makeVirtioFixture } from "./fixtures/make-virtio-fixture.js";
import { REG } from "./support/virtio-driver.js";
import {
  BALLOON_QUEUE_LAYOUT,
  balloonDriver,
  copyDisk,
  DISK_EXIT,
  DISK_IMG,
  DISK_STDOUT,
  devicesStateJson,
  SCENARIO_PFN_LIST,
  virtioScenario,
} from "./support/virtio-scenario.js";

const DIR = join(import.meta.dirname, "fixtures");
const IMAGE = "virtio-1835ad0.ambc";
const STATE = "virtio-1835ad0.state.json";
const SECTIONS = ["virtio0", "balloon"];

beforeAll(async () => {
  await initCheckpoint();
  if (process.env.AMBER_WRITE_VIRTIO_FIXTURE) {
    const { image, state } = makeVirtioFixture();
    writeFileSync(join(DIR, IMAGE), image);
    writeFileSync(join(DIR, STATE), state);
  }
});

const open = (bytes: Uint8Array, name: string) =>
  CheckpointReader.open(new MemoryBlockFile(bytes, name, false), { sections: SECTION_SPECS });
const fixture = () => open(new Uint8Array(readFileSync(join(DIR, IMAGE))), IMAGE);

function save(m: Machine): CheckpointReader {
  const file = new MemoryBlockFile(new Uint8Array(0), "now.ambc");
  const { size } = writeCheckpoint(file, m.checkpointInput());
  return open(file.read(0, size).slice(), "now.ambc");
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("the virtio sections main wrote before the devices shared a transport (commit 1835ad0)", () => {
  it("the same machine saved now gives byte-identical virtio0 and balloon sections and device state JSON", () => {
    const old = fixture();
    const { machine } = virtioScenario();
    const now = save(machine);
    for (const name of SECTIONS) expect(hex(now.sectionBytes(name)), name).toBe(hex(old.sectionBytes(name)));
    // Key order too: replay logs hash captureState() as JSON.
    expect(devicesStateJson(machine)).toBe(readFileSync(join(DIR, STATE), "utf8").trimEnd());
  });

  it("an image main wrote restores; saved again its sections are the same bytes; both devices work on", () => {
    const old = fixture();
    const io = new CapturedIo();
    const m = Machine.fromCheckpoint(old, { io, disks: [copyDisk(DISK_IMG)] });
    const fresh = virtioScenario();
    expect(m.virtio[0]!.saveState()).toEqual(fresh.machine.virtio[0]!.saveState());
    expect(m.balloon!.saveState()).toEqual(fresh.machine.balloon!.saveState());
    const again = save(m);
    for (const name of SECTIONS)
      expect(hex(again.sectionBytes(name)), name).toBe(hex(old.sectionBytes(name)));

    // The disk guest reads sector 5 back, checks the error statuses and resets the device,
    // printing what it prints on QEMU (the oracle).
    expect(m.run(10_000_000)).toEqual({ kind: "exited", code: DISK_EXIT });
    expect(fresh.io.stdoutText + io.stdoutText).toBe(DISK_STDOUT);
    expect(m.virtio[0]!.saveState().status).toBe(0);

    // The balloon: both interrupts were pending; the driver deflates one page on queue 1.
    const d = balloonDriver(m);
    for (const { q, size, base } of BALLOON_QUEUE_LAYOUT) d.adopt(q, size, base);
    expect(d.ack()).toBe(3);
    expect(d.regs.read(REG.interruptStatus)).toBe(0);
    const head = d.offer(1, [{ addr: SCENARIO_PFN_LIST, len: 4 }]);
    d.notify(1);
    expect(d.used(1)).toEqual({ idx: 1, ring: [[head, 0]] });
    expect(d.regs.read(REG.interruptStatus)).toBe(1);
    expect(m.balloon!.saveState()).toMatchObject({ numPages: 2, actual: 2, configGeneration: 1 });
    expect(m.balloon!.reportedPages).toBe(4);
    expect(m.balloon!.inflatedPages).toBe(2);
  });
});
