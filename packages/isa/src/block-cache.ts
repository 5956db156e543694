import type { RamWindow } from "./bus.js";
import { Access, type Mmu } from "./mmu.js";
import { mulhu } from "./mul-high.js";
import type { RegionCache } from "./region-cache.js";
import { generateRegion, REGION_PARAMS } from "./region-codegen.js";
import { RegionCoverage } from "./region-coverage.js";
import { type Region, RegionScanner, type ScanLimits } from "./region-scan.js";

/**
 * The block compiler's run-time side: which pcs have compiled code, how hot the others
 * are, and which code must be thrown away when the guest writes to it.
 *
 * Compiled code is a *region*: one JS function holding up to a few dozen blocks found
 * from a hot pc (see region-scan.ts and region-codegen.ts). Every block start of a
 * region is entered in a direct-mapped table, so an indirect jump or a return into the
 * middle of a region still runs compiled code.
 *
 * The interpreter stays the reference. A region only runs instructions whose outcome
 * it reproduces exactly, only while its blocks fit in the step budget, and it hands
 * anything else back before executing it, so step counts, registers, memory and traps
 * are the interpreter's, step for step.
 *
 * A cache is either physical (pcs and addresses are physical: M-mode, or Sv32 off) or
 * translated (Sv32 on for fetches and data): the hart keeps one of each and uses the
 * one that fits the current mode. Translated regions are keyed by virtual pc and read
 * the MMU's TLBs (see region-codegen.ts); they stay valid across translation changes,
 * because every block checks that the fetch TLB maps its page to the frame it was
 * compiled from, and stores to those frames drop them as for physical code.
 */

/**
 * A compiled region: `(pc, left) => npc`, with steps taken in st[0] and st[1] != 0 when
 * npc must be interpreted (2: the code page of npc no longer maps to the frame the
 * region was compiled from).
 */
export type RegionFn = (pc: number, left: number) => number;

const TABLE_BITS = 16;
/** Index mask of the dispatch table (pcs are 2-aligned, so pc >>> 1 indexes it). */
export const JIT_MASK = (1 << TABLE_BITS) - 1;
/**
 * How many times the interpreter runs a pc (counted per table slot) before a region is
 * compiled from it. Compiling costs far more than interpreting a cold block: booting
 * Linux (30 M instructions) took 4.2 s at 50, 2.3 s at 500, 1.0 s at 5000, while the
 * CPU-heavy guest kept ≈ 1,000 MIPS (tools/bench/linux-boot.mjs, tools/bench/cpu.mjs).
 */
export const JIT_HOT = 5000;
/**
 * The same threshold for code running under Sv32 translation. Kernels run there, with
 * many warm paths and few loops, and each region costs V8 tens of milliseconds to
 * optimise: at 5,000 the Linux MMU boot to the prompt took ≈ 2.5× as long as with the
 * interpreter alone; at 50,000 it takes ≈ 0–25 % longer (tools/bench/linux-boot.mjs, on
 * a loaded 2-core machine), while bench-paged runs at ≈ 0.8–0.9 of the same workload
 * unpaged (tools/bench/cpu.mjs); 100,000–200,000 made the boot faster but left
 * bench-paged's loops interpreted for too long (≈ 0.45–0.6). Fits the Uint16 counters.
 */
export const JIT_HOT_TRANSLATED = 50_000;
/** An odd tag never equals a pc (pcs are 2-aligned), so it marks an empty slot. */
const EMPTY = 1;
/**
 * Region size caps. Larger regions leave less often but V8 optimises them later and
 * worse; measured on two guests (a hot loop; qsort, sieve, crc and calls through
 * pointers), 16 blocks beat 8, 24, 32, 48, 64 and 128, and locals beat x[] for registers.
 */
const LIMITS: ScanLimits = { maxBlocks: 16, maxInsns: 250, maxBlockInsns: 100 };
/** Regions compiled since the last flush before everything is thrown away (bounds memory). */
const MAX_REGIONS = 4096;
/** Budgets are clamped to this so that the generated code counts in small integers. */
const MAX_LEFT = 0x3fffffff;

/**
 * Indirect jumps (returns, calls through pointers) leave a region when their target is
 * not one of its blocks. A region that keeps leaving is compiled again with the
 * targets it left for as extra roots, so calls and returns stay inside one function.
 */
const LEARN_AFTER = 512;
const MAX_GENERATIONS = 3;
const MAX_ROOTS = 12;
const RECENT = 8;

interface Compiled {
  readonly fn: RegionFn;
  readonly entry: number;
  /** Extra pcs the region was scanned from (learned exit targets). */
  readonly roots: readonly number[];
  readonly generation: number;
  /** Block start pcs entered in the table for this region. */
  readonly entries: number[];
  /** Exits to pcs outside the region since it was compiled. */
  exits: number;
  /** The last few pcs it left for (a ring, EMPTY where unused). */
  readonly recent: Int32Array;
}

const nothing: RegionFn = (pc) => pc;

/**
 * A dispatch table's tags, all empty without writing the table (untouched memory costs
 * nothing): zero can only equal pc 0, which only slot 0 holds, so slot 0 alone is EMPTY.
 */
export function emptyTags(): Int32Array {
  const tags = new Int32Array(JIT_MASK + 1);
  tags[0] = EMPTY;
  return tags;
}
const NO_TLB = new Int32Array(0);

export class BlockCache implements RegionCache {
  /** pc of the region entry in each slot, or EMPTY. The hart reads it to skip a call on a miss. */
  readonly tag = emptyTags();
  /** Executions of uncompiled pcs per slot. */
  readonly hot = new Uint16Array(JIT_MASK + 1);
  /** Steps taken by the last `enter`. */
  steps = 0;
  readonly loopWeight = 1;

  /** By slot (made at the first compile: a hart that never compiles does not pay for them). */
  private fns: RegionFn[] = [];
  private owner: (Compiled | undefined)[] = [];
  /** Whether a region was entered in the tables since the last flush. */
  private used = false;
  /** Out-parameters of a region call: [steps, need-interpreter]. */
  private readonly st = new Int32Array(2);
  private ram: RamWindow | undefined;
  private scanner: RegionScanner | undefined;
  private readonly coverage: RegionCoverage<Compiled>;
  private regions = 0;
  /** False once `new Function` proved unavailable (e.g. a browser page with a strict CSP). */
  private available = true;

  /**
   * @param file the hart's register file (x0..x31 and the sink).
   * @param markCode watches a code address the way the interpreter does when it decodes,
   *   so that stores to compiled code reach `invalidate`.
   * @param hotness interpreted runs of a pc before it is compiled (JIT_HOT unless a test wants less).
   * @param mmu for a translated cache, the MMU whose TLBs its regions read; the hart
   *   enters such a cache only while fetches and data are both translated.
   */
  constructor(
    private readonly file: Int32Array,
    markCode: (addr: number) => void,
    readonly hotness = JIT_HOT,
    private readonly mmu?: Mmu,
  ) {
    this.coverage = new RegionCoverage<Compiled>(markCode, (c) => this.kill(c));
  }

  /** Regions compiled since the last flush (tests use it to prove code ran compiled). */
  get compiledRegions(): number {
    return this.regions;
  }

  attach(ram: RamWindow): void {
    this.ram = ram;
    const mmu = this.mmu;
    this.scanner = new RegionScanner(
      ram,
      LIMITS,
      mmu === undefined ? undefined : (vpn) => mmu.cachedFetchFrame(vpn),
    );
    this.flush();
  }

  /** Forgets all compiled code (fence.i, new memory contents, a new RAM window). */
  flush(): void {
    if (this.used) {
      this.tag.fill(EMPTY);
      this.fns.fill(nothing);
      this.owner.fill(undefined);
      this.used = false;
    }
    this.coverage.clear();
    this.regions = 0;
  }

  /**
   * Runs compiled code from `pc` for at most `budget` steps, chaining from region to
   * region; compiles a region at `pc` first when there is none (the caller found it hot).
   * Returns the pc to continue at; `steps` tells how many steps were taken. The caller
   * interprets the instruction at the returned pc next.
   */
  enter(pc: number, budget: number): number {
    const left = budget < MAX_LEFT ? budget : MAX_LEFT;
    const tag = this.tag;
    const st = this.st;
    let steps = 0;
    let first = true;
    while (steps < left) {
      const j = (pc >>> 1) & JIT_MASK;
      if (tag[j] !== pc) {
        if (!first && ++this.hot[j]! < this.hotness) break;
        this.hot[j] = 0;
        if (!this.compile(pc)) break;
      }
      first = false;
      const c = this.owner[j]!;
      pc = this.fns[j]!(pc, left - steps);
      steps += st[0]!;
      if (st[1] !== 0) {
        // Its code page maps elsewhere now (another address space at the same virtual
        // pc): once that is hot too, compile the code it maps to now in its place.
        if (st[1] === 2 && st[0] === 0 && ++this.hot[j]! >= this.hotness) {
          this.hot[j] = 0;
          if (this.compile(pc)) continue;
        }
        break;
      }
      c.recent[c.exits & (RECENT - 1)] = pc;
      if (++c.exits === LEARN_AFTER) this.learn(c);
    }
    this.steps = steps;
    return pc;
  }

  /** Drops every region with code in the bytes [a, a+size) (the hart calls it for stores to code pages). */
  invalidate(a: number, size: number): void {
    if (this.ram !== undefined) this.coverage.invalidate(this.ram, a, size);
  }

  private kill(c: Compiled): void {
    for (const pc of c.entries) {
      const j = (pc >>> 1) & JIT_MASK;
      if (this.owner[j] === c) {
        this.tag[j] = EMPTY;
        this.fns[j] = nothing;
        this.owner[j] = undefined;
      }
    }
  }

  /** Compiles `c` again with the pcs it recently left for as extra roots. */
  private learn(c: Compiled): void {
    if (c.generation >= MAX_GENERATIONS) return;
    const roots = [...c.roots];
    for (const pc of c.recent) {
      if (pc !== EMPTY && pc !== c.entry && !roots.includes(pc) && roots.length < MAX_ROOTS) roots.push(pc);
    }
    if (roots.length === c.roots.length) return;
    // `c` stays valid: the new region takes over the slots of its own blocks, and c
    // keeps any block the size cap pushed out of the new one (killing c would leave
    // those pcs uncompiled and start a cycle of recompilations).
    this.compile(c.entry, roots, c.generation + 1);
  }

  private compile(pc: number, roots: readonly number[] = [], generation = 0): boolean {
    const ram = this.ram;
    const scanner = this.scanner;
    if (!this.available || ram === undefined || scanner === undefined) return false;
    const region = scanner.scan(pc, roots);
    if (region === undefined) return false;
    const fn = this.build(region, ram);
    if (fn === undefined) return false;
    if (++this.regions > MAX_REGIONS) this.flush();
    const c: Compiled = {
      fn,
      entry: pc,
      roots,
      generation,
      entries: region.blocks.map((b) => b.start),
      exits: 0,
      recent: new Int32Array(RECENT).fill(EMPTY),
    };
    if (this.fns.length === 0) {
      this.fns = new Array<RegionFn>(JIT_MASK + 1).fill(nothing);
      this.owner = new Array<Compiled | undefined>(JIT_MASK + 1).fill(undefined);
    }
    this.used = true;
    for (const start of c.entries) {
      const j = (start >>> 1) & JIT_MASK;
      this.tag[j] = start;
      this.fns[j] = fn;
      this.owner[j] = c;
    }
    this.track(region, c, ram);
    return true;
  }

  private build(region: Region, ram: RamWindow): RegionFn | undefined {
    const source = generateRegion(region, ram.base, ram.size);
    const mmu = this.mmu;
    const mirrors = mmu?.mirrorTlbs();
    try {
      const factory = new Function(...REGION_PARAMS, source) as (...args: unknown[]) => RegionFn;
      return factory(
        this.file,
        this.st,
        ram.pages8,
        ram.pages16,
        ram.pages32,
        ram.fastWrite,
        mulhu,
        mmu?.tags[Access.Fetch] ?? NO_TLB,
        mmu?.frames[Access.Fetch] ?? NO_TLB,
        mirrors?.[Access.Load] ?? NO_TLB,
        mirrors?.[Access.Store] ?? NO_TLB,
      );
    } catch {
      // Only a host that forbids generated code gets here; the interpreter carries on alone.
      this.available = false;
      return undefined;
    }
  }

  /** Watches the region's pages and records which halfwords it was compiled from. */
  private track(region: Region, c: Compiled, ram: RamWindow): void {
    this.coverage.track(region, c, ram);
    // Interior pcs were counted while interpreted; only a new miss should count now.
    for (const block of region.blocks)
      for (const insn of block.insns) this.hot[(insn.pc >>> 1) & JIT_MASK] = 0;
  }
}
