/**
 * What the mutation fuzzer feeds damaged files to: qcow2 and Amber layers through format
 * detection, open, read and `check`; checkpoints in both layouts through open, every
 * section, pages and `verify`. A case passes when the library succeeds or reports its own
 * error (ImageError / CheckpointError); anything else (a RangeError, a TypeError, a hang)
 * is a finding.
 */
import {
  type CheckpointInput,
  CheckpointReader,
  isCheckpointError,
  MemoryDirectory,
  openDirectory,
  writeCheckpoint,
  writeDirectoryLayout,
} from "../../packages/checkpoint/src/index.js";
import {
  checkLayer,
  Image,
  isImageError,
  MemoryBlockFile,
  MemoryImageHost,
  openImage,
  writeAmberLayer,
  writeQcow2,
  writeVhdx,
} from "../../packages/image/src/index.js";
import { buildDmg } from "../../packages/image/test/support/dmg-builder.js";
import { mutateCase, prng } from "./mutations.js";

export interface FuzzTarget {
  name: string;
  /** Runs one mutated case; throws only on a finding. */
  run(seed: number): void;
}

/** Reads at most this many bytes of an image: enough to touch every structure of the seeds. */
const READ_LIMIT = 1 << 20;

function pattern(size: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const v = rnd();
    // Compressible text-like runs with some noise and some zeros.
    out[i] = i % 8192 < 2048 ? 0 : 97 + (v % 26);
    out[i + 1] = (v >>> 8) & 3;
    out[i + 3] = (v >>> 16) & 0xff;
  }
  return out;
}

function diskImage(): Image {
  const image = new Image([], { size: 256 * 1024 });
  image.write(0, pattern(40000, 1));
  image.write(100000, pattern(9000, 2));
  image.write(250000, pattern(4000, 3));
  return image;
}

function qcow2Seed(compression?: "zlib" | "zstd"): Uint8Array {
  const out = new MemoryBlockFile();
  writeQcow2(diskImage().dirtySource(), out, { clusterSize: 4096, compression });
  return out.contents().slice();
}

function amberLayerSeed(): Uint8Array {
  const out = new MemoryBlockFile();
  writeAmberLayer(diskImage().dirtySource(), out, {});
  return out.contents().slice();
}

function vhdxSeed(): Uint8Array {
  const out = new MemoryBlockFile();
  writeVhdx(diskImage().dirtySource(), out, { blockSize: 1 << 20 });
  return out.contents().slice();
}

/** A UDZO image (test-support builder, cross-checked with qemu-img and dmg2img) in 3 blkx tables. */
function dmgSeed(kind: "zlib" | "raw"): Uint8Array {
  const disk = diskImage().read(0, 256 * 1024);
  return buildDmg(disk, {
    kind,
    chunkSectors: 64,
    partitions: [
      { name: "MBR", sectors: 1 },
      { name: "data", sectors: 400 },
      { name: "rest", sectors: 111 },
    ],
  });
}

/** Opens by detection, reads everything stored, checks: ImageError or success only. */
function exerciseImage(bytes: Uint8Array, name: string): void {
  const host = new MemoryImageHost();
  host.add(name, bytes);
  let image: Image | undefined;
  try {
    image = openImage(host, name);
    const top = image.layers[image.layers.length - 1];
    if (top !== undefined) {
      let read = 0;
      for (const [start, length] of top.extents()) {
        for (let at = start; at < start + length && read < READ_LIMIT; at += top.grain) {
          const n = Math.min(top.grain, start + length - at);
          top.read(at, n);
          read += n;
        }
        if (read >= READ_LIMIT) break;
      }
      checkLayer(top);
    }
    image.read(0, Math.min(image.size, 4096));
  } catch (e) {
    if (!isImageError(e)) throw e;
  } finally {
    image?.close();
  }
}

function imageTarget(name: string, file: string, seedBytes: () => Uint8Array): FuzzTarget {
  let seed: Uint8Array | undefined;
  return {
    name,
    run: (s) => {
      seed ??= seedBytes();
      exerciseImage(mutateCase(seed, s).bytes, file);
    },
  };
}

const PAGE = 4096;

function checkpointSeeds(): { full: Uint8Array; child: Uint8Array } {
  const pages = (idx: number[], salt: number) =>
    idx.map((index) => ({ index, bytes: pattern(PAGE, index * 31 + salt) }));
  const input: CheckpointInput = {
    machine: "riscv32-virt",
    creator: { name: "amber-fuzz", version: "0" },
    createdAt: 1_700_000_000_000,
    instructionCount: 1000n,
    sections: [
      { name: "hart0", version: 1, fields: { pc: 0x80000000, x: new Uint32Array(32).fill(7), priv: 3 } },
      { name: "uart0", version: 1, fields: { lsr: 0x60, ier: 0, name: "uart" } },
    ],
    segments: [{ name: "ram", base: 0x80000000, size: 64 * PAGE, pages: pages([0, 1, 2, 5, 9, 40], 0) }],
  };
  const f = new MemoryBlockFile(new Uint8Array(0), "full.amber");
  writeCheckpoint(f, input);
  const full = f.contents().slice();
  const c = new MemoryBlockFile(new Uint8Array(0), "child.amber");
  writeCheckpoint(c, {
    ...input,
    instructionCount: 2000n,
    segments: [{ name: "ram", base: 0x80000000, size: 64 * PAGE, pages: pages([1, 9, 41], 5) }],
    parent: CheckpointReader.open(new MemoryBlockFile(full, "full.amber", false)),
    parentHint: "full.amber",
  });
  return { full, child: c.contents().slice() };
}

/** Every section, the first pages of every segment, then verify: CheckpointError or success only. */
function exerciseCheckpoint(open: () => CheckpointReader): void {
  try {
    const r = open();
    try {
      for (const n of r.sectionNames) r.section(n);
      for (const g of r.segments) for (let p = 0; p < Math.min(g.pageCount, 64); p++) g.readPage(p);
      r.verify();
    } finally {
      r.close();
    }
  } catch (e) {
    if (!isCheckpointError(e)) throw e;
  }
}

function checkpointFileTarget(which: "full" | "child"): FuzzTarget {
  let seeds: ReturnType<typeof checkpointSeeds> | undefined;
  return {
    name: `checkpoint-file-${which}`,
    run: (s) => {
      seeds ??= checkpointSeeds();
      const { full, child } = seeds;
      const bytes = mutateCase(which === "full" ? full : child, s).bytes;
      exerciseCheckpoint(() =>
        CheckpointReader.open(new MemoryBlockFile(bytes, `${which}.amber`, false), {
          resolveParent: () => ({ file: new MemoryBlockFile(full, "full.amber", false) }),
        }),
      );
    },
  };
}

function checkpointDirectoryTarget(): FuzzTarget {
  let dir: MemoryDirectory | undefined;
  return {
    name: "checkpoint-directory",
    run: (s) => {
      if (dir === undefined) {
        dir = new MemoryDirectory("world.d");
        writeDirectoryLayout(
          CheckpointReader.open(new MemoryBlockFile(checkpointSeeds().full, "full.amber", false)),
          dir,
        );
      }
      const files = [...dir.files.keys()].sort();
      const victim = files[prng(s ^ 0x5bd1e995)() % files.length] as string;
      const copy = new MemoryDirectory("world.d");
      for (const [k, f] of dir.files) {
        const bytes = k === victim ? mutateCase(f.contents(), s).bytes : f.contents().slice();
        copy.createFile(k).write(0, bytes);
      }
      exerciseCheckpoint(() => openDirectory(copy));
    },
  };
}

export const TARGETS: readonly FuzzTarget[] = [
  imageTarget("qcow2", "disk.qcow2", () => qcow2Seed()),
  imageTarget("qcow2-zlib", "disk.qcow2", () => qcow2Seed("zlib")),
  imageTarget("qcow2-zstd", "disk.qcow2", () => qcow2Seed("zstd")),
  imageTarget("amber-layer", "disk.amberdisk", amberLayerSeed),
  imageTarget("vhdx", "disk.vhdx", vhdxSeed),
  imageTarget("dmg-udzo", "disk.dmg", () => dmgSeed("zlib")),
  imageTarget("dmg-udro", "disk.dmg", () => dmgSeed("raw")),
  checkpointFileTarget("full"),
  checkpointFileTarget("child"),
  checkpointDirectoryTarget(),
];
