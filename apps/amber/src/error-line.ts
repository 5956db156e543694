import { isCheckpointError } from "@amber/checkpoint";
import { isImageError } from "@amber/image";
import { MachineError } from "@amber/machine";
import { ExitCode } from "./exit-codes.js";
import { UserError } from "./user-error.js";

/**
 * Makes any text safe for one line of a terminal: control bytes (C0, DEL, C1), line and
 * paragraph separators become escapes (`\n`, `\x1b`, `\u2028`), so a damaged file's bytes
 * or a JSON excerpt can neither break the line nor drive the terminal.
 */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/**
 * The failure as the user's error it is, when it is one: a UserError, or a library's own
 * report about the files it was given (checkpoint, image, machine errors) — including those
 * met lazily, mid-run, when a page is first read. Undefined for a bug in Amber.
 */
export function asUserError(e: unknown): UserError | undefined {
  if (e instanceof UserError) return e;
  if (isCheckpointError(e) || isImageError(e) || e instanceof MachineError)
    return new UserError(e.message, ExitCode.Failure);
  return undefined;
}

/**
 * The one line printed for any failure, and the exit status. A bug (any other exception)
 * is one line too, naming itself as Amber's fault; `AMBER_DEBUG=1` adds its stack trace.
 */
export function errorReport(e: unknown, debug = false): { text: string; exitCode: number } {
  const user = asUserError(e);
  if (user !== undefined) return { text: `amber: ${oneLine(user.message)}\n`, exitCode: user.exitCode };
  const err = e instanceof Error ? e : new Error(String(e));
  const text = `amber: internal error (a bug in Amber, please report it): ${oneLine(`${err.name}: ${err.message}`)}${debug ? "" : " (AMBER_DEBUG=1 shows where)"}\n`;
  return { text: debug && err.stack ? `${text}${err.stack}\n` : text, exitCode: ExitCode.Failure };
}
