/**
 * The JavaScript side of @bokuweb/zstd-wasm's `zstd.wasm` (zstd compiled by Emscripten),
 * written here instead of the binding's own glue so the module can be instantiated
 * synchronously (on a zstd block's first use, in Node) as well as asynchronously: the
 * binding's glue only starts asynchronously. Only the one-shot calls the codec uses.
 *
 * The names are the minified ones of the pinned build (@bokuweb/zstd-wasm 0.0.27, the exact
 * version in package.json; the same file `scripts/embed-zstd-wasm.mjs` embeds for browsers).
 * `instantiateZstd` checks them, so another build fails with one clear message.
 */
interface ZstdExports {
  /** The module's memory (it defines its own). */
  f: WebAssembly.Memory;
  /** __wasm_call_ctors: run once after instantiation. */
  g(): void;
  /** ZSTD_isError(code) */
  h(code: number): number;
  /** ZSTD_compressBound(size) */
  i(size: number): number;
  /** ZSTD_compress(dst, dstCapacity, src, srcSize, level) */
  m(dst: number, capacity: number, src: number, size: number, level: number): number;
  /** ZSTD_decompress(dst, dstCapacity, src, srcSize) */
  r(dst: number, capacity: number, src: number, size: number): number;
  /** malloc(size) */
  s(size: number): number;
  /** free(ptr) */
  t(ptr: number): void;
}

const EXPORTS = ["f", "g", "h", "i", "m", "r", "s", "t"] as const;

/** zstd's one-shot calls on one instance of the module. */
export interface ZstdBinding {
  compress(raw: Uint8Array, level: number): Uint8Array;
  /** Throws on a corrupt frame; the result's length is what the frame decoded to. */
  decompress(stored: Uint8Array, capacity: number): Uint8Array;
}

const MAX_HEAP = 2 ** 31;
const WASM_PAGE = 65536;

/** Checks that `compiled` is the build this glue is written for. */
function check(compiled: WebAssembly.Module): void {
  const names = new Set(WebAssembly.Module.exports(compiled).map((e) => e.name));
  const missing = EXPORTS.filter((n) => !names.has(n));
  if (missing.length > 0) {
    throw new Error(
      `zstd.wasm is not the build of @bokuweb/zstd-wasm 0.0.27 (no export ${missing.join(", ")})`,
    );
  }
}

/** The imports one instance needs (its memory is known once instantiated: `bind` sets it). */
function linker(): { imports: WebAssembly.Imports; bind(instance: WebAssembly.Instance): ZstdBinding } {
  let memory: WebAssembly.Memory | undefined;
  const imports = {
    a: {
      // proc_exit, emscripten_runtime_keepalive_clear, abort, setitimer, resize_heap
      a: (code: number) => {
        throw new Error(`zstd.wasm exited (${code})`);
      },
      b: () => {},
      c: () => {
        throw new Error("zstd.wasm aborted");
      },
      d: () => 0,
      e: (requested: number) => (memory === undefined ? 0 : grow(memory, requested >>> 0)),
    },
  };
  return {
    imports,
    bind(instance) {
      const x = instance.exports as unknown as ZstdExports;
      memory = x.f;
      x.g();
      return wrap(x);
    },
  };
}

/** Instantiates a compiled zstd.wasm synchronously (Node: it is small, well under 1 ms). */
export function instantiateZstd(compiled: WebAssembly.Module): ZstdBinding {
  check(compiled);
  const l = linker();
  return l.bind(new WebAssembly.Instance(compiled, l.imports));
}

/** The same, asynchronously (browsers refuse synchronous instantiation of big modules). */
export async function instantiateZstdAsync(compiled: WebAssembly.Module): Promise<ZstdBinding> {
  check(compiled);
  const l = linker();
  return l.bind(await WebAssembly.instantiate(compiled, l.imports));
}

function wrap(x: ZstdExports): ZstdBinding {
  /** A fresh allocation of `size` bytes (at least one: malloc(0) may give 0). */
  const alloc = (size: number): number => {
    const at = x.s(Math.max(1, size));
    if (at === 0) throw new Error(`zstd.wasm could not allocate ${size} bytes`);
    return at;
  };
  /** Runs `call(dst, src)` on a copy of `input` and an output of `capacity`; copies the result out. */
  const oneShot = (input: Uint8Array, capacity: number, call: (dst: number, src: number) => number) => {
    const src = alloc(input.length);
    let dst = 0;
    try {
      new Uint8Array(x.f.buffer).set(input, src);
      dst = alloc(capacity);
      const n = call(dst, src);
      if (x.h(n)) return { code: n >>> 0 };
      // The buffer is read after the calls: an allocation may have grown (replaced) it.
      return { out: new Uint8Array(x.f.buffer, dst, n >>> 0).slice() };
    } finally {
      x.t(src);
      if (dst !== 0) x.t(dst);
    }
  };
  return {
    compress(raw, level) {
      const r = oneShot(raw, x.i(raw.length) >>> 0, (dst, src) =>
        x.m(dst, x.i(raw.length), src, raw.length, level),
      );
      if (r.out === undefined) throw new Error(`compression failed (code ${r.code})`);
      return r.out;
    },
    decompress(stored, capacity) {
      const r = oneShot(stored, capacity, (dst, src) => x.r(dst, capacity, src, stored.length));
      if (r.out === undefined) throw new Error(`decompression failed (code ${r.code})`);
      return r.out;
    },
  };
}

/** emscripten_resize_heap: grows the memory to at least `requested` bytes; 1 if it did. */
function grow(memory: WebAssembly.Memory, requested: number): number {
  const old = memory.buffer.byteLength;
  if (requested > MAX_HEAP) return 0;
  // As Emscripten's own: 20 % more than now (at most 96 MiB over the request), else exactly.
  const generous = Math.min(old * 1.2, requested + 96 * 2 ** 20);
  for (const size of [Math.max(requested, generous), requested]) {
    const target = Math.min(MAX_HEAP, Math.ceil(size / WASM_PAGE) * WASM_PAGE);
    try {
      memory.grow((target - old) / WASM_PAGE);
      return 1;
    } catch {
      // too much at once: try the exact request
    }
  }
  return 0;
}
