// What the browser test runs in Chromium: the registry client on the page's own fetch.
import {
  initRegistry,
  MemoryBlobCache,
  parseRef,
  pullWorlds,
  RegistryClient,
  runAsync,
  sha256Digest,
} from "../src/index.js";

(globalThis as { amberRegistryCheck?: unknown }).amberRegistryCheck = async (host: string, repo: string) => {
  await initRegistry();
  const c = new RegistryClient(parseRef(`http://${host}/${repo}`));
  await runAsync(c.ping());
  const blob = new Uint8Array(300_000).map((_, i) => i % 251);
  const d = sha256Digest(blob);
  const chunked = new RegistryClient(c.ref, { monolithicMax: 100_000, uploadPiece: 100_000 });
  await runAsync(chunked.uploadBlob(blob, d));
  const range = await runAsync(c.getBlobRange(d, 1000, 8));
  const worlds = await pullWorlds(c, { cache: new MemoryBlobCache() });
  return {
    range: [...range],
    head: await runAsync(c.headBlob(d)),
    worlds: worlds.map((w) => ({ sha256: sha256Digest(w.bytes), image: w.world.config.image.digest })),
  };
};
