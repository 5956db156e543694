import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { bisectCommand } from "./bisect.js";
import { replayCommand } from "./record-replay.js";

/** `amber replay` and `amber bisect`: runs recorded with `amber run --record`. */
export function registerReplayCommands(program: Command, ctx: CliContext): void {
  program
    .command("replay")
    .description("Replay a run recorded with amber run --record, instruction for instruction, and check it.")
    .argument("<log>", "a replay log written by amber run --record LOG")
    .option("--stats", "print one JSON line of statistics on stderr at the end")
    .option("--json", "print the verdict as one JSON line on stdout instead of the console output")
    .addHelpText(
      "after",
      `
The machine is rebuilt from the files the log names (their SHA-256 must be unchanged); every
console byte and host-clock reading comes from the log at the instruction the guest consumed
it. The replay must end at the recorded instruction, the same way, with byte-identical
console output and the same final state digest.
Exit status: the recorded run's own (as amber run gives it) when the replay matches, 125
when it differs or the log cannot be used, 2 for a bad command line.`,
    )
    .action((file: string, options) => {
      ctx.setStatus(replayCommand(ctx.env, file, options));
    });

  program
    .command("bisect")
    .description("Find the first instruction at which two recorded runs from the same start differ.")
    .argument("<a>", "a replay log (amber run --record)")
    .argument("<b>", "another replay log recorded from the same program, files and options")
    .option("--json", "print the result as one JSON line")
    .addHelpText(
      "after",
      `
Both runs are replayed from their logs; a binary search over instruction counts (each probe
seeks both machines with in-memory snapshots and re-execution) finds the first instruction
after which their states (registers, CSRs, devices, RAM) differ. Prints that instruction's pc
and disassembly, and what differs right after it.
Exit status: 0 when found (or no difference), 125 when a log cannot be used or the runs
do not share a start, 2 for a bad command line.`,
    )
    .action((a: string, b: string, options) => {
      ctx.setStatus(bisectCommand(ctx.env, a, b, options));
    });
}
