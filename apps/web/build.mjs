// Builds the web app into dist/: index.html, app.js (the page), worker.js (the machine),
// xterm.css, style.css and guests/ (the Lisp ELF, the Linux kernel and firmware). Any
// static file server can host the folder (serve.mjs adds the COOP/COEP headers).
// Workspace packages are bundled from their TypeScript sources ("@amber/source").
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "../..");

/** The guests the menu boots, from the repository's committed outputs. */
export const GUESTS = {
  "lisp.elf": join(root, "tools/guests/lisp/out/lisp.elf"),
  "Image-mmu": join(root, "tools/guests/linux/out/Image-mmu"),
  "firmware.elf": join(root, "tools/guests/linux/out/firmware.elf"),
};

export async function buildWeb(out = join(here, "dist")) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "guests"), { recursive: true });
  const common = {
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    conditions: ["@amber/source"],
    minify: true,
    sourcemap: true,
    logLevel: "warning",
  };
  await Promise.all([
    build({ ...common, entryPoints: [join(here, "src/main.ts")], outfile: join(out, "app.js") }),
    build({ ...common, entryPoints: [join(here, "src/worker.ts")], outfile: join(out, "worker.js") }),
  ]);
  const require = createRequire(join(here, "package.json"));
  copyFileSync(
    join(dirname(require.resolve("@xterm/xterm/package.json")), "css/xterm.css"),
    join(out, "xterm.css"),
  );
  copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
  copyFileSync(join(here, "src/style.css"), join(out, "style.css"));
  for (const [name, file] of Object.entries(GUESTS)) copyFileSync(file, join(out, "guests", name));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildWeb();
  console.log(`built ${out}`);
}
