import { describe, expect, test } from "vitest";
import {
  detectFormat,
  Image,
  isImageError,
  MemoryBlockFile,
  MemoryImageHost,
  openImage,
  VhdxLayer,
  writeVhdx,
} from "../src/index.js";
import {
  HEADER_OFFSETS,
  parseHeaderBytes,
  REGION_TABLE_OFFSETS,
  sealChecksum,
  serializeHeader,
} from "../src/vhdx-format.js";
import { pseudoRandom } from "./support/qemu-img.js";

const MiB = 1024 * 1024;

/** A small dynamic VHDX (1 MiB blocks, 6 MiB disk, blocks 0, 2 and 5 stored). */
function sample(): Uint8Array {
  const image = new Image([], { size: 6 * MiB });
  image.write(1000, pseudoRandom(5000, 1));
  image.write(2 * MiB + 7, pseudoRandom(300, 2));
  image.write(6 * MiB - 4096, pseudoRandom(4096, 3));
  const out = new MemoryBlockFile();
  writeVhdx(image.dirtySource(), out, { blockSize: MiB });
  return out.contents().slice();
}

const BAT = 2 * MiB;
const META = 3 * MiB;
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const setU32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);

function open(bytes: Uint8Array, name = "t.vhdx"): VhdxLayer {
  return new VhdxLayer(new MemoryBlockFile(bytes, name, false));
}

function error(bytes: Uint8Array): Error & { code: string } {
  try {
    open(bytes).close();
  } catch (e) {
    if (!isImageError(e)) throw e;
    expect(e.message).not.toContain("\n");
    expect(e.message).toMatch(/^t\.vhdx: /);
    return e as Error & { code: string };
  }
  throw new Error("expected an error");
}

function rewriteHeader(
  bytes: Uint8Array,
  slot: number,
  change: (h: ReturnType<typeof parseHeaderBytes>) => void,
) {
  const at = HEADER_OFFSETS[slot] as number;
  const h = parseHeaderBytes(bytes.subarray(at, at + 4096), slot);
  change(h);
  bytes.set(serializeHeader(h), at);
}

describe("hostile VHDX", () => {
  test("the sample reads back", () => {
    const l = open(sample());
    expect(l.size).toBe(6 * MiB);
    expect(l.blockOffset(0)).toBeDefined();
    expect(l.blockOffset(1)).toBeUndefined();
    expect(l.subformat).toBe("dynamic");
    expect(detectFormat(new MemoryBlockFile(sample(), "x.bin"))).toBe("vhdx");
  });

  test("one damaged header is tolerated (the other is used); two are one line naming both", () => {
    const b = sample();
    b[HEADER_OFFSETS[1] + 100] ^= 1; // header 2 has the higher sequence number
    expect(open(b).header.slot).toBe(0);
    b[HEADER_OFFSETS[0] + 100] ^= 1;
    const e = error(b);
    expect(e.code).toBe("CHECKSUM_MISMATCH");
    expect(e.message).toMatch(
      /no valid VHDX header \(header 1 at 65536: CRC-32C 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}; header 2 at 131072: CRC-32C/,
    );
    expect(e.message).toMatch(/\(at offset 65536\)$/);
  });

  test("the higher sequence number wins", () => {
    const b = sample();
    rewriteHeader(b, 0, (h) => {
      h.sequenceNumber = 10n;
    });
    expect(open(b).header.slot).toBe(0);
  });

  test("a LogGuid with no valid log entries is an empty log; a damaged log header is one line", () => {
    const b = sample();
    for (const slot of [0, 1])
      rewriteHeader(b, slot, (h) => {
        h.logGuid = "01234567-89ab-cdef-0123-456789abcdef";
      });
    const l = open(b);
    expect(l.replayedLogEntries).toBe(0);
    expect(l.read(1000, 4).length).toBe(4);
    for (const slot of [0, 1])
      rewriteHeader(b, slot, (h) => {
        h.logOffset = 12345;
      });
    const e = error(b);
    expect(e.code).toBe("CORRUPT");
    expect(e.message).toMatch(/log at 12345\+1048576: expected 1 MiB-aligned/);
  });

  test("a BAT entry beyond the file's end names the entry's offset", () => {
    const b = sample();
    const lo = u32(b, BAT);
    setU32(b, BAT, (lo & 0xfffff) | (4000 << 20)); // block 0 at 4000 MiB
    const e = error(b);
    expect(e.code).toBe("CORRUPT");
    expect(e.message).toBe(
      `t.vhdx: BAT entry of block 0 points to ${4000 * MiB}+${MiB}, past the end of the ${b.length}-byte file (at offset ${BAT})`,
    );
  });

  test("a BAT entry into the metadata region, a shared block, a bad state", () => {
    const b = sample();
    setU32(b, BAT + 16, (u32(b, BAT + 16) & 0xfffff) | (3 << 20)); // block 2 → 3 MiB (metadata)
    expect(error(b).message).toMatch(/block 2 points to 3145728, inside region 8b7ca206/);
    const c = sample();
    setU32(c, BAT + 16, u32(c, BAT)); // block 2 → block 0's place
    expect(error(c).message).toMatch(/which an earlier block already uses/);
    const d = sample();
    setU32(d, BAT + 8, 5); // reserved state
    expect(error(d).message).toMatch(/block 1 has state 5/);
  });

  test("region table: unknown required region, damaged CRC in both copies", () => {
    const b = sample();
    for (const at of REGION_TABLE_OFFSETS) {
      const t = b.subarray(at, at + 65536);
      setU32(t, 8, 3);
      t.set(
        Uint8Array.from({ length: 16 }, (_, i) => i + 1),
        16 + 64,
      );
      setU32(t, 16 + 64 + 16, 4 * MiB);
      setU32(t, 16 + 64 + 24, MiB);
      setU32(t, 16 + 64 + 28, 1);
      sealChecksum(t);
    }
    const e = error(b);
    expect(e.code).toBe("UNSUPPORTED_FEATURE");
    expect(e.message).toMatch(
      /required region 04030201-0605-0807-090a-0b0c0d0e0f10 is of a kind this reader does not know/,
    );
    const c = sample();
    c[REGION_TABLE_OFFSETS[0] + 20] ^= 1;
    expect(open(c).size).toBe(6 * MiB); // the second copy is used
    c[REGION_TABLE_OFFSETS[1] + 20] ^= 1;
    expect(error(c).code).toBe("CHECKSUM_MISMATCH");
  });

  test("metadata: differencing files, block sizes and sector sizes out of range", () => {
    const params = META + 65536; // the first item: file parameters
    const b = sample();
    setU32(b, params + 4, 2); // HasParent
    expect(error(b).message).toMatch(/a differencing VHDX \(HasParent\)/);
    const c = sample();
    setU32(c, params, 3 * MiB);
    expect(error(c).message).toMatch(
      /block size 3145728: expected a power of two from 1 MiB to 256 MiB \(at offset \d+\)$/,
    );
    const d = sample();
    setU32(d, META + 65536 + 8 + 8 + 16, 1000); // logical sector size item
    expect(error(d).message).toMatch(/logical sector size 1000: expected 512 or 4096/);
  });

  test("a damaged identifier is BAD_MAGIC, not raw", () => {
    const b = sample();
    b[7] = 0x78; // "vhdxfilx"
    expect(() => detectFormat(new MemoryBlockFile(b, "d.img"))).toThrow(/damaged VHDX magic/);
  });

  test("mutated and truncated files give ImageError or read, never anything else", () => {
    const base = sample();
    const rnd = pseudoRandom(4096, 9);
    const interesting = [
      0,
      8,
      HEADER_OFFSETS[0],
      HEADER_OFFSETS[1],
      REGION_TABLE_OFFSETS[0],
      BAT,
      META,
      META + 65536,
    ];
    for (let i = 0; i < 300; i++) {
      const b = base.slice();
      const at = (interesting[i % interesting.length] as number) + ((rnd[i] as number) % 96);
      b[at] = rnd[(i * 7) % 4096] as number;
      if (i % 3 === 0) b[at + 1] ^= 0x80;
      const bytes = i % 10 === 9 ? b.subarray(0, ((rnd[i] as number) * 65536) % b.length) : b;
      const host = new MemoryImageHost();
      host.add("m.vhdx", bytes);
      try {
        const image = openImage(host, "m.vhdx", { format: "vhdx" });
        for (let o = 0; o < image.size; o += MiB / 2) image.read(o, 4096);
        image.close();
      } catch (e) {
        if (!isImageError(e)) throw e;
      }
    }
  });

  test("writes into an Amber-made file: header sequence +2, block appended, BAT entry written", () => {
    const file = new MemoryBlockFile(sample(), "w.vhdx");
    const layer = new VhdxLayer(file, { writable: true });
    const seq = layer.header.sequenceNumber;
    const image = new Image([layer]);
    // Read (filling the read-ahead window), write inside it, read again: the write shows.
    expect([...image.read(1000, 4)]).not.toEqual([5, 6, 7, 8]);
    image.write(1001, Uint8Array.of(5, 6, 7));
    expect([...image.read(1000, 5)].slice(1, 4)).toEqual([5, 6, 7]);
    image.write(3 * MiB + 5, Uint8Array.of(7, 8));
    image.close();
    const again = new VhdxLayer(new MemoryBlockFile(file.contents().slice(), "w.vhdx"));
    expect(again.header.sequenceNumber).toBe(seq + 2n);
    expect(again.blockOffset(3)).toBe(file.contents().length - MiB);
    expect([...again.read(3 * MiB + 4, 4)]).toEqual([0, 7, 8, 0]);
    expect([...again.read(1001, 3)]).toEqual([5, 6, 7]);
  });
});
