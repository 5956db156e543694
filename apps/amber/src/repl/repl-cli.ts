import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { replCommand } from "./repl-command.js";

/** `amber repl`: its options and help. */
export function registerReplCommand(program: Command, ctx: CliContext): void {
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
:disk-trace [on|off|FILE], :compact [NAME...|auto on|off], :balloon [SIZE], :help, :quit.
Saves are fast (uncompressed); while the REPL is idle (AMBER_IDLE_COMPACT_MS, default
5000) they are recompressed to zstd in a worker thread, digests kept.
A machine directory holds machine.json, program.elf and worlds/NAME.amber.

Exit status: 0 after :quit, the guest's own when it powers off, 125 when a world or
program cannot be loaded, 2 for a bad command line.`,
    )
    .action((target: string | undefined, options) => {
      ctx.setStatus(
        replCommand(ctx.env, target, options, ctx.streams()).catch((e: unknown) => ctx.report(e)),
      );
    });
}
