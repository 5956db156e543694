import { CheckpointError } from "./errors.js";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeUtf8(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Growable byte buffer writing integers in one byte order. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  constructor(readonly littleEndian = true) {}

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.length + n, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.length++] = v;
    return this;
  }
  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, v, this.littleEndian);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0, this.littleEndian);
    this.length += 4;
    return this;
  }
  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, v, this.littleEndian);
    this.length += 4;
    return this;
  }
  u64(v: bigint | number): this {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), this.littleEndian);
    this.length += 8;
    return this;
  }
  i64(v: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, v, this.littleEndian);
    this.length += 8;
    return this;
  }
  f64(v: number): this {
    this.reserve(8);
    this.view.setFloat64(this.length, v, this.littleEndian);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Zero bytes up to the next multiple of `n`. */
  pad(n: number): this {
    const rem = this.length % n;
    if (rem !== 0) {
      this.reserve(n - rem);
      this.buf.fill(0, this.length, this.length + n - rem);
      this.length += n - rem;
    }
    return this;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Bounds-checked reader over bytes that sit at `base` in a file: every failure names the
 * file and the absolute offset.
 */
export class ByteReader {
  private readonly view: DataView;
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly file: string,
    readonly base: number,
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Absolute offset of the current position. */
  get at(): number {
    return this.base + this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new CheckpointError(
        "CORRUPT",
        `${this.what}: ${what} runs past the end of the ${this.bytes.length}-byte structure`,
        this.file,
        this.at,
        `${n} bytes, ${this.remaining} left`,
      );
    }
  }

  fail(detail: string, expected?: string, at = this.at): never {
    throw new CheckpointError("CORRUPT", `${this.what}: ${detail}`, this.file, at, expected);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, this.littleEndian);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, this.littleEndian);
    this.pos += 8;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, this.littleEndian);
    this.pos += 8;
    return v;
  }
  /** A u64 that must fit a JS number safely (offsets, sizes). */
  safe64(what: string, max = Number.MAX_SAFE_INTEGER): number {
    const at = this.at;
    const v = this.u64(what);
    if (v > BigInt(max)) {
      throw new CheckpointError(
        "LIMIT_EXCEEDED",
        `${this.what}: ${what} ${v} is too large`,
        this.file,
        at,
        `≤ ${max}`,
      );
    }
    return Number(v);
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, this.littleEndian);
    this.pos += 8;
    return v;
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  utf8(n: number, what: string): string {
    const at = this.at;
    const b = this.take(n, what);
    try {
      return utf8Decoder.decode(b);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, "UTF-8 text", at);
    }
  }
  skipPad(n: number): void {
    const rem = this.pos % n;
    if (rem !== 0) this.take(n - rem, "padding");
  }
}

export function decodeUtf8(b: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(b);
  } catch {
    return undefined;
  }
}

export const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
