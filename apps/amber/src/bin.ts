import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { initRegistry } from "@amber/registry";
import { main } from "./cli.js";
import { isForkWorker, serveFork } from "./commands/script-fork.js";
import { errorReport } from "./error-line.js";
import { nodeEnv } from "./node-env.js";
import { isCompactWorker, serveCompact } from "./repl/idle-compactor.js";

// Last line of defence: whatever escapes a command (a lazily read page failing its checksum
// in the middle of a run, a bug) is one line and a documented exit status, never a stack trace.
function fatal(e: unknown): never {
  const { text, exitCode } = errorReport(e, Boolean(process.env.AMBER_DEBUG));
  process.stderr.write(text);
  process.exit(exitCode);
}
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);

try {
  // The image formats need the zstd and xxhash WASM modules: load them once, before any command.
  await initCodecs();
  await initCheckpoint();
  await initRegistry();
  // A copy made by a script's `fork` runs this program in a worker thread: it serves its session.
  if (isForkWorker()) await serveFork();
  // The REPL's idle-time compaction runs one file in a worker thread of this program.
  else if (isCompactWorker()) serveCompact();
  else {
    process.exitCode = await main(process.argv.slice(2), nodeEnv(), (text) => {
      process.stdout.write(text);
    });
  }
} catch (e) {
  fatal(e);
}
