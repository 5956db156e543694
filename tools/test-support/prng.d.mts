/** 32-bit words from `seed` (xorshift32; a seed of 0 starts from 0x9e3779b9). */
export declare function xorshift32(seed: number): () => number;
/** Numbers in [0, 1) from `seed`. */
export declare function randomUnit(seed: number): () => number;
/** `length` bytes, the low byte of each word. */
export declare function pseudoRandomBytes(length: number, seed: number): Uint8Array;
