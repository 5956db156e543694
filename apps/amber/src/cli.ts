import { Command, CommanderError } from "commander";
import type { CliEnv } from "./cli-env.js";
import { registerCheckpointCommands } from "./commands/checkpoint.js";
import { registerCheckpointToolCommands } from "./commands/checkpoint-tools.js";
import { registerCompactCommand } from "./commands/compact.js";
import { registerImageCommands } from "./commands/image.js";
import { runCommand } from "./commands/run.js";
import { ExitCode } from "./exit-codes.js";
import { replCommand } from "./repl/repl-command.js";
import type { ReplStreams } from "./repl/repl-loop.js";
import { UserError } from "./user-error.js";
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
    .option("--ram <size>", "RAM size, e.g. 128M or 1G", "128M")
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
      "--disk <file[,format=raw|qcow2|amber][,rw]>",
      "attach a virtio disk (repeatable); writes are shadowed, the file unchanged, unless rw",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--save-disk-diff <out>",
      "after the run, save the disk's shadowed writes as a diff layer (.qcow2 or .amber)",
    )
    .option("--save-at <n>", "save the whole machine after exactly N instructions (with --save-to)")
    .option("--save-to <path>", "where --save-at saves the checkpoint (written atomically)")
    .option("--halt-after-save", "stop with status 0 once saved instead of running on")
    .option(
      "--parent <checkpoint>",
      "with --save-at: save an incremental image holding only the RAM pages that differ from this one's",
    )
    .addHelpText(
      "after",
      `
Exit status: the guest's own, or 124 when --max-insns ran out, 125 when Amber could
not load the program, 126 when the guest stopped on a trap it had no handler for,
2 for a bad command line.`,
    )
    .action((file: string | undefined, args: string[], options) => {
      status = runCommand(env, file, args, options);
    });

  program
    .command("repl")
    .description(
      "Live session on a machine: the guest console on the terminal, a monitor on ':' lines (:help); boots the Lisp world by default.",
    )
    .argument(
      "[target]",
      "a machine directory (resumes its current world), an ELF to boot, or a saved world to resume",
    )
    .option("--ram <size>", "RAM size when booting, e.g. 128M or 1G")
    .option("--dir <dir>", "machine directory for saved worlds (default ./amber-<program>)")
    .option("--no-jit", "interpret every instruction (no compilation to JavaScript); same results, slower")
    .addHelpText(
      "after",
      `
Lines not starting with ':' go to the guest. Monitor: :save [NAME] (save-and-continue,
incremental on the world this one came from), :saves, :restore NAME, :diff A [B], :regs,
:mem ADDR [LEN], :disas [ADDR] [N], :step [N], :continue, :break ADDR, :stats, :help, :quit.
A machine directory holds machine.json, program.elf and worlds/NAME.amber.

Exit status: 0 after :quit, the guest's own when it powers off, 125 when a world or
program cannot be loaded, 2 for a bad command line.`,
    )
    .action((target: string | undefined, options) => {
      status = replCommand(env, target, options, streams).catch((e: unknown) => {
        if (e instanceof UserError) {
          env.stderr(`amber: ${e.message}\n`);
          return e.exitCode;
        }
        throw e;
      });
    });

  registerCheckpointCommands(program, env, writeOut, (s) => {
    status = s;
  });
  registerCheckpointToolCommands(program, writeOut, (s) => {
    status = s;
  });
  registerImageCommands(program, env, writeOut, (s) => {
    status = s;
  });
  registerCompactCommand(program, writeOut, (s) => {
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
    if (e instanceof UserError) {
      env.stderr(`amber: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  return status;
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
