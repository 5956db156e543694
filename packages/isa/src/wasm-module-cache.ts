/**
 * Compiled region modules of this process by their bytes, shared by every wasm region
 * cache: a machine that compiles a region another (or an earlier) machine compiled —
 * a second boot in one process, a replay or a fork running the same code, the warm-up's
 * regions — instantiates the module it already has instead of compiling it again, and
 * with it the optimised (TurboFan) code V8 made for it, which belongs to the module, not
 * to an instance. The bytes say everything about a region's code (its pcs, its code, the
 * memory layout it was made for; the memory itself is an import), so equal bytes are the
 * same code. The least recently used are dropped past `MAX_MODULES` (a Linux boot
 * compiles ≈ 70, the warm-up's included; each module holds a few tens of KB of code).
 */
const MAX_MODULES = 256;

interface Entry {
  readonly bytes: Uint8Array;
  readonly module: WebAssembly.Module;
}

/** By hash of the bytes; an entry's hash is taken again to find it (collisions are compared). */
const modules = new Map<number, Entry[]>();
let count = 0;

/** FNV-1a over the bytes, four at a time (the same wherever the bytes lie). */
function hash(bytes: Uint8Array): number {
  let h = 0x811c9dc5 ^ bytes.length;
  const end = bytes.length & ~3;
  let i = 0;
  for (; i < end; i += 4) {
    const word = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = Math.imul(h ^ word, 0x01000193);
  }
  for (; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The module compiled from these bytes before, if this process still has it. */
export function cachedModule(bytes: Uint8Array): WebAssembly.Module | undefined {
  const h = hash(bytes);
  const list = modules.get(h);
  if (list === undefined) return undefined;
  const entry = list.find((e) => same(e.bytes, bytes));
  if (entry === undefined) return undefined;
  // Most recently used last (Map order is insertion order).
  modules.delete(h);
  modules.set(h, list);
  return entry.module;
}

/** Keeps `module`, compiled from `bytes` (which must not change afterwards). */
export function rememberModule(bytes: Uint8Array, module: WebAssembly.Module): void {
  const h = hash(bytes);
  const list = modules.get(h);
  if (list?.some((e) => same(e.bytes, bytes)) === true) return;
  if (list === undefined) modules.set(h, [{ bytes, module }]);
  else list.push({ bytes, module });
  count++;
  while (count > MAX_MODULES) {
    const [oldest, entries] = modules.entries().next().value as [number, Entry[]];
    modules.delete(oldest);
    count -= entries.length;
  }
}

/**
 * Drops every module kept: the next machine compiles its regions again, as the first in a
 * process does (benchmarks that time a boot per machine rather than per process use it).
 */
export function forgetCompiledModules(): void {
  modules.clear();
  count = 0;
}
