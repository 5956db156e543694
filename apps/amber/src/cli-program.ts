import { Command, CommanderError } from "commander";
import type { CliContext, RegisterCommands } from "./cli-context.js";
import type { CliEnv } from "./cli-env.js";
import { useCache } from "./commands/registry-cache.js";
import { errorReport } from "./error-line.js";
import { ExitCode } from "./exit-codes.js";
import type { ReplStreams } from "./repl/repl-loop.js";
import { VERSION } from "./version.js";

/**
 * Runs the `amber` command line with the given command groups registered (all of them, or
 * only the one argv names: see cli-commands.ts); returns the exit status instead of exiting
 * (a promise of it for the commands that live on the event loop).
 */
export function runProgram(
  argv: readonly string[],
  env: CliEnv,
  writeOut: (text: string) => void,
  groups: readonly RegisterCommands[],
  streams?: ReplStreams,
): number | Promise<number> {
  let status: number | Promise<number> = ExitCode.Ok;
  const program = new Command("amber")
    .description("Amber: a RISC-V computer whose whole running state is a file.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut,
      writeErr: (text) => env.stderr(text),
      outputError: (text, write) => write(text.startsWith("error:") ? `amber: ${text}` : text),
    })
    .showSuggestionAfterError();

  const ctx: CliContext = {
    env,
    writeOut,
    streams: () => streams ?? processStreams(),
    setStatus: (s) => {
      status = s;
    },
    settled: (s) => settled(env, s),
    report: (e) => report(env, e),
  };
  for (const register of groups) register(program, ctx);
  // Commands that read a world from a registry (resume, repl, inspect, diff) share --cache.
  program.hook("preAction", (_, action) => useCache(action.opts().cache));

  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      ) {
        return ExitCode.Ok;
      }
      return ExitCode.Usage;
    }
    return report(env, e);
  }
  return status;
}

/** Prints any failure as one line (see error-line.ts) and gives its exit status. */
function report(env: CliEnv, e: unknown): number {
  const { text, exitCode } = errorReport(e, debugging());
  env.stderr(text);
  return exitCode;
}

const debugging = (): boolean => typeof process !== "undefined" && Boolean(process.env.AMBER_DEBUG);

/** A command's status; a command on the event loop (`--gdb`) reports its failures as one line too. */
function settled(env: CliEnv, status: number | Promise<number>): number | Promise<number> {
  if (typeof status === "number") return status;
  return status.catch((e: unknown) => report(env, e));
}

/** The REPL on the process's own terminal (or pipes). */
function processStreams(): ReplStreams {
  return {
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
    terminal: process.stdin.isTTY === true && process.stdout.isTTY === true,
  };
}
