import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS } from "../../../tools/test-support/chromium.mjs";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { initRegistry, parseRef, pushWorlds, RegistryClient, sha256Digest } from "../src/index.js";
import { TestRegistry } from "./registry-server.js";
import { makeWorld, noisePage, planChain } from "./worlds.js";

const HAVE = hostTool("docker-registry", ["--version"]) && hostTool("chromium", ["--version"]);

describe.runIf(HAVE)("in a browser (Chromium): the same client on the page's fetch", () => {
  const registry = new TestRegistry();
  let server: Server;
  let origin: string;
  let bundle: string;

  beforeAll(async () => {
    await Promise.all([initRegistry(), initCheckpoint(), registry.start()]);
    const out = await build({
      entryPoints: [fileURLToPath(new URL("./browser-entry.ts", import.meta.url))],
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      conditions: ["@amber/source"],
      logLevel: "silent",
    });
    bundle = out.outputFiles[0]!.text;
    // The page and the registry on one origin (the registry sends no CORS headers): /v2/ is forwarded.
    server = createServer(async (req, res) => {
      if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end('<!doctype html><script type="module" src="/bundle.js"></script>');
        return;
      }
      if (req.url === "/bundle.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(bundle);
        return;
      }
      const parts: Buffer[] = [];
      for await (const p of req) parts.push(p as Buffer);
      const body = Buffer.concat(parts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (
          typeof v === "string" &&
          !["host", "content-length", "connection", "origin", "referer"].includes(k)
        )
          headers[k] = v;
      const r = await fetch(`http://${registry.host}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(body),
      });
      const h: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (k !== "content-length" && k !== "transfer-encoding")
          h[k] = k === "location" ? v.replace(registry.host, new URL(origin).host) : v;
      });
      res.writeHead(r.status, h);
      res.end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }, 120_000);

  afterAll(async () => {
    server?.close();
    await registry.stop();
  });

  it("pings, uploads in PATCH pieces, reads a Range and pulls a world with its parent, every digest checked", async () => {
    const pages = new Map<number, Uint8Array>();
    for (let i = 0; i < 40; i++) pages.set(i, noisePage(i));
    const base = makeWorld(pages, undefined, "base.amber");
    const child = makeWorld(new Map([[3, noisePage(99)]]), base, "child.amber");
    await pushWorlds(
      new RegistryClient(parseRef(`${registry.host}/web/world:child`, { insecure: true })),
      planChain(child, 64 << 10),
      "child",
    );
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => "amberRegistryCheck" in globalThis, undefined, { timeout: 60_000 });
      const got = await page.evaluate(
        ([host]) =>
          (
            globalThis as unknown as { amberRegistryCheck: (h: string, r: string) => Promise<unknown> }
          ).amberRegistryCheck(host!, "web/world:child"),
        [new URL(origin).host],
      );
      expect(got).toEqual({
        range: [
          1000 % 251,
          1001 % 251,
          1002 % 251,
          1003 % 251,
          1004 % 251,
          1005 % 251,
          1006 % 251,
          1007 % 251,
        ],
        head: 300_000,
        worlds: [
          { sha256: sha256Digest(child.bytes), image: child.reader.digest },
          { sha256: sha256Digest(base.bytes), image: base.reader.digest },
        ],
      });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
