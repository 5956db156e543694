import { CheckpointReader, typed, writeCheckpoint } from "@amber/checkpoint";
import { MemoryBlockFile } from "@amber/image";
import { planWorld, sha256Digest, singleFileBytes, type WorldPlan } from "../src/index.js";

export const PAGE = 4096;

/** A page of pseudo-random (incompressible) bytes: what a world's chunks cost in the worst case. */
export function noisePage(seed: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < PAGE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x;
    p[i + 1] = x >>> 8;
    p[i + 2] = x >>> 16;
    p[i + 3] = x >>> 24;
  }
  return p;
}

export interface LocalWorld {
  bytes: Uint8Array;
  reader: CheckpointReader;
  pages: Map<number, Uint8Array>;
}

/** A checkpoint with RAM pages `pages` (a child of `parent` when given: only the pages given are stored). */
export function makeWorld(
  pages: Map<number, Uint8Array>,
  parent?: LocalWorld,
  name = "world.amber",
): LocalWorld {
  const f = new MemoryBlockFile(new Uint8Array(0), name);
  const entries = [...pages].sort((a, b) => a[0] - b[0]).map(([index, bytes]) => ({ index, bytes }));
  writeCheckpoint(f, {
    machine: "riscv32-virt",
    creator: { name: "amber-test", version: "0" },
    createdAt: 1_700_000_000_000,
    instructionCount: parent ? 2000n : 1000n,
    sections: [{ name: "cpu0", version: 1, fields: { pc: typed.u32(0x80000000 + pages.size) } }],
    segments: [{ name: "ram", base: 0x80000000, size: 64 << 20, pages: entries }],
    parent: parent?.reader,
    parentHint: parent ? "base.amber" : undefined,
    codec: "lz4",
  });
  const bytes = f.read(0, f.size());
  const reader = CheckpointReader.open(new MemoryBlockFile(bytes, name, false), { parent: parent?.reader });
  const all = new Map(parent?.pages ?? []);
  for (const [k, v] of pages) all.set(k, v);
  return { bytes, reader, pages: all };
}

/** Plans the chain ending at `w` (root first). */
export function planChain(w: LocalWorld, chunkSize?: number): WorldPlan[] {
  const chain = w.reader.chain.reverse();
  const plans: WorldPlan[] = [];
  let parent: WorldPlan | undefined;
  for (const r of chain) {
    const bytes = r === w.reader ? w.bytes : singleFileBytes(r);
    parent = planWorld(r, bytes, parent, chunkSize, sha256Digest);
    plans.push(parent);
  }
  return plans;
}
