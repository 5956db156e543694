import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { initRegistry } from "@amber/registry";
import { main } from "./cli.js";
import { nodeEnv } from "./node-env.js";

// The image formats need the zstd and xxhash WASM modules: load them once, before any command.
await initCodecs();
await initCheckpoint();
await initRegistry();
process.exitCode = await main(process.argv.slice(2), nodeEnv(), (text) => {
  process.stdout.write(text);
});
