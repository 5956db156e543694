import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultZstdWasm } from "../src/codecs/zstd-wasm-embedded.js";
import { codecByName, initCodecs } from "../src/index.js";

describe("the zstd WASM module embedded for browser bundles", () => {
  it("unpacks to exactly the installed @bokuweb/zstd-wasm module (regenerate: scripts/embed-zstd-wasm.mjs)", async () => {
    const require = createRequire(join(import.meta.dirname, "../package.json"));
    const installed = readFileSync(join(dirname(require.resolve("@bokuweb/zstd-wasm")), "zstd.wasm"));
    const embedded = await defaultZstdWasm();
    expect(embedded).toBeDefined();
    expect(embedded!.length).toBe(installed.length);
    expect(Buffer.from(embedded!).equals(installed)).toBe(true);
    expect(WebAssembly.validate(embedded! as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  it("initCodecs({ zstdWasm }) rejects a module that is not WebAssembly, then loads on a later call", async () => {
    await expect(initCodecs({ zstdWasm: new Uint8Array([1, 2, 3, 4]) })).rejects.toThrow(
      /not a valid WebAssembly module/,
    );
    await initCodecs();
    const raw = new TextEncoder().encode("amber ".repeat(100));
    const zstd = codecByName("zstd");
    expect(zstd.decode(zstd.encode(raw, 3), raw.length)).toEqual(raw);
  });
});
