import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { SERIAL_HELP } from "../serial/serial-spec.js";
import { runCommand } from "./run.js";

/** `amber run`: its options and help. */
export function registerRunCommand(program: Command, ctx: CliContext): void {
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
    .option(
      "--gdb <[host:]port>",
      "serve the gdb remote protocol (with reverse execution) on this TCP port; under continue an idle guest waits for its timer in wall time",
    )
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
      ctx.setStatus(ctx.settled(runCommand(ctx.env, file, args, options)));
    });
}
