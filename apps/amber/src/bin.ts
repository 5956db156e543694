import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { main } from "./cli.js";
import { isForkWorker, serveFork } from "./commands/script-fork.js";
import { nodeEnv } from "./node-env.js";

// The image formats need the zstd and xxhash WASM modules: load them once, before any command.
await initCodecs();
await initCheckpoint();
// A copy made by a script's `fork` runs this program in a worker thread: it serves its session.
if (isForkWorker()) await serveFork();
else {
  process.exitCode = await main(process.argv.slice(2), nodeEnv(), (text) => {
    process.stdout.write(text);
  });
}
