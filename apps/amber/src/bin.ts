import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { main } from "./cli.js";
import { nodeEnv } from "./node-env.js";

// The image formats need the zstd and xxhash WASM modules: load them once, before any command.
await initCodecs();
await initCheckpoint();
process.exitCode = await main(process.argv.slice(2), nodeEnv(), (text) => {
  process.stdout.write(text);
});
