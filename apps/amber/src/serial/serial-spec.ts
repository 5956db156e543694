import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/**
 * Where the guest's console (the UART, and semihosting's stdin/stdout) goes, written as
 * QEMU's `-serial` back ends: `stdio`, `file:PATH` (output only), `tcp:HOST:PORT[,server]`,
 * `unix:PATH[,server]` (a socket, connected to or listened on) and `none`.
 */
export type SerialSpec =
  | { kind: "stdio" }
  | { kind: "none" }
  | { kind: "file"; path: string }
  | { kind: "tcp"; host: string; port: number; server: boolean }
  | { kind: "unix"; path: string; server: boolean };

/** `--serial`'s help text (run and resume). */
export const SERIAL_HELP =
  "the console (UART and semihosting I/O), as QEMU's -serial: stdio (default), file:PATH (output only), tcp:HOST:PORT[,server], unix:PATH[,server] (waits for the connection), none";

export const SERIAL_FORMS = "stdio, file:PATH, tcp:HOST:PORT[,server], unix:PATH[,server] or none";

/** The text of a SerialSpec, as the user would write it (for messages). */
export function serialText(s: SerialSpec): string {
  switch (s.kind) {
    case "stdio":
    case "none":
      return s.kind;
    case "file":
      return `file:${s.path}`;
    case "tcp":
      return `tcp:${s.host}:${s.port}${s.server ? ",server" : ""}`;
    case "unix":
      return `unix:${s.path}${s.server ? ",server" : ""}`;
  }
}

/** Reads `--serial TEXT`; a usage error (exit 2) names what was not understood. */
export function parseSerialSpec(text: string): SerialSpec {
  const bad = (why: string): never => {
    throw new UserError(`--serial ${text}: ${why} (give ${SERIAL_FORMS})`, ExitCode.Usage);
  };
  if (text === "stdio" || text === "none") return { kind: text };
  const colon = text.indexOf(":");
  if (colon < 0) return bad("unknown back end");
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === "file") {
    if (rest === "") bad("no file named");
    return { kind: "file", path: rest };
  }
  if (kind !== "tcp" && kind !== "unix") return bad(`unknown back end "${kind}"`);
  const [address = "", ...flags] = rest.split(",");
  let server = false;
  for (const f of flags) {
    if (f === "server" || f === "server=on") server = true;
    else if (f === "server=off") server = false;
    else bad(`unknown option "${f}"`);
  }
  if (kind === "unix") {
    if (address === "") bad("no socket path");
    return { kind: "unix", path: address, server };
  }
  const at = address.lastIndexOf(":");
  const host = at < 0 ? "" : address.slice(0, at);
  const portText = at < 0 ? address : address.slice(at + 1);
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65535) || (port === 0 && !server)) bad(`"${portText}" is not a port`);
  return { kind: "tcp", host: host === "" ? "127.0.0.1" : host, port, server };
}
