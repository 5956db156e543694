/**
 * The two CRC-32 variants the foreign formats use, table-driven (reflected, init and final
 * XOR 0xffffffff): CRC-32C (Castagnoli, VHDX headers, region and metadata tables) and the
 * zlib/IEEE CRC-32 (DMG checksums).
 */

function table(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

const CASTAGNOLI = table(0x82f63b78);
const IEEE = table(0xedb88320);

function update(t: Uint32Array, crc: number, data: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < data.length; i++) c = (t[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** CRC-32C of `data` (as VHDX computes it, over the structure with its checksum field zeroed). */
export function crc32c(data: Uint8Array): number {
  return (update(CASTAGNOLI, 0xffffffff, data) ^ 0xffffffff) >>> 0;
}

/** zlib's CRC-32, continued from `crc` (0 to start), so large inputs can be fed in pieces. */
export function crc32(data: Uint8Array, crc = 0): number {
  return (update(IEEE, (crc ^ 0xffffffff) >>> 0, data) ^ 0xffffffff) >>> 0;
}
