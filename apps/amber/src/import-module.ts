/**
 * `import(url)` of a module outside the CLI (a user's script). The bundled CLI runs as a
 * compiled script (launcher.ts, for V8's code cache), where `import()` itself is refused
 * without Node's --experimental-vm-modules: the launcher, a real ES module, lends its own.
 */
export function importModule(url: string): Promise<unknown> {
  const lent = (globalThis as { __amberImport?: (url: string) => Promise<unknown> }).__amberImport;
  return lent !== undefined ? lent(url) : import(url);
}
