import type { Command } from "commander";
import type { CliEnv } from "./cli-env.js";
import type { ReplStreams } from "./repl/repl-loop.js";

/** What a command's registration gets: the environment and where its exit status goes. */
export interface CliContext {
  env: CliEnv;
  /** Data commander and the commands print (help, version, JSON). */
  writeOut(text: string): void;
  /** The REPL's streams (the process's own terminal unless a test gave others); made on first use. */
  streams(): ReplStreams;
  /** The command's exit status (a promise of it for commands on the event loop). */
  setStatus(status: number | Promise<number>): void;
  /** A status whose rejection is reported as one line (see error-line.ts) and becomes its exit status. */
  settled(status: number | Promise<number>): number | Promise<number>;
  /** Prints a failure as one line and gives its exit status. */
  report(e: unknown): number;
}

/** Adds one group of commands (and their options and help) to the program. */
export type RegisterCommands = (program: Command, ctx: CliContext) => void;
