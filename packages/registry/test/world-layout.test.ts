import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import {
  initRegistry,
  isRegistryError,
  MemoryBlobCache,
  parseRef,
  planWorld,
  pullWorlds,
  pushWorlds,
  RegistryClient,
  runAsync,
  sha256Digest,
  WORLD_ARTIFACT_TYPE,
} from "../src/index.js";
import { DirectoryBlobCache, openRemote } from "../src/node/index.js";
import { TestRegistry } from "./registry-server.js";
import { type LocalWorld, makeWorld, noisePage, planChain } from "./worlds.js";

const HAVE = hostTool("docker-registry", ["--version"]);
const CHUNK = 64 << 10;

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

describe.runIf(HAVE)("worlds in a registry: chunks, parents, lazy reads", () => {
  const registry = new TestRegistry();
  let base: LocalWorld;
  let child: LocalWorld;
  let dir: string;
  const ref = (repo: string) => parseRef(`${registry.host}/${repo}`, { insecure: true });

  beforeAll(async () => {
    await Promise.all([initRegistry(), initCheckpoint(), registry.start()]);
    dir = mkdtempSync(join(tmpdir(), "amber-worlds-"));
    const pages = new Map<number, Uint8Array>();
    for (let i = 0; i < 300; i++) pages.set(i * 7, noisePage(i));
    base = makeWorld(pages, undefined, "base.amber");
    child = makeWorld(
      new Map([
        [7, noisePage(1000)],
        [5000, noisePage(1001)],
      ]),
      base,
      "child.amber",
    );
  }, 120_000);
  afterAll(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pushes a base and an incremental child (only what the registry lacks) and reads the child lazily", async () => {
    const c = new RegistryClient(ref("worlds/lisp:base"));
    const pushedBase = await pushWorlds(c, planChain(base, CHUNK), "base");
    expect(pushedBase.uploadedBytes).toBeGreaterThan(base.bytes.length);
    const cc = new RegistryClient(ref("worlds/lisp:child"));
    const plans = planChain(child, CHUNK);
    const pushed = await pushWorlds(cc, plans, "child");
    // The base world is found by its manifest digest and skipped whole: only the child's blobs go up.
    expect(pushed.uploadedBytes).toBeLessThan(child.bytes.length + 4096);
    expect(pushed.manifests[0]).toBe(pushedBase.manifests[0]);
    const m = JSON.parse(new TextDecoder().decode(plans[1]!.manifest));
    expect(m.artifactType).toBe(WORLD_ARTIFACT_TYPE);
    expect(m.annotations["org.amber.world.parent"]).toBe(pushedBase.manifests[0]);

    const remote = openRemote(ref("worlds/lisp:child"), { cache: new MemoryBlobCache() });
    try {
      const r = remote.reader;
      expect(r.digest).toBe(child.reader.digest);
      expect(r.parent?.digest).toBe(base.reader.digest);
      const openLoads = remote.files.map((f) => f.loads);
      const ram = r.segment("ram");
      expect(same(ram.readPage(7), noisePage(1000))).toBe(true);
      expect(same(ram.readPage(14), noisePage(2))).toBe(true);
      expect(ram.readPage(3).every((b) => b === 0)).toBe(true);
      // A few chunks touched, far from all of them.
      const baseChunks = remote.files[1]!.chunks.length;
      expect(remote.files[1]!.loads - openLoads[1]!).toBeLessThanOrEqual(3);
      expect(remote.files[1]!.loads).toBeLessThan(baseChunks / 2);
      for (const [p, bytes] of child.pages) expect(same(ram.readPage(p), bytes), `page ${p}`).toBe(true);
      r.verify();
    } finally {
      remote.close();
    }
  }, 120_000);

  it("stores 20 forks of one base in little more than the base plus 20 deltas", async () => {
    const c = new RegistryClient(ref("worlds/forks"));
    const [basePlan] = planChain(base, CHUNK);
    await pushWorlds(c, [basePlan!], "base");
    const before = registry.blobBytes();
    let deltas = 0;
    for (let k = 0; k < 20; k++) {
      const fork = makeWorld(
        new Map([
          [k * 11, noisePage(5000 + k)],
          [4000 + k, noisePage(6000 + k)],
        ]),
        base,
        `f${k}.amber`,
      );
      deltas += fork.bytes.length;
      const plan = planWorld(fork.reader, fork.bytes, basePlan, CHUNK, sha256Digest);
      await pushWorlds(new RegistryClient(ref(`worlds/forks:f${k}`)), [basePlan!, plan], `f${k}`);
    }
    const grown = registry.blobBytes() - before;
    // Each fork: its own image (2 pages + tables) and a small config; nothing of the base again.
    expect(grown).toBeGreaterThanOrEqual(deltas);
    expect(grown).toBeLessThan(deltas + 20 * 4096);
    expect(grown).toBeLessThan(base.bytes.length);
  }, 120_000);

  it("a registry serving a wrong byte fails the read in one line naming REF, chunk digest and offset", async () => {
    const c = new RegistryClient(ref("worlds/corrupt:v1"));
    const plans = planChain(base, CHUNK);
    await pushWorlds(c, plans, "v1");
    const plan = plans[0]!;
    const victim = plan.chunks[1]!;
    const file = registry.blobFile(victim.descriptor.digest);
    const bytes = readFileSync(file);
    bytes[100] ^= 0xff;
    writeFileSync(file, bytes);
    const remote = openRemote(ref("worlds/corrupt:v1"), { cache: new MemoryBlobCache() });
    try {
      const ram = remote.reader.segment("ram");
      const e = await errorOf(() => {
        for (const p of base.pages.keys()) ram.readPage(p);
      });
      expect(isRegistryError(e) && e.code).toBe("DIGEST_MISMATCH");
      expect(e.message).not.toContain("\n");
      expect(e.message).toContain(`${registry.host}/worlds/corrupt:v1`);
      expect(e.message).toContain(victim.descriptor.digest);
      expect(e.message).toContain(
        `image bytes ${victim.offset}..${victim.offset + victim.descriptor.size - 1}`,
      );
    } finally {
      remote.close();
    }
  }, 120_000);

  it("a registry killed mid-push leaves no tag; killed mid-pull leaves only whole, checked blobs in the cache", async () => {
    const big = new Map<number, Uint8Array>();
    for (let i = 0; i < 400; i++) big.set(10_000 + i, noisePage(90_000 + i));
    const world = makeWorld(big, undefined, "big.amber");
    const plans = planChain(world, CHUNK);
    const c = new RegistryClient(ref("worlds/killed:v1"), { attempts: 2, backoffMs: 1 });
    let killed: Promise<void> | undefined;
    const e = await errorOf(
      pushWorlds(c, plans, "v1", {
        concurrency: 1,
        onProgress: (p) => {
          if (p.uploaded > 0) killed ??= registry.kill();
        },
      }),
    );
    await killed;
    expect(isRegistryError(e) && e.code).toBe("NETWORK");
    await registry.start();
    const again = new RegistryClient(ref("worlds/killed:v1"));
    const missing = await errorOf(runAsync(again.getManifest("v1")));
    expect(isRegistryError(missing) && missing.code).toBe("NOT_FOUND");
    const second = await pushWorlds(again, plans, "v1");
    expect(second.skippedBlobs).toBeGreaterThan(0); // what got through the first time is not sent again

    const cacheDir = join(dir, "cache");
    let pullKilled: Promise<void> | undefined;
    const pullError = await errorOf(
      pullWorlds(new RegistryClient(ref("worlds/killed:v1"), { attempts: 2, backoffMs: 1 }), {
        cache: new DirectoryBlobCache(cacheDir),
        concurrency: 1,
        onProgress: (done) => {
          if (done > 0) pullKilled ??= registry.kill();
        },
      }),
    );
    await pullKilled;
    expect(isRegistryError(pullError) && pullError.code).toBe("NETWORK");
    const blobs = join(cacheDir, "blobs/sha256");
    const held = readdirSync(blobs);
    expect(held.length).toBeGreaterThan(0);
    for (const name of held) {
      expect(name.startsWith(".")).toBe(false);
      expect(
        createHash("sha256")
          .update(readFileSync(join(blobs, name)))
          .digest("hex"),
      ).toBe(name);
    }
    await registry.start();
    const [pulled] = await pullWorlds(new RegistryClient(ref("worlds/killed:v1")), {
      cache: new DirectoryBlobCache(cacheDir),
    });
    expect(same(pulled!.bytes, world.bytes)).toBe(true);
  }, 180_000);
});
