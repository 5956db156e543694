import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { initRegistry } from "@amber/registry";
import { commandGroupsFor, loadCommands } from "./cli-commands.js";
import { runProgram } from "./cli-program.js";
import { errorReport } from "./error-line.js";
import { nodeEnv, writeStdout } from "./node-env.js";
import { PROGRAM_WORKER_ARG, setProgramEntry } from "./program-entry.js";

// Last line of defence: whatever escapes a command (a lazily read page failing its checksum
// in the middle of a run, a bug) is one line and a documented exit status, never a stack trace.
function fatal(e: unknown): never {
  const { text, exitCode } = errorReport(e, Boolean(process.env.AMBER_DEBUG));
  process.stderr.write(text);
  process.exit(exitCode);
}
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);

async function start(): Promise<void> {
  // Worker threads (a script's `fork`, the REPL's idle compaction) run this same file.
  setProgramEntry(import.meta.url);
  const argv = process.argv.slice(2);
  // A worker thread of this program is started with PROGRAM_WORKER_ARG; a command line that
  // starts with it (`amber --amber-worker`) is refused as an unknown option.
  const worker =
    argv[0] === PROGRAM_WORKER_ARG && !process.getBuiltinModule("node:worker_threads").isMainThread;
  // Only the command that runs is initialised (cli-commands.ts), while the hashes load.
  const commands = worker ? undefined : loadCommands(commandGroupsFor(argv));
  // The image formats need the xxhash WASM module: load it once, before any command. zstd's
  // is loaded when a zstd block is first met (most runs meet none: saves store pages as they are).
  await initCodecs();
  await initCheckpoint();
  if (commands === undefined) {
    const [fork, compact] = await Promise.all([
      import("./commands/script-fork.js"),
      import("./repl/idle-compactor.js"),
    ]);
    await initRegistry();
    // A copy made by a script's `fork` runs this program in a worker thread: it serves its session.
    if (fork.isForkWorker()) await fork.serveFork();
    // The REPL's idle-time compaction runs one file in a worker thread of this program.
    else if (compact.isCompactWorker()) compact.serveCompact();
  } else {
    const groups = await commands;
    // After the commands: the ones that use a registry install Node's own SHA-256 (@amber/registry/node), then this loads nothing.
    await initRegistry();
    process.exitCode = await runProgram(argv, nodeEnv(), writeStdout, groups);
  }
}

// No top-level await: the bundle runs as a script (launcher.ts), not a module.
start().catch(fatal);
