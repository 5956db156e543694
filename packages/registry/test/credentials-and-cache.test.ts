import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initRegistry, sha256Digest } from "../src/index.js";
import { credentialsFor, DirectoryBlobCache, defaultCacheDir } from "../src/node/index.js";

let dir: string;
beforeAll(async () => {
  await initRegistry();
  dir = mkdtempSync(join(tmpdir(), "amber-creds-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("credentials: environment first, then the Docker config file, never the command line", () => {
  it("reads auths entries as docker login writes them, by HOST[:PORT] or with a scheme", () => {
    const cfg = join(dir, "docker");
    mkdirSync(cfg);
    writeFileSync(
      join(cfg, "config.json"),
      JSON.stringify({
        auths: {
          "r.example.com": { auth: Buffer.from("ann:pw:with:colons").toString("base64") },
          "https://127.0.0.1:5000": { username: "bob", password: "x" },
        },
      }),
    );
    const env = { DOCKER_CONFIG: cfg };
    expect(credentialsFor("r.example.com", env)).toEqual({ username: "ann", password: "pw:with:colons" });
    expect(credentialsFor("127.0.0.1:5000", env)).toEqual({ username: "bob", password: "x" });
    expect(credentialsFor("other.example.com", env)).toBeUndefined();
    expect(
      credentialsFor("r.example.com", { ...env, AMBER_REGISTRY_USER: "ci", AMBER_REGISTRY_PASSWORD: "t" }),
    ).toEqual({ username: "ci", password: "t" });
    expect(credentialsFor("r.example.com", { DOCKER_CONFIG: join(dir, "none") })).toBeUndefined();
    writeFileSync(join(cfg, "config.json"), "{not json");
    expect(() => credentialsFor("r.example.com", env)).toThrow(/config\.json: not JSON/);
  });
});

describe("the cache directory", () => {
  it("defaults under XDG_CACHE_HOME, else ~/.cache", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/amber");
    expect(defaultCacheDir({})).toMatch(/\.cache\/amber$/);
  });

  it("returns only bytes that match their digest and keeps under its size, least recently used out first", () => {
    const cacheDir = join(dir, "cache");
    const cache = new DirectoryBlobCache(cacheDir, 10_000);
    const blobs = [1, 2, 3].map((k) => new Uint8Array(4000).fill(k));
    const digests = blobs.map((b) => sha256Digest(b));
    cache.put(digests[0]!, blobs[0]!);
    cache.put(digests[1]!, blobs[1]!);
    // Make blob 0 the oldest use; then touch it: blob 1 becomes the least recently used.
    const files = join(cacheDir, "blobs/sha256");
    utimesSync(join(files, digests[0]!.slice(7)), new Date(1000), new Date(1000));
    utimesSync(join(files, digests[1]!.slice(7)), new Date(2000), new Date(2000));
    expect(cache.get(digests[0]!)).toEqual(blobs[0]);
    cache.put(digests[2]!, blobs[2]!);
    expect(cache.get(digests[1]!)).toBeUndefined();
    expect(cache.get(digests[0]!)).toEqual(blobs[0]);
    expect(cache.size()).toBeLessThanOrEqual(10_000);
    // A blob damaged on disk is not returned, and is removed.
    writeFileSync(join(files, digests[2]!.slice(7)), new Uint8Array(4000).fill(9));
    expect(cache.get(digests[2]!)).toBeUndefined();
    expect(readdirSync(files)).toEqual([digests[0]!.slice(7)]);
  });
});
