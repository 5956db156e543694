/**
 * Byte layout of the Amber layer file (docs/FORMAT.md is normative; these constants must
 * match its tables). All integers little-endian.
 */

/** "\x8AAMBIMG": the high byte catches 7-bit transfers; distinct from the framed image's magic. */
export const LAYER_MAGIC = Uint8Array.of(0x8a, 0x41, 0x4d, 0x42, 0x49, 0x4d, 0x47, 0x0a);
export const LAYER_VERSION = 1;
export const LAYER_HEADER_SIZE = 96;
export const RANGE_ENTRY_SIZE = 16;
/** Longest backing name a writer stores and a reader accepts (qcow2 allows 1023). */
export const MAX_BACKING_NAME = 4096;
/** Ranges a reader accepts before allocating the table (each covers ≥ 1 page). */
export const MAX_RANGES = 1 << 24;
/** Largest logical size: 2^52 keeps every offset an exact double. */
export const MAX_LAYER_SIZE = 2 ** 52;

/** Known incompatible features: none yet; any set bit is refused. */
export const KNOWN_INCOMPAT = 0;
/** Compatible bit 0: pages equal to the init pattern were left out (they read as the init byte). */
export const COMPAT_ZERO_OMITTED = 1 << 0;
/** Autoclear bit 0: the layer is standalone (flattened: it needs no backing). */
export const AUTOCLEAR_STANDALONE = 1 << 0;
