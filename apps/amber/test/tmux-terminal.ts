import { execFileSync, spawnSync } from "node:child_process";
import { hostTool } from "../../../tools/test-support/host-tool.js";

/** True when tmux is installed (the terminal tests drive a real terminal through it). */
export const HAVE_TMUX = hostTool("tmux", ["-V"]);

/**
 * A program running in a real terminal: a detached tmux session of a fixed size, driven
 * with send-keys and read with capture-pane, as a user at a terminal would drive it.
 */
export class TmuxTerminal {
  private constructor(readonly name: string) {}

  /** Starts `command` (a shell command line) in a new 120×40 terminal; the pane stays after it exits. */
  static start(name: string, command: string, cwd: string): TmuxTerminal {
    spawnSync("tmux", ["kill-session", "-t", name]);
    execFileSync(
      "tmux",
      [
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        "120",
        "-y",
        "40",
        "-c",
        cwd,
        `${command}; echo "[exit $?]"; sleep 600`,
      ],
      { env: { ...process.env, NO_COLOR: "1", TERM: "xterm-256color" } },
    );
    return new TmuxTerminal(name);
  }

  /** Keys as tmux names them ("Enter", "C-c", "Up", "Tab") or literal text with `literal`. */
  send(keys: string, literal = false): void {
    execFileSync("tmux", ["send-keys", "-t", this.name, ...(literal ? ["-l", keys] : [keys])]);
  }

  /** Types a line and presses Enter. */
  line(text: string): void {
    this.send(text, true);
    this.send("Enter");
  }

  /** The screen and its scrollback, as text. */
  screen(): string {
    return execFileSync("tmux", ["capture-pane", "-p", "-J", "-S", "-200", "-t", this.name], {
      encoding: "utf8",
    });
  }

  /**
   * Waits until the screen matches `pattern`; fails with the screen after `ms`. The default
   * is generous: it only bounds a failure, and on a loaded core a guest's answer can take
   * many seconds to arrive.
   */
  async waitFor(pattern: RegExp, ms = 120_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = this.screen();
      const m = text.match(pattern);
      if (m) return m;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}; the terminal shows:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    spawnSync("tmux", ["kill-session", "-t", this.name]);
  }
}
