/** Monitor commands on the live machine: inspect it, step it, break, hand it to gdb, count. */
import { formatBytes, hex8, parseCount, parseSize } from "./format.js";
import { formatRegisters, hexDump } from "./machine-views.js";
import { MonitorError } from "./monitor-error.js";
import type { MonitorCommand, MonitorHost } from "./monitor-host.js";

/** Parses an address or count: 0x-hex, decimal, or `pc`. */
function parseNumber(host: MonitorHost, text: string, what: string): number {
  if (text === "pc") return host.session.machine.hart.pc >>> 0;
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : parseCount(text);
  if (!Number.isFinite(n) || n < 0 || n > 0xffff_ffff) {
    throw new MonitorError(`${what}: cannot read "${text}" as a number (0x80000000, 4096 or pc)`, "usage");
  }
  return n;
}

export const regs: MonitorCommand = {
  name: "regs",
  args: "",
  summary: "the hart's registers, pc, privilege and trap CSRs",
  run(host) {
    host.out(formatRegisters(host.session.machine));
  },
};

export const mem: MonitorCommand = {
  name: "mem",
  args: "ADDR [LEN]",
  summary: "physical memory as hex and ASCII (LEN default 64)",
  run(host, args) {
    if (args.length < 1 || args.length > 2) throw new MonitorError("usage: :mem ADDR [LEN]", "usage");
    const address = parseNumber(host, args[0]!, "ADDR");
    const length = args[1] === undefined ? 64 : parseNumber(host, args[1], "LEN");
    try {
      host.out(hexDump(host.session.machine, address, Math.min(length, 1 << 20)));
    } catch (e) {
      if (e instanceof RangeError) throw new MonitorError(e.message, "usage");
      throw e;
    }
  },
};

export const disas: MonitorCommand = {
  name: "disas",
  args: "[ADDR] [N]",
  summary: "disassemble N instructions (default 10) from ADDR (default pc)",
  run(host, args) {
    const s = host.session;
    let pc = args[0] === undefined ? s.machine.hart.pc >>> 0 : parseNumber(host, args[0], "ADDR");
    const n = args[1] === undefined ? 10 : parseNumber(host, args[1], "N");
    const lines: string[] = [];
    for (let i = 0; i < Math.min(n, 1000); i++) {
      const text = s.disassembleAt(pc);
      const mark = pc === s.machine.hart.pc >>> 0 ? "=>" : s.breakpoints.has(pc) ? " *" : "  ";
      lines.push(`${mark} ${hex8(pc)}  ${text}`);
      if (text.startsWith("(")) break;
      pc = (pc + ((s.machine.instructionAt(pc) & 3) === 3 ? 4 : 2)) >>> 0;
    }
    host.out(`${lines.join("\n")}\n`);
  },
};

export const step: MonitorCommand = {
  name: "step",
  args: "[N]",
  summary: "pause and execute N instructions (default 1), listing them",
  run(host, args) {
    const n = args[0] === undefined ? 1 : parseNumber(host, args[0], "N");
    const r = host.session.step(n);
    host.out(r.lines.length > 0 ? `${r.lines.join("\n")}\n` : "");
    if (r.stoppedBy !== undefined) host.say(`stopped: ${r.stoppedBy}\n`);
    const s = host.session;
    if (s.state !== "exited") {
      host.say(`paused at ${s.where()} (:continue to run on)\n`);
    }
  },
};

export const cont: MonitorCommand = {
  name: "continue",
  args: "",
  summary: "run on from a pause",
  run(host) {
    const s = host.session;
    if (s.state === "exited") throw new MonitorError("the guest has powered off: :restore a world");
    if (s.state !== "paused") {
      host.say("the guest is not paused\n");
      return;
    }
    s.continue();
  },
};

export const brk: MonitorCommand = {
  name: "break",
  args: "[ADDR | -ADDR | clear]",
  summary: "set (or with - remove) a breakpoint; no argument lists them",
  run(host, args) {
    const s = host.session;
    if (args.length === 0) {
      host.out(
        s.breakpoints.size === 0
          ? "no breakpoints\n"
          : `${[...s.breakpoints].map((a) => `${hex8(a)}  ${s.disassembleAt(a)}`).join("\n")}\n`,
      );
      return;
    }
    for (const a of args) {
      if (a === "clear") s.breakpoints.clear();
      else if (a.startsWith("-")) s.breakpoints.delete(parseNumber(host, a.slice(1), "ADDR"));
      else s.breakpoints.add(parseNumber(host, a, "ADDR"));
    }
    host.say(
      `${s.breakpoints.size} breakpoint${s.breakpoints.size === 1 ? "" : "s"}${s.breakpoints.size > 0 ? " (the guest runs single-stepped while any is set)" : ""}\n`,
    );
  },
};

export const gdb: MonitorCommand = {
  name: "gdb",
  args: "[HOST:]PORT",
  summary: "let gdb attach (target remote :PORT), with reverse execution; back here when it detaches",
  async run(host, args) {
    if (args.length !== 1) throw new MonitorError("usage: :gdb [HOST:]PORT", "usage");
    if (host.gdb === undefined)
      throw new MonitorError(":gdb: this monitor cannot listen for gdb (the CLI's can)");
    if (host.session.state === "exited") throw new MonitorError(":gdb: the guest has powered off");
    await host.gdb(args[0]!);
  },
};

export const stats: MonitorCommand = {
  name: "stats",
  args: "",
  summary: "instructions, MIPS, pages touched and dirty since the last save",
  run(host) {
    const s = host.session;
    const m = s.machine;
    const since = s.baseline === undefined ? "since boot" : `since ${s.baseline.name}`;
    host.out(
      `${[
        `state          ${s.state}`,
        `instructions   ${m.hart.steps.toLocaleString("en")}`,
        `MIPS           ${s.mips.toFixed(1)} (while running, this session)`,
        `pages touched  ${m.ram.allocatedPages} (${formatBytes(m.ram.allocatedPages * 4096)} of ${formatBytes(m.ram.size)} RAM)`,
        `dirty pages    ${s.dirtyPages()} ${since}`,
        `unsaved        ${s.unsavedSteps.toLocaleString("en")} instructions ${since}`,
      ].join("\n")}\n`,
    );
  },
};

export const disks: MonitorCommand = {
  name: "disks",
  args: "",
  summary: "each disk, its layers and the guest's writes to each (counted live)",
  run(host) {
    host.out(host.session.diskWatch.describe());
  },
};

export const diskTrace: MonitorCommand = {
  name: "disk-trace",
  args: "[on|off|FILE]",
  summary: "one line per guest disk write (instruction, disk, offset, length, layer), here or to FILE",
  run(host, args) {
    const watch = host.session.diskWatch;
    if (args.length > 1) throw new MonitorError("usage: :disk-trace [on|off|FILE]", "usage");
    const what = args[0];
    if (what === undefined) {
      const t = watch.tracing;
      host.say(
        t === undefined
          ? "disk trace off (:disk-trace on shows each write here, :disk-trace FILE writes them to FILE)\n"
          : `disk trace on, to ${t.target}: ${t.lines} write${t.lines === 1 ? "" : "s"} so far\n`,
      );
      return;
    }
    if (what === "off") {
      const was = watch.stopTrace();
      host.say(
        was === undefined
          ? "disk trace was off\n"
          : `disk trace off: ${was.lines} write${was.lines === 1 ? "" : "s"} traced to ${was.target}\n`,
      );
      return;
    }
    if (host.session.machine.attachedDisks().length === 0)
      throw new MonitorError(
        "this machine has no disks to trace (amber repl PROGRAM --disk FILE attaches one)",
      );
    if (what === "on") {
      watch.startTrace({ target: "here", write: (line) => host.out(line) });
      host.say("disk trace on: one line per guest write (insn, disk, offset, length, layer) here\n");
      return;
    }
    if (host.openTraceFile === undefined)
      throw new MonitorError(
        `:disk-trace ${what}: this monitor cannot write files; :disk-trace on shows the writes here`,
      );
    const file = host.openTraceFile(what);
    watch.startTrace({ target: what, write: (line) => file.write(line), close: () => file.close() });
    host.say(`disk trace on: one line per guest write to ${what}\n`);
  },
};

const PAGE = 4096;
const pages = (n: number): string =>
  `${formatBytes(n * PAGE)} (${n.toLocaleString("en")} page${n === 1 ? "" : "s"})`;

export const balloon: MonitorCommand = {
  name: "balloon",
  args: "[SIZE]",
  summary:
    "the memory balloon: its target, what the guest gave; SIZE (e.g. 64M, 0) asks the guest for that much RAM back",
  run(host, args) {
    if (args.length > 1) throw new MonitorError("usage: :balloon [SIZE]", "usage");
    const machine = host.session.machine;
    const device = machine.balloon;
    if (device === undefined)
      throw new MonitorError(
        "this machine has no memory balloon (amber run --balloon boots one; a world saved from it keeps it)",
      );
    if (args[0] !== undefined) {
      const bytes = parseSize(args[0]);
      if (Number.isNaN(bytes) || bytes % PAGE !== 0 || bytes > machine.ram.size)
        throw new MonitorError(
          `:balloon: cannot read "${args[0]}" as a size in whole 4 KiB pages, at most the RAM (${formatBytes(machine.ram.size)}) (e.g. 64M, 4096K, 0)`,
          "usage",
        );
      device.setTarget(bytes / PAGE);
      host.say(
        device.reporting
          ? `balloon target ${pages(bytes / PAGE)}: the guest's driver ${bytes === 0 ? "deflates" : "inflates"} to it (:balloon shows how far)\n`
          : `balloon target ${pages(bytes / PAGE)}: the guest has no balloon driver running yet; it acts once one starts\n`,
      );
      return;
    }
    const state = device.saveState();
    host.out(
      `${[
        `target         ${pages(state.numPages)}`,
        `in the balloon ${pages(device.balloonPages)} (the guest's driver says)`,
        `driver         ${device.reporting ? "running, free page reporting on" : "not running (or without free page reporting)"}`,
        `dropped        ${pages(device.reportedPages)} reported free, ${pages(device.inflatedPages)} inflated`,
      ].join("\n")}\n`,
    );
  },
};
