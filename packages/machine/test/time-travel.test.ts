import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CapturedIo, Debugger, GdbServer, InputLog, Machine, TimeLine } from "../src/index.js";
import { GUESTS } from "./boot-guest.js";

const LINUX = new URL("../../../tools/guests/linux/out/", import.meta.url).pathname;

import { ramDigest } from "./ram-digest.js";

/** strings (a guest that mallocs, sorts and prints) on a board whose input goes through an InputLog. */
function debugged(options: { interval?: number; budgetBytes?: number } = {}) {
  const io = new CapturedIo();
  const input = new InputLog(io);
  const machine = new Machine({ ramSize: 128 << 20, io: input });
  machine.loadElf(readFileSync(`${GUESTS}strings.elf`), "strings");
  const timeline = new TimeLine(machine, input, options);
  return { io, machine, timeline, debug: new Debugger(machine, timeline) };
}

function state(m: Machine) {
  return {
    steps: m.hart.steps,
    pc: m.hart.pc,
    x: [...m.hart.x],
    csr: m.captureState().csr,
    ram: ramDigest(m),
  };
}

/** Drives a debugger operation to its end. */
function finish<T>(g: Generator<unknown, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

describe("time line: periodic in-memory snapshots and deterministic re-execution", {
  timeout: 120_000,
}, () => {
  it("seeking back lands on exactly the state a straight run has at that step, output shown once", () => {
    // Linux prints as it boots (strings only at its end): the console shows when output is repeated.
    const boot = (interval?: number) => {
      const io = new CapturedIo();
      const input = new InputLog(io);
      const machine = new Machine({ io: input });
      machine.loadKernel(readFileSync(`${LINUX}Image-mmu`), {
        firmware: readFileSync(`${LINUX}firmware.elf`),
      });
      return { io, machine, timeline: new TimeLine(machine, input, { interval }) };
    };
    const reference = boot();
    reference.machine.run(450_000);
    const early = state(reference.machine);
    reference.machine.run(750_000);
    const later = state(reference.machine);
    const { io, machine, timeline } = boot(100_000);
    timeline.run(1_000_000);
    expect(timeline.count).toBeGreaterThan(5);
    timeline.seek(450_000);
    expect(state(machine)).toEqual(early);
    expect(timeline.replayedSteps).toBe(50_000);
    // Back, then on past where it had been: the output is the straight run's, not repeated.
    timeline.run(750_000);
    expect(state(machine)).toEqual(later);
    expect(io.stdoutText).toMatch(/Linux version/);
    expect(io.stdoutText).toBe(reference.io.stdoutText);
  });

  it("keeps its page copies under the budget by thinning snapshots, never the first or last", () => {
    const { timeline, machine } = debugged({ interval: 10_000, budgetBytes: 64 << 10 });
    timeline.run(1_000_000);
    expect(timeline.keptBytes).toBeLessThanOrEqual(64 << 10);
    const steps = timeline.snapshotSteps();
    expect(steps[0]).toBe(0);
    // Still exact after thinning: back to the start and forward again.
    const end = state(machine);
    timeline.seek(0);
    timeline.seek(end.steps);
    expect(state(machine)).toEqual(end);
  });

  it("reverse-step then step returns to the same state; reverse-continue stops at the previous breakpoint hit", () => {
    const { machine, debug } = debugged({ interval: 50_000 });
    const checkTrue = 0x800003a6;
    debug.breakpoints.add(checkTrue);
    expect(finish(debug.resume("continue"))).toEqual({ kind: "breakpoint", pc: checkTrue });
    const first = state(machine);
    expect(finish(debug.resume("continue"))).toEqual({ kind: "breakpoint", pc: checkTrue });
    const second = state(machine);
    for (let i = 0; i < 50; i++) finish(debug.resume("reverse-step"));
    expect(machine.hart.steps).toBe(second.steps - 50);
    for (let i = 0; i < 50; i++) finish(debug.resume("step"));
    expect(state(machine)).toEqual(second);
    expect(finish(debug.resume("reverse-continue"))).toEqual({ kind: "breakpoint", pc: checkTrue });
    expect(state(machine)).toEqual(first);
    expect(finish(debug.resume("reverse-continue"))).toEqual({ kind: "history-start" });
    expect(machine.hart.steps).toBe(0);
  });
});

describe("gdb remote protocol engine", { timeout: 60_000 }, () => {
  /** A server whose replies are collected as packets (acks dropped). */
  function client() {
    const { debug, machine } = debugged();
    let sent = "";
    const server = new GdbServer(debug, (b) => {
      sent += new TextDecoder("latin1").decode(b);
    });
    const ask = (data: string): string => {
      let sum = 0;
      for (const c of data) sum += c.charCodeAt(0);
      sent = "";
      server.receive(new TextEncoder().encode(`$${data}#${(sum & 0xff).toString(16).padStart(2, "0")}`));
      while (server.tick()) {}
      const m = /\$([^#]*)#([0-9a-f]{2})/.exec(sent);
      return m === null ? sent : m[1]!;
    };
    return { ask, machine, server, raw: () => sent };
  }

  it("acknowledges good packets, asks for bad ones again, and answers the queries gdb opens with", () => {
    const { ask, server, raw } = client();
    server.receive(new TextEncoder().encode("$qAttached#00"));
    expect(raw()).toBe("-");
    expect(ask("qSupported:multiprocess+;swbreak+")).toContain("ReverseContinue+");
    expect(raw().startsWith("+$")).toBe(true);
    expect(ask("qAttached")).toBe("1");
    expect(ask("?")).toBe("T05thread:1;");
    const xml = ask("qXfer:features:read:target.xml:0,3fff");
    expect(xml.startsWith("l<?xml")).toBe(true);
    expect(xml).toContain('<reg name="satp" bitsize="32" type="int" regnum="449" group="csr"/>');
    expect(ask("qXfer:features:read:target.xml:0,10")).toBe('m<?xml version="1');
  });

  it("reads registers and memory (RAM and ROM, never device registers) and sets breakpoints", () => {
    const { ask, machine } = client();
    expect(ask("g")).toHaveLength(33 * 8);
    expect(ask("p20")).toBe("00100000"); // pc at the boot ROM, 0x1000, little-endian
    expect(ask("p1041")).toBe("03000000"); // priv: 4161 = 0x1041, machine mode
    expect(ask("m80000000,4")).toBe(
      [0, 1, 2, 3].map((i) => machine.ram.read(i, 1).toString(16).padStart(2, "0")).join(""),
    );
    expect(ask("m10000000,1")).toBe("E14"); // the UART: reading would pop its FIFO
    expect(ask("Z0,800003a6,2")).toBe("OK");
    expect(ask("c")).toBe("T05thread:1;");
    expect(machine.hart.pc >>> 0).toBe(0x800003a6);
    expect(ask("bs")).toBe("T05thread:1;");
    expect(ask("z0,800003a6,2")).toBe("OK");
    expect(ask("c")).toBe("W00");
  });

  it("hardware breakpoints and watchpoints share the hart's two triggers; watches of up to 8 bytes", () => {
    const { ask, machine } = client();
    expect(ask("Z1,800003a6,2")).toBe("OK");
    expect(ask("Z2,80006000,4")).toBe("OK");
    // A third hardware one is refused (gdb: "Could not insert hardware breakpoint").
    expect(ask("Z1,800003b0,2")).toBe("E01");
    expect(ask("Z3,80006004,4")).toBe("E01");
    // Software breakpoints are not counted; the same one again is no new trigger.
    expect(ask("Z0,800003b0,2")).toBe("OK");
    expect(ask("Z1,800003a6,2")).toBe("OK");
    expect(ask("z2,80006000,4")).toBe("OK");
    expect(ask("Z4,80006000,16")).toBe("E01"); // longer than one trigger watches
    expect(ask("Z4,80006000,8")).toBe("OK");
    // Removing the software breakpoint at an address keeps a hardware one elsewhere.
    expect(ask("z0,800003b0,2")).toBe("OK");
    expect(ask("z4,80006000,8")).toBe("OK");
    expect(ask("c")).toBe("T05thread:1;");
    expect(machine.hart.pc >>> 0).toBe(0x800003a6);
    // The guest's own triggers are untouched: gdb's are the debugger's.
    expect([...machine.hart.csr.triggers.tdata1]).toEqual([0x2000_0000, 0x2000_0000]);
  });

  it("rewinds a machine with a virtio-blk disk: the disk guest's write is undone and done again, as on QEMU", () => {
    const OUT = new URL("../../../tools/guests/out/", import.meta.url).pathname;
    const original = new Uint8Array(readFileSync(`${OUT}disk.img`));
    const bytes = original.slice();
    const disk = {
      size: bytes.length,
      read: (o: number, n: number) => bytes.slice(o, o + n),
      write: (o: number, d: Uint8Array) => bytes.set(d, o),
    };
    const io = new CapturedIo();
    const input = new InputLog(io);
    const machine = new Machine({ io: input, disks: [disk] });
    machine.loadElf(readFileSync(`${GUESTS}disk.elf`), "disk");
    const timeline = new TimeLine(machine, input, { interval: 5_000 });
    const sector5 = () => new TextDecoder().decode(bytes.subarray(5 * 512, 5 * 512 + 25));
    // Step to the first instruction after which sector 5 holds the guest's write.
    while (sector5() !== "written by the disk guest") expect(timeline.run(1).kind).toBe("budget");
    const written = machine.hart.steps;
    expect(timeline.count).toBeGreaterThan(2);
    const atWrite = { ...state(machine), virtio: machine.captureState().virtio };
    expect(timeline.run(Number.POSITIVE_INFINITY).kind).toBe("exited");
    const end = { ...state(machine), disk: bytes.slice() };
    // Back before the write: the disk is as it was, bit for bit.
    timeline.seek(written - 1);
    expect(bytes).toEqual(original);
    // Forward again: the same write at the same step, the same machine and device state.
    timeline.seek(written);
    expect(sector5()).toBe("written by the disk guest");
    expect({ ...state(machine), virtio: machine.captureState().virtio }).toEqual(atWrite);
    // Through gdb: reverse-step (no longer refused), then on to the end, output shown once.
    let sent = "";
    const server = new GdbServer(new Debugger(machine, timeline), (b) => {
      sent += new TextDecoder("latin1").decode(b);
    });
    server.receive(new TextEncoder().encode("$bs#d5"));
    while (server.tick()) {}
    expect(sent).toMatch(/^\+\$T05thread:1;#/);
    expect(machine.hart.steps).toBe(written - 1);
    expect(bytes).toEqual(original);
    sent = "";
    server.receive(new TextEncoder().encode("$c#63"));
    while (server.tick()) {}
    expect(sent).toMatch(/^\+\$W00#/);
    expect({ ...state(machine), disk: bytes.slice() }).toEqual(end);
    expect(io.stdoutText).toBe(readFileSync(`${OUT}rv32imac/disk.stdout`, "utf8"));
  });
});
