import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: build.mjs is plain JavaScript without types
import { bundle } from "../build.mjs";
import { HAVE_TMUX, TmuxTerminal } from "./tmux-terminal.js";

const LINUX = resolve("tools/guests/linux/out");
let tmp: string;
let cli: string;
let terminal: TmuxTerminal | undefined;

beforeAll(async () => {
  if (!HAVE_TMUX) return;
  tmp = mkdtempSync(join(tmpdir(), "amber-record-"));
  cli = await bundle(join(tmp, "dist", "amber.js"));
}, 60_000);
afterAll(() => {
  terminal?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// A Linux shell session typed at a real terminal (tmux), recorded, then replayed.
describe.skipIf(!HAVE_TMUX)("recording a Linux shell session typed at a terminal", () => {
  it("replays it instruction for instruction: byte-identical console output, the same final state", async () => {
    terminal = TmuxTerminal.start(
      `amber-record-${process.pid}`,
      `node ${cli} run --host-time --kernel ${LINUX}/Image-mmu --bios ${LINUX}/firmware.elf --record session.log`,
      tmp,
    );
    // Each line is typed once the shell's prompt is on the screen, as a user would: a line
    // typed before the shell prints its prompt is echoed by the guest's tty before that
    // prompt (the console output would then read "count 3" and only then "amber# "), and
    // under load Amber can hand "hello from amber" to the terminal a slice before the prompt.
    await terminal.waitFor(/^amber# $/m, 120_000);
    terminal.line("echo hello from amber");
    await terminal.waitFor(/^hello from amber\s*\namber# $/m);
    terminal.line("count 3");
    await terminal.waitFor(/^3\s*\namber# $/m);
    terminal.line("poweroff");
    await terminal.waitFor(/\[exit 0\]/, 120_000);

    const log = JSON.parse(readFileSync(join(tmp, "session.log"), "utf8"));
    const typed = log.events
      .filter((e: { stdin?: string }) => typeof e.stdin === "string")
      .map((e: { stdin: string }) => Buffer.from(e.stdin, "base64").toString("latin1"))
      .join("");
    expect(typed).toBe("echo hello from amber\rcount 3\rpoweroff\r");
    expect(log.events.some((e: { time?: number }) => e.time !== undefined)).toBe(true);

    const replay = spawnSync("node", [cli, "replay", "session.log"], { cwd: tmp, timeout: 300_000 });
    expect(replay.stderr.toString()).toMatch(
      /matches the recording: \d+ instructions, \d+ inputs, console output identical \(\d+ bytes\)/,
    );
    expect(replay.status).toBe(0);
    const out = replay.stdout.toString("latin1");
    expect(out).toMatch(
      /amber# echo hello from amber\r?\nhello from amber\r?\namber# count 3\r?\n1\r?\n2\r?\n3/,
    );
    expect(replay.stdout.length).toBe(log.end.consoleBytes);
    const verdict = JSON.parse(
      spawnSync("node", [cli, "replay", "session.log", "--json"], {
        cwd: tmp,
        timeout: 300_000,
      }).stdout.toString(),
    );
    expect(verdict.matches).toBe(true);
    expect(verdict.stateSha256).toBe(log.end.stateSha256);
  }, 600_000);
});
