import { COMMAND_GROUPS, loadCommands } from "./cli-commands.js";
import type { CliEnv } from "./cli-env.js";
import { runProgram } from "./cli-program.js";
import type { ReplStreams } from "./repl/repl-loop.js";

// Every command, loaded once: in-process callers (tests, tools) get a synchronous main().
// The `amber` program itself (bin.ts) loads only the command it runs.
const ALL_COMMANDS = await loadCommands(COMMAND_GROUPS);

/**
 * Runs the `amber` command line; returns the exit status instead of exiting (a promise of
 * it for `amber repl`, the one command that lives on the event loop).
 */
export function main(
  argv: readonly string[],
  env: CliEnv,
  writeOut: (text: string) => void,
  streams?: ReplStreams,
): number | Promise<number> {
  return runProgram(argv, env, writeOut, ALL_COMMANDS, streams);
}
