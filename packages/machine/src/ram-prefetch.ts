import { isCheckpointError, type SegmentReader } from "@amber/checkpoint";
import type { Hart } from "@amber/isa";
import type { Ram } from "@amber/memory";

/**
 * Steps the guest runs per page prefetched (about 1–2 µs of copying and checking per page
 * against ≈ 4 µs of guest time even at 1 000 MIPS): the prefetch costs the run a few percent
 * at most while it lasts, and ends after the guest ran `pages × STEPS_PER_PAGE` steps.
 */
export const STEPS_PER_PAGE = 4096;
/** Pages loaded at most between two slices of the run, whatever the slice's length. */
const MAX_PAGES_PER_SLICE = 256;

/**
 * Loads, between slices of a run, the pages of a lazily restored machine's RAM that the guest
 * has not touched yet, a few at a time, then drops RAM's page source: from then on every load
 * may read RAM directly (`Ram.loadsDirect`), so code compiled to WebAssembly checks a load
 * against RAM's bounds only, and the hart's compiled code is dropped once so that its hot code
 * is compiled again that way.
 *
 * Loading a page changes nothing the guest can see (a page comes in exactly as a first touch
 * would bring it), so when pages are loaded does not matter to the run. A page damaged in the
 * file ends the prefetch quietly and RAM keeps its page source: the damage is reported (one
 * line naming the file and offset) when the guest or a save first reads that page, exactly as
 * without the prefetch, so a run's outcome never depends on how it was split into slices.
 */
export class RamPrefetch {
  /** The pages the image holds, ascending (listed at the first slice, not at resume). */
  private pages: number[] | undefined;
  private next = 0;
  /** Steps run and not yet paid for with a page. */
  private credit = 0;
  /** Whether the prefetch is over: every page loaded (source dropped), or a damaged one met. */
  done = false;

  constructor(
    private readonly ram: Ram,
    private readonly segment: SegmentReader,
    private readonly hart: Hart,
  ) {}

  /** Loads the pages `steps` more run steps pay for (see STEPS_PER_PAGE); true once done. */
  afterSteps(steps: number): boolean {
    if (this.done) return true;
    this.credit += steps;
    const n = Math.min(MAX_PAGES_PER_SLICE, Math.floor(this.credit / STEPS_PER_PAGE));
    if (n === 0) return false;
    this.credit -= n * STEPS_PER_PAGE;
    return this.load(n);
  }

  /** Loads up to `count` more pages (all of them with Infinity); true once done. */
  load(count: number): boolean {
    if (this.done) return true;
    if (this.pages === undefined) this.pages = [...this.segment.presentPages()];
    const pages = this.pages;
    const ram = this.ram;
    const size = this.segment.pageSize;
    let left = count;
    try {
      while (left > 0 && this.next < pages.length) {
        const p = pages[this.next]!;
        // A page the guest touched already holds its data; reading one byte loads the others.
        if (ram.page(p) === undefined) {
          ram.read(p * size, 1);
          left--;
        }
        this.next++;
      }
    } catch (e) {
      if (!isCheckpointError(e)) throw e;
      // Damaged: left to be met (and reported) where the guest or a save first reads it.
      this.done = true;
      return true;
    }
    if (this.next < pages.length) return false;
    this.done = true;
    ram.setPageSource(undefined);
    // Code compiled so far checks each load page by page; compile it again for direct loads.
    this.hart.flushDecodeCache();
    return true;
  }
}
