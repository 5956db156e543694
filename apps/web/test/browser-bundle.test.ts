import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
// @ts-expect-error: a plain .mjs script without types
import { serve } from "../serve.mjs";
import { CHROMIUM, launchChromium } from "./support/chromium.js";

/**
 * What a user of the packages writes: compress zstd pages, hash with checkpoint's BLAKE3.
 * Bundled for the browser with esbuild and no options beyond --bundle --platform=browser.
 */
const ENTRY = `
import { initCodecs, encodePages, decodePages } from "@amber/compress";
import { initCheckpoint, blake3 } from "@amber/checkpoint";
export async function run() {
  await initCodecs();
  await initCheckpoint();
  const pages = new Uint8Array(4096 * 16);
  const text = new TextEncoder().encode("a world in amber ");
  for (let i = 0; i < pages.length / 2; i++) pages[i] = text[i % text.length];
  const file = encodePages(pages, { pageSize: 4096, codec: "zstd", level: 3 });
  const back = decodePages(file);
  let same = back.length === pages.length;
  for (let i = 0; same && i < pages.length; i++) same = back[i] === pages[i];
  const hex = [...blake3(file)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { same, stored: file.length, digest: hex };
}
`;

let dir: string;
let bundle: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "amber-browser-bundle-"));
  writeFileSync(join(dir, "entry.mjs"), ENTRY);
  await build({
    entryPoints: [join(dir, "entry.mjs")],
    outdir: join(dir, "out"),
    bundle: true,
    platform: "browser",
    format: "esm",
    conditions: ["@amber/source"],
    // resolve the workspace packages as a user's app would, from this package's node_modules
    nodePaths: [join(import.meta.dirname, "../node_modules")],
    logLevel: "silent",
  });
  bundle = join(dir, "out/entry.js");
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("@amber/compress and @amber/checkpoint bundled by esbuild for the browser", () => {
  it("the bundle is one JavaScript file carrying the zstd module (gzip, base64): no .wasm asset beside it", () => {
    expect(readdirSync(join(dir, "out"))).toEqual(["entry.js"]);
    expect(readFileSync(bundle, "utf8")).toMatch(/"H4sI[A-Za-z0-9+/]{100000,}={0,2}"/);
  });

  it("initCodecs() completes and zstd round-trips when the browser bundle runs (in Node)", async () => {
    const { run } = await import(pathToFileURL(bundle).href);
    const result = await run();
    expect(result.same).toBe(true);
    expect(result.stored).toBeLessThan(4096 * 4);
    expect(result.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it.runIf(hostTool(CHROMIUM))(
    "initCodecs() completes and zstd round-trips in Chromium, the same bytes as in Node",
    async () => {
      const { server, url } = await serve({ root: join(dir, "out") });
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        await page.goto(`${url}missing.html`); // any page of the origin: the module is imported below
        // A string, so that vitest's transform leaves the page's import() alone.
        const result = await page.evaluate(`import("${url}entry.js").then((m) => m.run())`);
        const { run } = await import(pathToFileURL(bundle).href);
        expect(result).toEqual(await run());
      } finally {
        await browser.close();
        server.close();
      }
    },
    120_000,
  );
});
