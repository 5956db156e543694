import { main } from "./cli.js";
import { nodeEnv } from "./node-env.js";

process.exitCode = main(process.argv.slice(2), nodeEnv(), (text) => {
  process.stdout.write(text);
});
