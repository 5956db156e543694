import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CheckpointReader, initCheckpoint, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, it } from "vitest";
import { BALLOON_SLOT, CapturedIo, Machine, VIRT } from "../src/index.js";
import { ScriptedConsole } from "./support/scripted-console.js";

const LINUX = fileURLToPath(new URL("../../../tools/guests/linux/out/", import.meta.url));
const read = (name: string) => readFileSync(`${LINUX}${name}`);
const SLOT = VIRT.virtio.base + BALLOON_SLOT * VIRT.virtio.size;
const PROMPT = "amber# ";
/** MiB the guest writes (incompressible) and frees. */
const WORKLOAD_MIB = 24;

beforeAll(() => initCheckpoint());

/**
 * Boots the MMU kernel, types `lines` at the prompts and runs until the prompt after the
 * last one: the guest then idles at the shell, as a machine a person would save.
 */
function bootAndType(balloon: boolean, lines: string[]): { m: Machine; io: ScriptedConsole } {
  const io = new ScriptedConsole(PROMPT, lines);
  const m = new Machine({ io, ramSize: 128 << 20, balloon });
  m.loadKernel(read("Image-mmu"), { firmware: read("firmware.elf") });
  const prompts = () => io.output.split(PROMPT).length - 1;
  for (let budget = 3_000_000_000; prompts() <= lines.length && budget > 0; budget -= 20_000_000) {
    const outcome = m.run(20_000_000);
    if (outcome.kind !== "budget")
      throw new Error(`the guest stopped: ${JSON.stringify(outcome)}\n${io.output}`);
  }
  expect(prompts()).toBe(lines.length + 1);
  return { m, io };
}

function save(m: Machine): { file: MemoryBlockFile; size: number } {
  const file = new MemoryBlockFile();
  const { size } = writeCheckpoint(file, m.checkpointInput());
  return { file, size };
}

describe("virtio memory balloon", () => {
  it("is in the last virtio slot only when asked: device 5, virtio 1.x, offering free page reporting", () => {
    const plain = new Machine({ ramSize: 1 << 20 });
    expect(plain.bus.load(SLOT + 8, 4)).toBe(0);
    expect(plain.balloon).toBeUndefined();
    const m = new Machine({ ramSize: 1 << 20, balloon: true });
    expect(m.bus.load(SLOT, 4) >>> 0).toBe(0x74726976);
    expect(m.bus.load(SLOT + 4, 4)).toBe(2);
    expect(m.bus.load(SLOT + 8, 4)).toBe(5);
    m.bus.store(SLOT + 0x14, 4, 0);
    expect(m.bus.load(SLOT + 0x10, 4)).toBe(1 << 5); // VIRTIO_BALLOON_F_REPORTING
    m.bus.store(SLOT + 0x14, 4, 1);
    expect(m.bus.load(SLOT + 0x10, 4)).toBe(1); // VIRTIO_F_VERSION_1 (bit 32)
    // Three queues of 128 (inflate, deflate, reporting); none past them.
    for (const [q, max] of [
      [0, 128],
      [2, 128],
      [3, 0],
    ]) {
      m.bus.store(SLOT + 0x30, 4, q!);
      expect(m.bus.load(SLOT + 0x34, 4)).toBe(max);
    }
    expect(
      () => new Machine({ balloon: true, disks: [...Array(7).fill(undefined), { backend: memoryDisk() }] }),
    ).toThrow(/virtio slot 7, which the balloon takes/);
  });

  it("Linux reports the memory a workload freed, the host drops it, and the image shrinks; the world resumes and inflates on request", () => {
    const lines = ["cat /proc/interrupts", "cat /proc/meminfo", `memfill ${WORKLOAD_MIB}`, "sleep 4"];
    const { m, io } = bootAndType(true, lines);
    // The driver bound, as on QEMU with its balloon (the oracle): virtio-mmio registers the
    // slot's interrupt (PLIC source 8, the last slot) when the driver sets up its queues.
    const bound = /\d+:\s+\d+\s+SiFive PLIC\s+8\s+Edge\s+virtio0/;
    expect(readFileSync(`${LINUX}../qemu-balloon.log`, "utf8")).toMatch(bound);
    expect(io.output).toMatch(bound);
    expect(io.output).toContain(`memfill: wrote and freed ${WORKLOAD_MIB} MiB`);
    const balloon = m.balloon!;
    expect(balloon.reporting).toBe(true);
    // Most of the workload's pages came back (blocks of 128 KiB and up, ~2 s after the free).
    expect(balloon.reportedPages).toBeGreaterThan((WORKLOAD_MIB * 256 * 3) / 4);
    const withBalloon = save(m);

    const without = bootAndType(false, lines.slice(2));
    const withoutBalloon = save(without.m);
    // Without reporting the image keeps the workload's data, which is all it wrote.
    expect(withoutBalloon.size).toBeGreaterThan(WORKLOAD_MIB << 20);
    expect(withBalloon.size).toBeLessThan(withoutBalloon.size / 3);

    // The world resumes with its balloon, bit for bit, and works on.
    const reader = CheckpointReader.open(withBalloon.file);
    expect(reader.hasSection("balloon")).toBe(true);
    const resumedIo = new CapturedIo(`memfill 8\ncat /proc/meminfo\necho resumed\npoweroff\n`);
    const resumed = Machine.fromCheckpoint(reader, { io: resumedIo });
    expect(resumed.balloon?.saveState()).toEqual(balloon.saveState());
    expect(resumed.captureState()).toEqual(m.captureState());
    // The host asks for 4 MiB: the driver inflates the balloon with 1024 pages, which Linux
    // takes out of its memory (the balloon does not deflate on OOM). At poweroff it resets
    // the device, which then holds no pages.
    resumed.balloon!.setTarget(1024);
    expect(resumed.run(2_000_000_000)).toEqual({ kind: "exited", code: 0 });
    const memTotal = (text: string) => Number(/MemTotal:\s+(\d+) kB/.exec(text)?.[1]);
    expect(memTotal(resumedIo.stdoutText)).toBe(memTotal(io.output) - 4096);
    expect(resumed.balloon!.balloonPages).toBe(0);
    expect(resumedIo.stdoutText).toContain("memfill: wrote and freed 8 MiB");
    // (The lines were typed at once, so the tty echoed them before the shell ran them.)
    expect(resumedIo.stdoutText).toMatch(/amber# resumed\r?\n/);
  }, 600_000);
});

function memoryDisk() {
  const bytes = new Uint8Array(4096);
  return {
    size: bytes.length,
    read: (o: number, l: number) => bytes.slice(o, o + l),
    write: (o: number, d: Uint8Array) => bytes.set(d, o),
  };
}
