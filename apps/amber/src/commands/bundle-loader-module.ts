// Head of `amber bundle -o app.mjs`: an ES module. Run by Node as a program it resumes the
// world on the terminal; imported (a browser, another module) it exports `start`.
import { runMain } from "./bundle-loader.js";

export { start } from "./bundle-loader.js";

const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
if (node !== undefined) {
  const fs = process.getBuiltinModule("node:fs");
  const url = process.getBuiltinModule("node:url");
  const self = url.fileURLToPath(import.meta.url);
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  if (process.argv[1] !== undefined && real(process.argv[1]) === real(self)) {
    await runMain(self, process.argv.slice(2));
  }
}
