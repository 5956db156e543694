import type { CheckpointReader } from "@amber/checkpoint";

/**
 * The console's control channel between a guest and its host (spoken by Amber Lisp,
 * tools/guests/lisp): requests travel in-band on the UART, so they are console input and
 * output like any other byte — deterministic, recorded, and the same on QEMU.
 *
 *   guest → host   ESC "amber " MESSAGE "\n"   (never shown to the user)
 *     "save-world NAME"        the guest compacted itself and waits for the answer
 *     "compacted cells=… …"    the answer to a compact request (figures)
 *     "busy"                   a request came while the guest was not at its prompt
 *     "unknown-request"
 *   host → guest   ESC CODE
 *     "c"                      compact now (only honoured at the prompt)
 *     "s" / "r"                save-world's answer: saved / this is the resumed world
 *     "e" MESSAGE "\n"         save-world's answer: refused, and why
 *
 * ESC is 0x1d (ASCII group separator, Ctrl-]). An ESC line that does not start with
 * "amber " is not a control message and is shown as it came.
 */
export const CONTROL_ESCAPE = "\x1d";

/**
 * Section in which a saved world keeps the console's unfinished last line (the guest's
 * prompt, `tail`) and, for a world the guest saved itself, `awaits: "save-world"`: the
 * guest waits for save-world's answer, and a session resumed from the world tells it "r".
 */
export const CONSOLE_SECTION = "repl-console";

/** Whether a world was saved by the guest's own save-world (it waits for the answer "resumed"). */
export function savedByGuest(reader: CheckpointReader): boolean {
  return reader.hasSection(CONSOLE_SECTION) && reader.section(CONSOLE_SECTION).fields.awaits === "save-world";
}
const PREFIX = "amber ";
/** A control line longer than this is not one (shown as it came). */
const MAX_CONTROL = 512;

/** Host → guest requests and answers (see above). */
export const ControlCode = {
  compact: `${CONTROL_ESCAPE}c`,
  saved: `${CONTROL_ESCAPE}s`,
  resumed: `${CONTROL_ESCAPE}r`,
  refused: (why: string) => `${CONTROL_ESCAPE}e${oneLine(why)}\n`,
} as const;

/** `text` without line ends or escapes (a refusal's message is one line to the guest). */
function oneLine(text: string): string {
  let out = "";
  for (const ch of text) out += ch === "\r" || ch === "\n" || ch === CONTROL_ESCAPE ? " " : ch;
  return out;
}

/** Splits console output text into what is shown and the control messages it carried. */
export class ControlFilter {
  /** Inside a control line: what came of it so far. */
  private partial: string | undefined;

  /** Whether the last `filter` call met a control line (or was inside one): its text differs. */
  touched = false;

  /** Text to show, and the messages (without ESC, prefix and newline) completed by `text`. */
  filter(text: string): { shown: string; messages: string[] } {
    this.touched = this.partial !== undefined || text.includes(CONTROL_ESCAPE);
    let shown = "";
    const messages: string[] = [];
    let rest = text;
    for (;;) {
      if (this.partial !== undefined) {
        const nl = rest.indexOf("\n");
        const line = this.partial + (nl < 0 ? rest : rest.slice(0, nl));
        if (nl < 0 && line.length <= MAX_CONTROL && PREFIX.startsWith(line.slice(0, PREFIX.length))) {
          this.partial = line;
          return { shown, messages };
        }
        this.partial = undefined;
        if (nl >= 0 && line.startsWith(PREFIX) && line.length <= MAX_CONTROL) {
          messages.push(line.slice(PREFIX.length));
          rest = rest.slice(nl + 1);
        } else {
          // Not a control line: show it as it came.
          shown += CONTROL_ESCAPE + line + (nl < 0 ? "" : "\n");
          rest = nl < 0 ? "" : rest.slice(nl + 1);
        }
      }
      const esc = rest.indexOf(CONTROL_ESCAPE);
      if (esc < 0) return { shown: shown + rest, messages };
      shown += rest.slice(0, esc);
      this.partial = "";
      rest = rest.slice(esc + 1);
    }
  }
}
