import { type MonitorHost, parseMonitorLine, type WorldSession } from "../src/index.js";

/**
 * A monitor over `session` whose talk goes into a string: `run(line)` runs one monitor line
 * and returns what it said; `confirm` answers the commands that ask first.
 */
export function stringMonitor(session: WorldSession, confirm: () => boolean = () => true) {
  let talk = "";
  const host: MonitorHost = {
    session,
    out: (t) => {
      talk += t;
    },
    say: (t) => {
      talk += t;
    },
    confirm: async () => confirm(),
    progress: () => ({ update: () => {}, stop: () => {} }),
    quit: () => {},
  };
  return async (line: string): Promise<string> => {
    talk = "";
    const { command, args } = parseMonitorLine(line);
    await command.run(host, args);
    return talk;
  };
}
