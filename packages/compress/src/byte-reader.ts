import { CompressError } from "./errors.js";

/**
 * Bounds-checked little-endian reads over a byte array. Every read names the absolute
 * offset (`base` + position) in its error, so a message points into the original file even
 * when the reader only holds one slice of it.
 */
export class ByteReader {
  private readonly view: DataView;
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** Absolute offset of bytes[0] in the containing file, for error messages. */
    readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(count: number, what: string): void {
    if (count > this.remaining) {
      throw new CompressError(
        "TRUNCATED",
        `data ends inside ${what}: ${count} bytes needed, ${this.remaining} left`,
        this.base + this.pos,
        `${count} bytes of ${what}`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 that must fit a JS number exactly (offsets); larger values are CORRUPT. */
  u64Number(what: string): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi > 0x1f_ffff) {
      throw new CompressError("CORRUPT", `${what} exceeds 2^53`, this.base + this.pos, "a value below 2^53");
    }
    this.pos += 8;
    return hi * 2 ** 32 + lo;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  take(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = this.bytes.subarray(this.pos, this.pos + count);
    this.pos += count;
    return out;
  }
}
