import { MachineError } from "../machine-error.js";
import type { InputEvent } from "./input-log.js";

/** A file the recorded machine was built from, with its content's SHA-256. */
export interface ReplayFile {
  path: string;
  sha256: string;
}

/**
 * A recorded run (see docs/FORMAT.md, "Replay log"): how the machine was built, every
 * non-deterministic input at the step the guest consumed it, and what the run ended with,
 * so that a replay can check it got the same.
 */
export interface ReplayLog {
  /** The `amber run` command that built the machine: its program/kernel, arguments and options. */
  start: {
    file?: string;
    args: string[];
    /** What the guest's SYS_GET_CMDLINE returned (the program and its arguments as typed). */
    cmdline: string;
    /** For a resumed machine (`amber resume IMAGE --record`): the image (absolute path) and its digest. */
    image?: { path: string; digest: string };
    options: Record<string, string | boolean | string[]>;
    files: ReplayFile[];
  };
  /** Whether guest time followed the host's clock (then the clock readings are events). */
  hostTime: boolean;
  events: InputEvent[];
  end: {
    /** Steps when the recording ended. */
    instructions: number;
    /** How the run ended: "exited N", "budget", "unhandled-trap", "stuck", or "interrupted" (Ctrl-A x). */
    outcome: string;
    consoleBytes: number;
    consoleSha256: string;
    /** SHA-256 of the machine's state at the end (undefined when interrupted mid-instruction). */
    stateSha256?: string;
  };
}

export const REPLAY_FORMAT = "amber-replay";
export const REPLAY_VERSION = 1;

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The log as JSON text: one event per line, so it diffs and greps well. */
export function encodeReplayLog(log: ReplayLog): string {
  const events = log.events.map((e) =>
    JSON.stringify(
      e.kind === "time"
        ? { at: e.at, time: e.ms }
        : { at: e.at, stdin: e.bytes === null ? null : base64(e.bytes) },
    ),
  );
  const head = JSON.stringify({
    format: REPLAY_FORMAT,
    version: REPLAY_VERSION,
    start: log.start,
    hostTime: log.hostTime,
    end: log.end,
  });
  return `${head.slice(0, -1)},"events":[\n${events.join(",\n")}\n]}\n`;
}

/** Reads a log written by `encodeReplayLog`; anything else is a one-line MachineError naming `name`. */
export function decodeReplayLog(text: string, name: string): ReplayLog {
  const bad = (what: string): never => {
    throw new MachineError("REPLAY_INVALID", `${name}: not an Amber replay log: ${what}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`invalid JSON (${(e as Error).message})`);
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== "object" || o === null || o.format !== REPLAY_FORMAT)
    return bad(`no "format": "${REPLAY_FORMAT}"`);
  if (o.version !== REPLAY_VERSION) return bad(`version ${String(o.version)}, expected ${REPLAY_VERSION}`);
  const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
  const start = o.start as ReplayLog["start"];
  if (
    typeof start !== "object" ||
    start === null ||
    !Array.isArray(start.args) ||
    !start.args.every((a) => typeof a === "string") ||
    (start.file !== undefined && typeof start.file !== "string") ||
    typeof start.cmdline !== "string" ||
    (start.image !== undefined &&
      (typeof start.image?.path !== "string" || typeof start.image?.digest !== "string")) ||
    typeof start.options !== "object" ||
    start.options === null ||
    !Array.isArray(start.files) ||
    !start.files.every((f) => typeof f?.path === "string" && /^[0-9a-f]{64}$/.test(f?.sha256 ?? ""))
  ) {
    return bad(`"start" must hold file, args, cmdline, options and files (path, sha256)`);
  }
  const end = o.end as ReplayLog["end"];
  if (
    typeof end !== "object" ||
    end === null ||
    !isCount(end.instructions) ||
    typeof end.outcome !== "string" ||
    !isCount(end.consoleBytes) ||
    !/^[0-9a-f]{64}$/.test(String(end.consoleSha256)) ||
    (end.stateSha256 !== undefined && !/^[0-9a-f]{64}$/.test(String(end.stateSha256)))
  ) {
    return bad(`"end" must hold instructions, outcome, consoleBytes, consoleSha256 and stateSha256`);
  }
  if (!Array.isArray(o.events)) return bad(`"events" must be a list`);
  let last = 0;
  const events = o.events.map((e: Record<string, unknown>, i: number): InputEvent => {
    const where = `event ${i}`;
    if (typeof e !== "object" || e === null || !isCount(e.at)) return bad(`${where}: no step count "at"`);
    if (e.at < last || e.at > end.instructions) {
      return bad(`${where}: step ${e.at} is out of order or after the end (${end.instructions})`);
    }
    last = e.at;
    if ("time" in e) {
      if (typeof e.time !== "number" || !Number.isFinite(e.time))
        return bad(`${where}: "time" is not a number`);
      return { at: e.at, kind: "time", ms: e.time };
    }
    if (e.stdin === null) return { at: e.at, kind: "stdin", bytes: null };
    if (typeof e.stdin !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(e.stdin)) {
      return bad(`${where}: "stdin" is not base64 (or null)`);
    }
    return { at: e.at, kind: "stdin", bytes: fromBase64(e.stdin) };
  });
  return { start, hostTime: o.hostTime === true, events, end };
}
