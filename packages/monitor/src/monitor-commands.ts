import type { CheckpointReader } from "@amber/checkpoint";
import { diffImages, formatImageDiff } from "./checkpoint-diff.js";
import { formatBytes, hex8, parseCount } from "./format.js";
import { formatRegisters, hexDump } from "./machine-views.js";
import { MonitorError } from "./monitor-error.js";
import type { WorldSession } from "./world-session.js";
import type { DamagedWorld, WorldInfo, WorldRef } from "./world-store.js";

/** What monitor commands act on and talk through (the CLI's terminal, the web page). */
export interface MonitorHost {
  /** The live world; its store keeps the saved ones. */
  readonly session: WorldSession;
  /** Data (register dumps, listings): stdout. */
  out(text: string): void;
  /** Talk (confirmations, notices): stderr. */
  say(text: string): void;
  /** Asks a yes/no question; no answer (end of input) is no. */
  confirm(question: string): Promise<boolean>;
  /** A progress bar for long saves (no-op where there is nowhere to draw one). */
  progress(label: string): { update(done: number, total: number): void; stop(): void };
  /** Ends the session with this exit status. */
  quit(status: number): void;
  /**
   * Serves gdb's remote protocol for the live world on `address` ([HOST:]PORT) until the
   * client detaches (`:gdb`); absent where the host cannot listen (a web page).
   */
  gdb?(address: string): Promise<void>;
  /**
   * Opens a file for `:disk-trace FILE` (created or truncated), where the host can write
   * files; absent where it cannot (`:disk-trace on` then shows the writes in the monitor).
   */
  openTraceFile?(name: string): { write(text: string): void; close(): void };
  /**
   * `:compact auto [on|off]`: switches the host's idle-time recompression of fast-saved
   * worlds (undefined: leaves it) and returns a line saying how it stands; absent where the
   * host has none.
   */
  idleCompact?(on: boolean | undefined): string;
}

export interface MonitorCommand {
  name: string;
  args: string;
  summary: string;
  /** Completes the argument being typed: world names. */
  completesWorlds?: boolean;
  run(host: MonitorHost, args: string[]): void | Promise<void>;
}

/** Saves of at least this many touched pages (32 MiB) show a progress bar. */
const PROGRESS_PAGES = 8192;

/** Parses an address or count: 0x-hex, decimal, or `pc`. */
function parseNumber(host: MonitorHost, text: string, what: string): number {
  if (text === "pc") return host.session.machine.hart.pc >>> 0;
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : parseCount(text);
  if (!Number.isFinite(n) || n < 0 || n > 0xffff_ffff) {
    throw new MonitorError(`${what}: cannot read "${text}" as a number (0x80000000, 4096 or pc)`, "usage");
  }
  return n;
}

/** A world name of the store (or an image the store can find by path or URL), or a one-line error. */
async function findWorld(host: MonitorHost, ref: string): Promise<WorldRef> {
  const store = host.session.store;
  const found = await store.find(ref);
  if (found !== undefined) return found;
  const known = await store.names();
  throw new MonitorError(
    `no world "${ref}"${known.length > 0 ? ` (saved: ${known.join(", ")})` : " (none saved yet: :save NAME)"}`,
  );
}

async function confirmDiscard(host: MonitorHost, doing: string): Promise<boolean> {
  const s = host.session;
  if (s.state === "exited" || s.unsavedSteps === 0) return true;
  const since = s.baseline === undefined ? "since boot" : `since ${s.baseline.name}`;
  return host.confirm(
    `${doing} discards unsaved work (${s.unsavedSteps.toLocaleString("en")} instructions ${since}). Go on? [y/N] `,
  );
}

/**
 * Saves the live world as `name` (incremental on its baseline unless `full`) and says so:
 * what `:save` does, and what a guest's `(save-world "name")` asks for (`guestAwaits`).
 * With `compact`, the guest (Amber Lisp, waiting at its prompt) first compacts its heap and
 * clears its free space, so the world stores only live data. A MonitorError when the name
 * cannot be used or the guest cannot compact now; nothing is saved then.
 */
export async function saveWorldAs(
  host: MonitorHost,
  requested: string | undefined,
  options: { full?: boolean; compact?: boolean; guestAwaits?: boolean } = {},
): Promise<void> {
  const s = host.session;
  // A save still being made durable (the guest asked for one during a :save) goes first:
  // this one is incremental on it, or on the world before it if it failed.
  await s.whenSaved();
  const store = s.store;
  const name = requested === undefined ? await store.nextName() : store.checkName(requested);
  if (s.baseline !== undefined && s.baseline.location === store.locationOf(name)) {
    throw new MonitorError(
      `${name} is the world this one came from (the parent of this save): choose another name`,
      "usage",
    );
  }
  const children = (await store.list()).filter((w) => "parent" in w && w.parent === name);
  if (children.length > 0) {
    throw new MonitorError(
      `${name} is the parent of ${children.map((c) => c.name).join(", ")}: overwriting it would break them; choose another name`,
      "usage",
    );
  }
  let compaction = "";
  if (options.compact) {
    const t = performance.now();
    const { figures, steps } = await s.compactGuest();
    compaction = `; the guest compacted in ${(performance.now() - t).toFixed(1)} ms, ${steps.toLocaleString("en")} instructions (${figures})`;
  }
  // (Again: another save may have begun while this one was being prepared.)
  for (let last = s.whenSaved(); ; last = s.whenSaved()) {
    await last;
    if (last === s.whenSaved()) break;
  }
  // Worlds of a few MiB save in a blink: a bar only for the long ones.
  const bar =
    s.machine.ram.allocatedPages >= PROGRESS_PAGES
      ? host.progress(`saving ${name}`)
      : { update: () => {}, stop: () => {} };
  const started = performance.now();
  let report: ReturnType<WorldSession["save"]>;
  try {
    report = s.save(name, {
      full: options.full,
      guestAwaits: options.guestAwaits,
      progress: (d, t) => bar.update(d * 4096, t * 4096),
    });
  } finally {
    bar.stop();
  }
  // The pause the guest saw ends here; the image is made durable while the guest runs on,
  // and "saved" is said only once it is.
  const ms = performance.now() - started;
  await report.persisted;
  const durableMs = performance.now() - started;
  await store.setCurrent(name);
  const kind = report.parent === undefined ? "full" : `incremental on ${report.parent}`;
  const how = options.guestAwaits ? " (the guest's save-world)" : "";
  host.say(
    `saved ${name}${how} (${kind}): ${formatBytes(report.bytes)}, ${report.pages} page${report.pages === 1 ? "" : "s"}, at instruction ${report.steps.toLocaleString("en")}, in ${ms.toFixed(1)} ms (durable after ${durableMs.toFixed(1)} ms)${compaction} → ${report.location}\n`,
  );
}

const save: MonitorCommand = {
  name: "save",
  args: "[NAME] [--full] [--compact]",
  summary:
    "save the world while it runs (incremental on the world it came from unless --full; --compact: the guest tidies its heap first)",
  async run(host, args) {
    const full = args.includes("--full");
    const compact = args.includes("--compact");
    const rest = args.filter((a) => a !== "--full" && a !== "--compact");
    if (rest.length > 1 || rest.some((a) => a.startsWith("--"))) {
      throw new MonitorError("usage: :save [NAME] [--full] [--compact]", "usage");
    }
    await saveWorldAs(host, rest[0], { full, compact });
  },
};

const saves: MonitorCommand = {
  name: "saves",
  args: "",
  summary: "list the saved worlds (time, size, parent)",
  async run(host) {
    const store = host.session.store;
    const worlds: (WorldInfo | DamagedWorld)[] = await store.list();
    const current = await store.current();
    if (worlds.length === 0) {
      host.say("no saved worlds yet (:save NAME)\n");
      return;
    }
    const rows = worlds.map((w) => {
      const mark = current === w.name ? "*" : " ";
      if ("error" in w) return `${mark} ${w.name.padEnd(16)} DAMAGED: ${w.error}`;
      const when = w.created.toISOString().replace("T", " ").slice(0, 19);
      const parent = w.parent === undefined ? "(full)" : `on ${w.parent}`;
      return `${mark} ${w.name.padEnd(16)} ${when}  ${formatBytes(w.bytes).padStart(10)}  ${parent.padEnd(18)} ${w.instructions.toLocaleString("en")} insns  ${w.digest.slice(0, 12)}`;
    });
    host.out(
      `  ${"name".padEnd(16)} ${"saved (UTC)".padEnd(19)}  ${"size".padStart(10)}  ${"parent".padEnd(18)} instructions  digest\n${rows.join("\n")}\n`,
    );
  },
};

const restore: MonitorCommand = {
  name: "restore",
  args: "NAME",
  summary: "replace the running world with a saved one (asks first if work is unsaved)",
  completesWorlds: true,
  async run(host, args) {
    if (args.length !== 1) throw new MonitorError("usage: :restore NAME", "usage");
    const world = await findWorld(host, args[0]!);
    if (!(await confirmDiscard(host, `restoring ${world.name}`))) {
      host.say("not restored\n");
      return;
    }
    const started = performance.now();
    await host.session.restore(world);
    if ((await host.session.store.find(world.name))?.location === world.location) {
      await host.session.store.setCurrent(world.name);
    }
    host.say(
      `restored ${world.name} at instruction ${host.session.machine.hart.steps.toLocaleString("en")} in ${(performance.now() - started).toFixed(1)} ms\n`,
    );
  },
};

const diff: MonitorCommand = {
  name: "diff",
  args: "A [B]",
  summary: "what differs between two saved worlds (B: the world this one came from)",
  completesWorlds: true,
  async run(host, args) {
    if (args.length < 1 || args.length > 2) throw new MonitorError("usage: :diff A [B]", "usage");
    const store = host.session.store;
    const a = await findWorld(host, args[0]!);
    const baseline = host.session.baseline;
    if (args[1] === undefined && baseline === undefined)
      throw new MonitorError(":diff A needs B: this world was not saved or restored yet", "usage");
    const b: WorldRef =
      args[1] === undefined
        ? { name: baseline!.name, location: baseline!.location }
        : await findWorld(host, args[1]);
    const opened: CheckpointReader[] = [];
    try {
      const ra = await store.open(a);
      opened.push(ra);
      const rb = await store.open(b);
      opened.push(rb);
      host.out(formatImageDiff(diffImages(ra, rb), a.name, b.name, ra));
    } finally {
      for (const r of opened) r.close();
    }
  },
};

const regs: MonitorCommand = {
  name: "regs",
  args: "",
  summary: "the hart's registers, pc, privilege and trap CSRs",
  run(host) {
    host.out(formatRegisters(host.session.machine));
  },
};

const mem: MonitorCommand = {
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

const disas: MonitorCommand = {
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

const step: MonitorCommand = {
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

const cont: MonitorCommand = {
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

const brk: MonitorCommand = {
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

const gdb: MonitorCommand = {
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

const stats: MonitorCommand = {
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

const disks: MonitorCommand = {
  name: "disks",
  args: "",
  summary: "each disk, its layers and the guest's writes to each (counted live)",
  run(host) {
    host.out(host.session.diskWatch.describe());
  },
};

const diskTrace: MonitorCommand = {
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

const quit: MonitorCommand = {
  name: "quit",
  args: "[!]",
  summary: "leave (asks first if work is unsaved; :quit! does not ask)",
  async run(host, args) {
    if (args[0] !== "!" && !(await confirmDiscard(host, "quitting"))) {
      host.say("not quitting (:save first, or :quit!)\n");
      return;
    }
    host.quit(0);
  },
};

const compact: MonitorCommand = {
  name: "compact",
  args: "[NAME...] | auto [on|off]",
  summary:
    "recompress saved worlds written with a fast codec to zstd (digests kept; all by default); auto: the idle-time pass",
  completesWorlds: true,
  async run(host, args) {
    if (args[0] === "auto") {
      if (host.idleCompact === undefined) throw new MonitorError("this host has no idle-time compaction");
      const how = args[1];
      if (args.length > 2 || (how !== undefined && how !== "on" && how !== "off"))
        throw new MonitorError("usage: :compact auto [on|off]", "usage");
      host.say(`${host.idleCompact(how === undefined ? undefined : how === "on")}\n`);
      return;
    }
    const store = host.session.store;
    if (store.compact === undefined) throw new MonitorError("this store cannot recompress its worlds");
    const names = args.length > 0 ? args : await store.names();
    if (names.length === 0) {
      host.say("no saved worlds yet (:save NAME)\n");
      return;
    }
    let saved = 0;
    let done = 0;
    for (const name of names) {
      const ref = await findWorld(host, name);
      const r = store.compact(ref);
      if (r === undefined) continue; // already compact
      done++;
      saved += r.bytesBefore - r.bytesAfter;
      host.say(
        `compacted ${ref.name}: ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}, digest kept\n`,
      );
    }
    host.say(
      done === 0
        ? "nothing to compact: every world is stored compressed\n"
        : `${done} world${done === 1 ? "" : "s"} compacted, ${formatBytes(Math.max(0, saved))} saved\n`,
    );
  },
};

const help: MonitorCommand = {
  name: "help",
  args: "",
  summary: "this list",
  run(host) {
    const width = Math.max(...MONITOR_COMMANDS.map((c) => `:${c.name} ${c.args}`.length));
    host.out(
      `${MONITOR_COMMANDS.map((c) => `  ${`:${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`).join("\n")}\n` +
        "Lines not starting with ':' go to the guest. Ctrl-C pauses a busy guest; Ctrl-D quits.\n",
    );
  },
};

export const MONITOR_COMMANDS: MonitorCommand[] = [
  save,
  saves,
  restore,
  diff,
  regs,
  mem,
  disas,
  step,
  cont,
  compact,
  brk,
  gdb,
  stats,
  disks,
  diskTrace,
  help,
  quit,
];

/** Splits a monitor line (":cmd a b") and finds the command; prefixes of a unique command work. */
export function parseMonitorLine(line: string): { command: MonitorCommand; args: string[] } {
  let text = line.trim().slice(1).trim();
  // ":quit!" is ":quit !"
  if (text.endsWith("!") && !text.includes(" ")) text = `${text.slice(0, -1)} !`;
  const [word = "", ...args] = text.split(/\s+/);
  if (word === "") throw new MonitorError("a monitor command after ':' (:help lists them)", "usage");
  // ":c" stays ":continue" (as in gdb) now that ":compact" shares its first letter.
  const exact = MONITOR_COMMANDS.find((c) => c.name === (word === "c" ? "continue" : word));
  const matches = exact ? [exact] : MONITOR_COMMANDS.filter((c) => c.name.startsWith(word));
  if (matches.length === 1) return { command: matches[0]!, args };
  if (matches.length === 0) throw new MonitorError(`no monitor command :${word} (:help lists them)`, "usage");
  throw new MonitorError(`:${word} is ambiguous: ${matches.map((c) => `:${c.name}`).join(" ")}`, "usage");
}

/** Tab completion: command names after ':', world names after commands that take one. */
export function completeMonitor(line: string, worlds: () => string[]): [string[], string] {
  if (!line.startsWith(":")) return [[], line];
  const m = /^:(\S*)$/.exec(line);
  if (m) {
    const names = MONITOR_COMMANDS.map((c) => `:${c.name}`).filter((n) => n.startsWith(line));
    return [names.map((n) => `${n} `), line];
  }
  const w = /^:(\S+)\s+(?:\S+\s+)*(\S*)$/.exec(line);
  if (w) {
    const command = MONITOR_COMMANDS.find((c) => c.name.startsWith(w[1]!));
    if (command?.completesWorlds) {
      const part = w[2]!;
      return [worlds().filter((n) => n.startsWith(part)), part];
    }
  }
  return [[], line];
}
