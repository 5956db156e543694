import type { BlockFile } from "@amber/image";
import { MemoryBlockFile } from "@amber/image";
import { xorshift32 } from "../../../../tools/test-support/prng.mjs";
import type { CheckpointInput, PageEntry, SectionInput } from "../../src/index.js";
import { typed } from "../../src/index.js";

export const PAGE = 4096;

/** Deterministic 32-bit words (the project's one PRNG, xorshift32); seed 0 starts from 1 as it always did here. */
export function prng(seed: number): () => number {
  return xorshift32(seed >>> 0 || 1);
}

export function pageOf(seed: number, size = PAGE): Uint8Array {
  const r = prng(seed);
  const p = new Uint8Array(size);
  // Half text-like, half small numbers: compressible but not trivially.
  for (let i = 0; i < size; i += 4) {
    const v = r();
    p[i] = 97 + (v % 26);
    p[i + 1] = (v >>> 8) & 7;
    p[i + 2] = 0;
    p[i + 3] = (v >>> 16) & 0xff;
  }
  return p;
}

/** A small sparse RAM: a Map of written pages. */
export class SparseRam {
  readonly pages = new Map<number, Uint8Array>();
  constructor(readonly size: number) {}
  write(index: number, bytes: Uint8Array): void {
    this.pages.set(index, bytes.slice());
  }
  entries(indexes?: Iterable<number>): PageEntry[] {
    const list = indexes ? [...indexes] : [...this.pages.keys()];
    return list.sort((a, b) => a - b).map((index) => ({ index, bytes: this.pages.get(index)! }));
  }
  read(index: number): Uint8Array {
    return this.pages.get(index) ?? new Uint8Array(PAGE);
  }
}

export function cpuSection(pc: number, version = 2): SectionInput {
  const x = new Uint32Array(32);
  for (let i = 0; i < 32; i++) x[i] = (pc * (i + 1)) >>> 0;
  return {
    name: "cpu0",
    version,
    minVersion: 1,
    fields: { pc, x, priv: 3, mtime: typed.u64(BigInt(pc) * 10n), halted: false, name: "hart0" },
  };
}

export function baseInput(ram: SparseRam, over: Partial<CheckpointInput> = {}): CheckpointInput {
  return {
    machine: "riscv32-virt",
    creator: { name: "amber-test", version: "0.0.0-test" },
    createdAt: 1_700_000_000_000,
    instructionCount: 12345n,
    sections: [cpuSection(0x80000000), { name: "uart", version: 1, fields: { lsr: 0x60, ier: 0 } }],
    segments: [{ name: "ram", base: 0x80000000, size: ram.size, pages: ram.entries() }],
    ...over,
  };
}

/** Counts bytes read through a file (lazy-reading tests). */
export class CountingFile implements BlockFile {
  bytesRead = 0;
  reads = 0;
  constructor(readonly inner: BlockFile) {}
  get name(): string {
    return this.inner.name;
  }
  get writable(): boolean {
    return this.inner.writable;
  }
  size(): number {
    return this.inner.size();
  }
  read(offset: number, length: number): Uint8Array {
    const b = this.inner.read(offset, length);
    this.bytesRead += b.length;
    this.reads++;
    return b;
  }
  write(offset: number, data: Uint8Array): void {
    this.inner.write(offset, data);
  }
  close(): void {}
}

export function memFile(bytes: Uint8Array, name = "image.ambc"): MemoryBlockFile {
  return new MemoryBlockFile(new Uint8Array(bytes), name, false);
}

export function newFile(name = "image.ambc"): MemoryBlockFile {
  return new MemoryBlockFile(new Uint8Array(0), name);
}

/** Byte equality without vitest's slow deep-equal on large typed arrays. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function expectBytes(got: Uint8Array, want: Uint8Array, what = "bytes"): void {
  if (!sameBytes(got, want)) {
    let i = 0;
    while (i < Math.min(got.length, want.length) && got[i] === want[i]) i++;
    throw new Error(`${what} differ at byte ${i} (lengths ${got.length} / ${want.length})`);
  }
}
