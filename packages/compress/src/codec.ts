/**
 * A codec compresses one block of bytes. Blocks are always decoded with their exact raw
 * length known (the framing stores it), which is what lets every codec allocate its output
 * once and refuse to produce more: the decompression-bomb defence lives here.
 */
export interface Codec {
  /** Stored on disk next to the data, so any reader can pick the decoder. */
  readonly id: number;
  readonly name: string;
  /** Level used when the caller gives none. */
  readonly defaultLevel: number;
  encode(raw: Uint8Array, level?: number): Uint8Array;
  /**
   * Decodes `stored` into exactly `rawLength` bytes or throws a CompressError (CODEC_ERROR
   * when the bytes are bad). `rawLength` has already been checked against the caller's limits.
   */
  decode(stored: Uint8Array, rawLength: number): Uint8Array;
}

/** Codec ids on disk. New codecs take new numbers; an id is never reused. */
export const CODEC_IDS = Object.freeze({
  none: 0,
  lz4: 1,
  zstd: 2,
  deflate: 3,
  brotli: 4,
});

export type CodecName = keyof typeof CODEC_IDS;
