// Bundles the CLI into one file. Workspace packages are bundled from their TypeScript
// sources (the "@amber/source" condition), so the app never depends on their dist/.

import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
export async function bundle(outfile = `${here}dist/amber.js`) {
  await build({
    entryPoints: [`${here}src/bin.ts`],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@amber/source"],
    sourcemap: true,
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __amberRequire } from 'node:module'; const require = __amberRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
