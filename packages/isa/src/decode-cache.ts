/** An odd tag never equals a pc (pcs are 2-aligned), so it marks an empty slot. */
export const DC_EMPTY = 1;
/** Slots a cache starts with: 48 KiB in all, what a resume or a small guest touches. */
const START_SLOTS = 1 << 12;
/** Slots a cache grows to: 3 MiB of tags and decoded forms. */
const MAX_SLOTS = 1 << 18;
/**
 * A small cache is due to grow after this many fills: a guest that runs more distinct code
 * than a loop or two. The warm-up program (@amber/machine) fills ≈ 1,300 slots, so it
 * grows a cache too and V8 has seen that path before a real guest takes it.
 */
const GROW_AFTER = 1024;

/**
 * The hart's decoded-instruction cache: direct-mapped by pc, slot `(pc >>> 1) & mask`,
 * with the instruction's physical address as the slot's tag in `tags` (DC_EMPTY when
 * none) and its decoded form in `data`, two ints per slot so that one cache line holds
 * both: `op | rd << 8 | rs1 << 14 | rs2 << 19 | length << 24` at `2 * slot` and the
 * immediate after it.
 *
 * A cache is made zeroed (untouched memory costs nothing until used): a zero tag can only
 * match pc 0, which only slot 0 holds, so slot 0 alone starts as DC_EMPTY. It starts
 * small, so that a resume or a short run pays for 48 KiB, not 3 MiB (and touches a few of
 * its pages instead of hundreds); the hart makes a cache of the full size in its place
 * (`grown`) once this one is `crowded`.
 */
export class DecodeCache {
  readonly tags: Int32Array;
  readonly data: Int32Array;
  readonly mask: number;
  /** Whether any slot was filled since the last flush (a flush of an unused cache costs nothing). */
  used = false;
  /** Slots filled since the cache was made. */
  fills = 0;

  constructor(slots = START_SLOTS) {
    this.tags = new Int32Array(slots);
    this.tags[0] = DC_EMPTY;
    this.data = new Int32Array(2 * slots);
    this.mask = slots - 1;
  }

  /** Whether the cache was filled often enough to be replaced by a full-size one (see `grown`). */
  get crowded(): boolean {
    return this.fills > GROW_AFTER && this.mask + 1 < MAX_SLOTS;
  }

  /** An empty cache of the full size, to replace this one. */
  grown(): DecodeCache {
    return new DecodeCache(MAX_SLOTS);
  }

  /** Forgets every decoded instruction. */
  flush(): void {
    if (this.used) this.tags.fill(DC_EMPTY);
    this.used = false;
  }
}
