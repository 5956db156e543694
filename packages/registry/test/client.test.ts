import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import {
  initRegistry,
  isRegistryError,
  parseRef,
  RegistryClient,
  runAsync,
  runSync,
  sha256Digest,
} from "../src/index.js";
import { WorkerTransport } from "../src/node/index.js";
import { TestRegistry } from "./registry-server.js";

const HAVE = hostTool("docker-registry", ["--version"]) && hostTool("htpasswd", ["-Bbn", "a", "b"]);

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Byte equality without vitest's element-by-element deep compare (slow on megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => resolve(Buffer.concat(parts)));
  });
}

/** A forwarding proxy in front of the registry whose `drop` rule can cut requests. */
async function proxy(
  target: string,
  drop: (method: string, n: number) => boolean,
): Promise<{ server: Server; host: string; errors: string[] }> {
  let n = 0;
  const errors: string[] = [];
  const server = createServer(async (req, res) => {
    const data = await body(req);
    if (drop(req.method!, n++)) {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
    let r: Response;
    try {
      r = await fetch(`http://${target}${req.url}`, {
        method: req.method,
        headers,
        body:
          data.length > 0 || req.method === "PUT" || req.method === "PATCH"
            ? new Uint8Array(data)
            : undefined,
      });
    } catch (e) {
      errors.push(String((e as Error & { cause?: Error }).cause ?? e));
      req.socket.destroy();
      return;
    }
    const out = Buffer.from(await r.arrayBuffer());
    const h: Record<string, string> = {};
    r.headers.forEach((v, k) => {
      h[k] = k === "location" ? v.replace(target, host) : v;
    });
    delete h["content-length"];
    delete h["transfer-encoding"];
    res.writeHead(r.status, h);
    res.end(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { server, host, errors };
}

describe.runIf(HAVE)("registry client against Debian's docker-registry", () => {
  const open = new TestRegistry();
  const locked = new TestRegistry({ user: "amber", password: "s3cret pass" });

  beforeAll(async () => {
    await initRegistry();
    await Promise.all([open.start(), locked.start()]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([open.stop(), locked.stop()]);
  });

  it("uploads monolithically and in PATCH pieces, HEADs, reads whole and by Range (206), stores manifests", async () => {
    const c = new RegistryClient(parseRef(`${open.host}/client/blobs`, { insecure: true }), {
      monolithicMax: 1 << 20,
      uploadPiece: 256 << 10,
    });
    await runAsync(c.ping());
    const small = bytesOf(70_000, 1);
    const big = bytesOf(1_300_000, 2);
    const ds = sha256Digest(small);
    const db = sha256Digest(big);
    expect(await runAsync(c.headBlob(ds))).toBeUndefined();
    await runAsync(c.uploadBlob(small, ds));
    const patchesBefore = c.traffic.requests;
    await runAsync(c.uploadBlob(big, db));
    expect(c.traffic.requests - patchesBefore).toBe(1 + 5 + 1); // POST, 5 PATCHes, PUT
    expect(await runAsync(c.headBlob(db))).toBe(big.length);
    expect(same(await runAsync(c.getBlob(ds, small.length)), small)).toBe(true);
    expect(
      same(await runAsync(c.getBlobRange(db, 1_000_000, 1000)), big.subarray(1_000_000, 1_001_000)),
    ).toBe(true);
    const ranged = new RegistryClient(c.ref, { rangePiece: 300_000 });
    expect(same(await runAsync(ranged.getBlob(db, big.length)), big)).toBe(true);
    // The same operations run synchronously through the worker transport.
    const t = new WorkerTransport();
    try {
      expect(same(runSync(c.getBlob(ds, small.length), t), small)).toBe(true);
      expect(runSync(c.headBlob(sha256Digest(bytesOf(10, 9))), t)).toBeUndefined();
    } finally {
      t.close();
    }
  }, 60_000);

  it("answers Basic auth challenges with the credentials; without or with wrong ones fails in one line", async () => {
    const ref = parseRef(`${locked.host}/client/auth:v1`, { insecure: true });
    const good = new RegistryClient(ref, { credentials: { username: "amber", password: "s3cret pass" } });
    const blob = bytesOf(5000, 3);
    await runAsync(good.uploadBlob(blob, sha256Digest(blob)));
    expect(same(await runAsync(good.getBlob(sha256Digest(blob))), blob)).toBe(true);
    for (const c of [
      new RegistryClient(ref),
      new RegistryClient(ref, { credentials: { username: "amber", password: "no" } }),
    ]) {
      const e = await errorOf(runAsync(c.ping()));
      expect(isRegistryError(e) && e.code).toBe("UNAUTHORIZED");
      expect(e.message).toMatch(new RegExp(`^${locked.host}/client/auth:v1: `));
      expect(e.message).not.toContain("\n");
    }
  }, 60_000);

  it("resumes a chunked upload whose PATCH was cut, and retries requests whose connection was reset", async () => {
    // The 3rd PATCH's connection is reset before it reaches the registry; then every 4th GET.
    let patches = 0;
    const { server, host, errors } = await proxy(
      open.host,
      (method, n) => (method === "PATCH" && ++patches === 3) || (method === "GET" && n % 4 === 3),
    );
    try {
      const c = new RegistryClient(parseRef(`${host}/client/resume`, { insecure: true }), {
        monolithicMax: 100_000,
        uploadPiece: 100_000,
        backoffMs: 1,
      });
      const big = bytesOf(450_000, 4);
      const d = sha256Digest(big);
      await runAsync(c.uploadBlob(big, d));
      expect(c.traffic.retries).toBeGreaterThanOrEqual(1);
      for (let i = 0; i < 4; i++) expect(same(await runAsync(c.getBlob(d, big.length)), big)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      server.close();
    }
  }, 60_000);

  it("gives up after its attempts with a one-line NETWORK error naming the REF", async () => {
    const c = new RegistryClient(parseRef("http://127.0.0.1:9/x/y:z"), { attempts: 3, backoffMs: 1 });
    const e = await errorOf(runAsync(c.ping()));
    expect(isRegistryError(e) && e.code).toBe("NETWORK");
    expect(e.message).toMatch(/^http:\/\/127\.0\.0\.1:9\/x\/y:z: .*after 3 attempts$/);
    // HTTPS to a plain-HTTP registry is not retried; the message says what to do.
    const tls = await errorOf(runAsync(new RegistryClient(parseRef(`${open.host}/x/y:z`)).ping()));
    expect(tls.message).toMatch(/TLS with 127\.0\.0\.1:\d+ failed .*needs http:\/\/ or --insecure$/);
  });
});

describe("retries", () => {
  it("retries 5xx and 429 answers with backoff, then succeeds", async () => {
    await initRegistry();
    const statuses = [503, 502, 429, 200];
    let n = 0;
    const server = createServer((_, res) => {
      const status = statuses[Math.min(n++, statuses.length - 1)]!;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status === 200 ? "{}" : '{"errors":[{"code":"UNAVAILABLE"}]}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const c = new RegistryClient(parseRef(`http://127.0.0.1:${port}/a/b`), { backoffMs: 1 });
      await runAsync(c.ping());
      expect(n).toBe(4);
      expect(c.traffic.retries).toBe(3);
      const few = new RegistryClient(parseRef(`http://127.0.0.1:${port}/a/b`), { backoffMs: 1, attempts: 2 });
      n = 0;
      const e = await errorOf(runAsync(few.ping()));
      expect(e.message).toMatch(/checking \/v2\/ \(after 2 attempts\): HTTP 502: UNAVAILABLE$/);
    } finally {
      server.close();
    }
  });
});

describe("Bearer token flow (a token service and registry speaking the distribution auth spec)", () => {
  it("follows the WWW-Authenticate challenge to the realm with Basic credentials and uses the token", async () => {
    await initRegistry();
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
      const host = req.headers.host!;
      if (req.url!.startsWith("/token")) {
        const u = new URL(req.url!, `http://${host}`);
        const ok = req.headers.authorization === `Basic ${Buffer.from("u:p").toString("base64")}`;
        res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
        res.end(JSON.stringify(ok ? { token: `tok-${u.searchParams.get("scope")}` } : {}));
        return;
      }
      if (req.headers.authorization !== "Bearer tok-repository:team/w:pull") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${host}/token",service="test-registry",scope="repository:team/w:pull"`,
        });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const c = new RegistryClient(parseRef(`http://127.0.0.1:${port}/team/w:1`), {
        credentials: { username: "u", password: "p" },
      });
      await runAsync(c.ping());
      await runAsync(c.ping());
      expect(seen[0]).toMatch(/^GET \/v2\/ -$/);
      expect(seen[1]).toMatch(
        /^GET \/token\?service=test-registry&scope=repository%3Ateam%2Fw%3Apull Basic /,
      );
      expect(seen.slice(2)).toEqual([
        "GET /v2/ Bearer tok-repository:team/w:pull",
        "GET /v2/ Bearer tok-repository:team/w:pull",
      ]);
    } finally {
      server.close();
    }
  });
});
