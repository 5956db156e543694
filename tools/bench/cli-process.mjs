// Runs the bundled CLI as its users do: `amber` is dist/amber.js run through its shebang
// (`#!/usr/bin/env -S node FLAGS`), so a benchmark runs this Node (process.execPath) with
// the shebang's FLAGS (V8 heap settings the installed command has and `node amber.js`
// lacks), from a directory outside the workspace (the CLI as published: no node_modules
// beside it, so no optional native addon of the development tree is found).

import { readFileSync } from "node:fs";

/** The Node flags of `cli`'s shebang line (`#!/usr/bin/env -S node FLAGS`), [] for none. */
export function shebangFlags(cli) {
  const first = readFileSync(cli, "latin1").split("\n", 1)[0];
  const m = /^#!\S*env\s+-S\s+node((?:\s+\S+)*)\s*$/.exec(first) ?? /^#!\S*node((?:\s+\S+)*)\s*$/.exec(first);
  if (!m) return [];
  return m[1].trim().split(/\s+/).filter(Boolean);
}

/** The argv for process.execPath that runs `amber ARGS` as the installed command does. */
export function cliArgv(cli, args) {
  return [...shebangFlags(cli), cli, ...args];
}
