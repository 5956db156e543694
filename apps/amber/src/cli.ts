import { Command, CommanderError } from "commander";
import type { CliEnv } from "./cli-env.js";
import { bisectCommand } from "./commands/bisect.js";
import { registerBundleCommand } from "./commands/bundle.js";
import { registerCheckpointCommands } from "./commands/checkpoint.js";
import { registerCheckpointToolCommands } from "./commands/checkpoint-tools.js";
import { registerCompactCommand } from "./commands/compact.js";
import { registerImageCommands } from "./commands/image.js";
import { registerImageByteCommands } from "./commands/image-bytes.js";
import { replayCommand } from "./commands/record-replay.js";
import { registerRegistryCommands } from "./commands/registry.js";
import { useCache } from "./commands/registry-open.js";
import { registerRelocateCommand } from "./commands/relocate.js";
import { runCommand } from "./commands/run.js";
import { registerScriptCommand } from "./commands/script.js";
import { errorReport } from "./error-line.js";
import { ExitCode } from "./exit-codes.js";
import { replCommand } from "./repl/repl-command.js";
import type { ReplStreams } from "./repl/repl-loop.js";
import { SERIAL_HELP } from "./serial/serial-spec.js";
import { VERSION } from "./version.js";

/**
 * Runs the `amber` command line; returns the exit status instead of exiting (a promise of
 * it for `amber repl`, the one command that lives on the event loop).
 */
export function main(
  argv: readonly string[],
  env: CliEnv,
  writeOut: (text: string) => void,
  streams: ReplStreams = processStreams(),
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

  program
    .command("run")
    .description("Run a RISC-V ELF program on the virt board; exit with the guest's exit status.")
    .argument("[file]", "RV32 ELF executable (e.g. built with picolibc --oslib=semihost)")
    .argument("[args...]", "arguments passed to the guest (semihosting command line)")
    .option("--ram <size>", "RAM size, e.g. 128M or 1G (a multiple of 4 KiB up to 2 GiB)", "128M")
    .option("--kernel <image>", "boot a kernel (raw Image or ELF) instead of a program, as QEMU's -kernel")
    .option("--bios <file>", "M-mode firmware (ELF or raw) loaded at the start of RAM, as QEMU's -bios")
    .option("--initrd <file>", "initial ramdisk for the kernel")
    .option("--append <args>", "kernel command line (device tree /chosen/bootargs)")
    .option("--max-insns <n>", "stop after N instructions (exit status 124 if the guest has not exited)")
    .option("--trace", "print every instruction executed on stderr")
    .option("--host-time", "guest time follows the host's clock (interactive use; not deterministic)")
    .option("--no-jit", "interpret every instruction (no compilation to JavaScript); same results, slower")
    .option("--stats", "print one JSON line of statistics on stderr at the end")
    .option(
      "--disk <file[,format=raw|qcow2|amber|vhdx|dmg][,rw]>",
      "attach a virtio disk (repeatable); writes are shadowed, the file unchanged, unless rw",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--balloon",
      "add a virtio memory balloon (free page reporting) in the last virtio slot: pages Linux reports free are dropped from saved images",
    )
    .option(
      "--save-disk-diff <out>",
      "after the run, save the disk's shadowed writes as a diff layer: .qcow2, or an Amber layer (.amberdisk; .amber is for worlds)",
    )
    .option("--serial <backend>", SERIAL_HELP)
    .option(
      "--worlds <dir>",
      'where a guest\'s (save-world "NAME") saves NAME.amber (default: the current directory)',
    )
    .option(
      "--disk-trace <file>",
      "write one line per guest write to a disk: instruction, disk, offset, length, layer",
    )
    .option("--save-at <n>", "save the whole machine after exactly N instructions (with --save-to)")
    .option("--save-to <path>", "where --save-at saves the checkpoint (written atomically)")
    .option("--halt-after-save", "stop with status 0 once saved instead of running on")
    .option(
      "--parent <checkpoint>",
      "with --save-at: save an incremental image holding only the RAM pages that differ from this one's",
    )
    .option("--gdb <[host:]port>", "serve the gdb remote protocol (with reverse execution) on this TCP port")
    .option("--wait", "with --gdb: do not start the guest before gdb attaches (as QEMU's -S)")
    .option(
      "--record <log>",
      "log every input the guest consumes (console, host time) to replay the run exactly",
    )
    .addHelpText(
      "after",
      `
Exit status: the guest's own, or 124 when --max-insns ran out, 125 when Amber could
not load the program, write --save-to or reach --save-at, 126 when the guest stopped on
a trap it had no handler for or waits for input that cannot come, 2 for a bad command
line.`,
    )
    .action((file: string | undefined, args: string[], options) => {
      status = settled(env, runCommand(env, file, args, options));
    });

  program
    .command("repl")
    .description(
      "Live session on a machine: the guest console on the terminal, a monitor on ':' lines (:help); boots the Lisp world by default.",
    )
    .argument(
      "[target]",
      "a machine directory (resumes its current world), an ELF to boot, a saved world to resume, or a registry REF (resumed lazily)",
    )
    .option("--ram <size>", "RAM size when booting, e.g. 128M or 1G")
    .option("--dir <dir>", "machine directory for saved worlds (default ./amber-<program>)")
    .option("--no-jit", "interpret every instruction (no compilation to JavaScript); same results, slower")
    .option("--cache <dir>", "chunk cache for a world resumed from a registry REF")
    .option(
      "--disk <file[,format=raw|qcow2|amber][,rw]>",
      "attach a disk when booting (repeatable, virtio slots in order); a resumed world brings its own",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option(
      "--no-idle-compact",
      "leave worlds saved with the fast codec as they are (by default, after 5 s idle they are recompressed to zstd in the background)",
    )
    .addHelpText(
      "after",
      `
Lines not starting with ':' go to the guest. Monitor: :save [NAME] (save-and-continue,
incremental on the world this one came from), :saves, :restore NAME, :diff A [B], :regs,
:mem ADDR [LEN], :disas [ADDR] [N], :step [N], :continue, :break ADDR, :stats, :disks,
:disk-trace [on|off|FILE], :compact [NAME...|auto on|off], :help, :quit.
Saves are fast (uncompressed); while the REPL is idle (AMBER_IDLE_COMPACT_MS, default
5000) they are recompressed to zstd in a worker thread, digests kept.
A machine directory holds machine.json, program.elf and worlds/NAME.amber.

Exit status: 0 after :quit, the guest's own when it powers off, 125 when a world or
program cannot be loaded, 2 for a bad command line.`,
    )
    .action((target: string | undefined, options) => {
      status = replCommand(env, target, options, streams).catch((e: unknown) => report(env, e));
    });

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
      status = replayCommand(env, file, options);
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
      status = bisectCommand(env, a, b, options);
    });

  registerCheckpointCommands(program, env, writeOut, (s) => {
    status = settled(env, s);
  });
  registerCheckpointToolCommands(program, writeOut, (s) => {
    status = s;
  });
  registerImageCommands(program, env, writeOut, (s) => {
    status = s;
  });
  registerRegistryCommands(program, env, writeOut, (s) => {
    status = s;
  });
  // Commands that read a world from a registry (resume, repl, inspect, diff) share --cache.
  program.hook("preAction", (_, action) => useCache(action.opts().cache));
  registerImageByteCommands(program, env, writeOut, (s) => {
    status = s;
  });
  registerBundleCommand(program, env, writeOut, (s) => {
    status = s;
  });
  registerScriptCommand(program, env, (s) => {
    status = s;
  });
  registerCompactCommand(program, writeOut, (s) => {
    status = s;
  });
  registerRelocateCommand(program, env, writeOut, (s) => {
    status = s;
  });

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
