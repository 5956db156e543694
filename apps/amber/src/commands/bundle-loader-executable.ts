// Head of `amber bundle --exe`: the script of a Node single executable application, so
// CommonJS; it always runs as the program.
import { runMain } from "./bundle-loader.js";

// In a single executable application argv[0] and argv[1] both name the executable.
void runMain(process.execPath, process.argv.slice(2));
