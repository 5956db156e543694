import { codecByName } from "@amber/compress";
import { ImageError } from "./errors.js";
import { deflateHost } from "./zlib-host.js";

/** qcow2 compression_type values. */
export type Qcow2Compression = "zlib" | "zstd";

/**
 * Decompresses one qcow2 compressed cluster. The stored bytes run to the end of the last
 * 512-byte sector, so trailing garbage after the stream is normal and ignored (as QEMU
 * does). The output is exactly one cluster or the cluster is corrupt.
 */
export function decompressCluster(
  type: number,
  stored: Uint8Array,
  clusterSize: number,
  where: string,
): Uint8Array {
  let out: Uint8Array;
  try {
    if (type === 0) {
      const zlib = deflateHost();
      // QEMU deflates with a 4 KiB window (windowBits -12) and inflates the same way.
      out = new Uint8Array(
        zlib.inflateRawSync(stored, {
          maxOutputLength: clusterSize,
          windowBits: 12,
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
        }),
      );
    } else {
      out = decodeZstdPrefix(stored, clusterSize);
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(
      "CORRUPT",
      `${where}: compressed cluster does not decompress: ${(e as Error).message}`,
    );
  }
  if (out.length !== clusterSize) {
    throw new ImageError(
      "CORRUPT",
      `${where}: compressed cluster decompresses to ${out.length} bytes, expected ${clusterSize}`,
    );
  }
  return out;
}

/** Length of the zstd frame at the start of `data` (RFC 8878 block walk), so trailing sector padding can be cut off. */
function zstdFrameLength(data: Uint8Array): number {
  if (data.length < 6 || data[0] !== 0x28 || data[1] !== 0xb5 || data[2] !== 0x2f || data[3] !== 0xfd) {
    throw new ImageError("CORRUPT", "not a zstd frame");
  }
  const fhd = data[4];
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictIdFlag = fhd & 3;
  const fcsFlag = fhd >> 6;
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  let at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag] + fcsSize;
  for (;;) {
    if (at + 3 > data.length) throw new ImageError("CORRUPT", "zstd frame is cut off");
    const bh = data[at] | (data[at + 1] << 8) | (data[at + 2] << 16);
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    at += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  at += checksum ? 4 : 0;
  if (at > data.length) throw new ImageError("CORRUPT", "zstd frame is cut off");
  return at;
}

function decodeZstdPrefix(stored: Uint8Array, clusterSize: number): Uint8Array {
  return codecByName("zstd").decode(stored.subarray(0, zstdFrameLength(stored)), clusterSize);
}

/** Compresses one cluster as QEMU expects it, or returns undefined when that does not save a sector. */
export function compressCluster(type: Qcow2Compression, cluster: Uint8Array): Uint8Array | undefined {
  const out =
    type === "zlib"
      ? new Uint8Array(deflateHost().deflateRawSync(cluster, { level: 6, windowBits: 12 }))
      : codecByName("zstd").encode(cluster, 3);
  return out.length <= cluster.length - 512 ? out : undefined;
}
