import {
  balloon,
  brk,
  cont,
  disas,
  disks,
  diskTrace,
  gdb,
  mem,
  regs,
  stats,
  step,
} from "./machine-commands.js";
import { MonitorError } from "./monitor-error.js";
import type { MonitorCommand } from "./monitor-host.js";
import { compact, confirmDiscard, diff, restore, save, saves } from "./world-commands.js";

export type { MonitorCommand, MonitorHost } from "./monitor-host.js";
export { saveWorldAs } from "./world-commands.js";

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

/** Every monitor command, in the order `:help` lists them. */
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
  balloon,
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
  // ":c" stays ":continue" and ":b" ":break" (as in gdb) now that ":compact" and ":balloon" share their first letters.
  const name = word === "c" ? "continue" : word === "b" ? "break" : word;
  const exact = MONITOR_COMMANDS.find((c) => c.name === name);
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
