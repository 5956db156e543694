import { deflateSync } from "node:zlib";
import { crc32 } from "../../src/crc32.js";

/**
 * TEST FIXTURE GENERATOR, not part of the library: Amber reads DMG but does not write it,
 * and no Debian package creates UDIF images (hdiutil is macOS-only; libdmg-hfsplus's `dmg`
 * is not packaged; dmg2img and qemu's dmg driver only read). So the DMG tests build their
 * files here, and every file is cross-checked against two independent readers — qemu-img's
 * dmg driver and dmg2img — before Amber's reading of it is trusted.
 *
 * Layout written (as hdiutil lays out a flattened image): the data fork (chunks' stored
 * bytes) from offset 0, then the XML plist, then the 512-byte koly trailer.
 */

export interface DmgPartition {
  name: string;
  /** Sectors of the disk this blkx table covers (consecutive, in order). */
  sectors: number;
}

export interface DmgBuildOptions {
  /** Chunk encoding for data: "zlib" (UDZO) or "raw" (UDRO). */
  kind: "zlib" | "raw";
  /** Sectors per chunk (hdiutil: 2048 = 1 MiB). */
  chunkSectors?: number;
  /** How the disk is split into blkx tables; default one table for the whole disk. */
  partitions?: DmgPartition[];
  /** Type for all-zero chunks: 0 (zero fill, default) or 2 (ignore). */
  zeroType?: 0 | 2;
  /** Stored chunk type used in place of zlib (to make files with ADC/bzip2/LZFSE type codes). */
  overrideCompressedType?: number;
}

const be32 = (v: DataView, at: number, n: number) => v.setUint32(at, n >>> 0);
const be64 = (v: DataView, at: number, n: number) => {
  v.setUint32(at, Math.floor(n / 2 ** 32));
  v.setUint32(at + 4, n >>> 0);
};

function allZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

export function buildDmg(disk: Uint8Array, options: DmgBuildOptions): Uint8Array {
  if (disk.length % 512 !== 0) throw new Error("disk must be whole sectors");
  const totalSectors = disk.length / 512;
  const per = options.chunkSectors ?? 2048;
  const parts = options.partitions ?? [{ name: "whole disk (Apple_HFS : 0)", sectors: totalSectors }];
  const data: Uint8Array[] = [];
  let dataLength = 0;
  const tables: { name: string; mish: Uint8Array; crc: number }[] = [];
  let first = 0;
  for (const [pi, part] of parts.entries()) {
    const entries: number[][] = []; // [type, comment, sector, count, offset, length]
    entries.push([0x7ffffffe, 0x2b626567, 0, 0, dataLength, 0]); // comment "+beg"
    let crc = 0;
    for (let s = 0; s < part.sectors; s += per) {
      const n = Math.min(per, part.sectors - s);
      const bytes = disk.subarray((first + s) * 512, (first + s + n) * 512);
      crc = crc32(bytes, crc);
      if (allZero(bytes)) {
        entries.push([options.zeroType ?? 0, 0, s, n, dataLength, 0]);
        continue;
      }
      const stored = options.kind === "zlib" ? deflateSync(bytes) : bytes;
      const type = options.kind === "zlib" ? (options.overrideCompressedType ?? 0x80000005) : 1;
      entries.push([type, 0, s, n, dataLength, stored.length]);
      data.push(stored);
      dataLength += stored.length;
    }
    entries.push([0xffffffff, 0, part.sectors, 0, dataLength, 0]);
    const mish = new Uint8Array(204 + entries.length * 40);
    const v = new DataView(mish.buffer);
    mish.set([0x6d, 0x69, 0x73, 0x68]);
    be32(v, 4, 1);
    be64(v, 8, first);
    be64(v, 16, part.sectors);
    be64(v, 24, 0); // DataOffset: chunk offsets are from the data fork's start
    be32(v, 32, per * 512 > 0 ? per + 8 : 0); // BuffersNeeded
    be32(v, 36, pi); // BlockDescriptors
    be32(v, 64, 2); // checksum type CRC-32
    be32(v, 68, 32);
    be32(v, 72, crc);
    be32(v, 200, entries.length);
    entries.forEach((e, i) => {
      const at = 204 + i * 40;
      be32(v, at, e[0] as number);
      be32(v, at + 4, e[1] as number);
      be64(v, at + 8, e[2] as number);
      be64(v, at + 16, e[3] as number);
      be64(v, at + 24, e[4] as number);
      be64(v, at + 32, e[5] as number);
    });
    tables.push({ name: part.name, mish, crc });
    first += part.sectors;
  }
  if (first !== totalSectors) throw new Error("partitions must cover the disk");

  const b64 = (b: Uint8Array) =>
    Buffer.from(b)
      .toString("base64")
      .replace(/(.{52})/g, "$1\n\t\t\t\t");
  const dicts = tables
    .map(
      (t, i) => `\t\t\t<dict>
\t\t\t\t<key>Attributes</key>
\t\t\t\t<string>0x0050</string>
\t\t\t\t<key>CFName</key>
\t\t\t\t<string>${t.name}</string>
\t\t\t\t<key>Data</key>
\t\t\t\t<data>
\t\t\t\t${b64(t.mish)}
\t\t\t\t</data>
\t\t\t\t<key>ID</key>
\t\t\t\t<string>${i - 1}</string>
\t\t\t\t<key>Name</key>
\t\t\t\t<string>${t.name}</string>
\t\t\t</dict>
`,
    )
    .join("");
  const xml = new TextEncoder().encode(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>resource-fork</key>
\t<dict>
\t\t<key>blkx</key>
\t\t<array>
${dicts}\t\t</array>
\t</dict>
</dict>
</plist>
`);
  const out = new Uint8Array(dataLength + xml.length + 512);
  let at = 0;
  for (const d of data) {
    out.set(d, at);
    at += d.length;
  }
  out.set(xml, dataLength);
  const kv = new DataView(out.buffer, dataLength + xml.length, 512);
  out.set([0x6b, 0x6f, 0x6c, 0x79], dataLength + xml.length); // "koly"
  be32(kv, 4, 4);
  be32(kv, 8, 512);
  be32(kv, 12, 1); // flattened
  be64(kv, 24, 0);
  be64(kv, 32, dataLength);
  be32(kv, 56, 1);
  be32(kv, 60, 1);
  be32(kv, 80, 2);
  be32(kv, 84, 32);
  be32(kv, 88, crc32(out.subarray(0, dataLength)));
  be64(kv, 216, dataLength);
  be64(kv, 224, xml.length);
  const sums = new Uint8Array(tables.length * 4);
  tables.forEach((t, i) => {
    new DataView(sums.buffer).setUint32(i * 4, t.crc);
  });
  be32(kv, 352, 2);
  be32(kv, 356, 32);
  be32(kv, 360, crc32(sums));
  be32(kv, 488, 1);
  be64(kv, 492, totalSectors);
  return out;
}
