import { emptyTags, JIT_MASK } from "./block-cache.js";
import type { FlatRam, RamWindow } from "./bus.js";
import { type Mmu, TLB_BYTES } from "./mmu.js";
import type { RegionCache } from "./region-cache.js";
import { RegionCoverage } from "./region-coverage.js";
import { type Region, RegionScanner, type ScanLimits } from "./region-scan.js";
import { generateWasmRegion, NEED_LEARN, NEED_REMAPPED, type WasmLayout } from "./region-wasm.js";
import { type BackgroundCompiler, backgroundCompiler } from "./wasm-compile-worker.js";
import { generateDispatcher } from "./wasm-dispatcher.js";
import { cachedModule, rememberModule } from "./wasm-module-cache.js";

/**
 * The block compiler's WebAssembly back end, run-time side: the counterpart of
 * `BlockCache` (same contract: `enter(pc, budget)` runs compiled code for at most
 * `budget` steps and returns the pc the interpreter continues at) for RAM laid out flat
 * in one `WebAssembly.Memory` (`RamWindow.flat`). A cache is physical (M-mode, or Sv32
 * off) or translated (Sv32 on for fetches and data: virtual pcs, regions that read the
 * MMU's TLBs, which the cache moves into the flat memory), as the JS back end's; the
 * hart keeps one of each and enters the one that fits the current mode. Each lives in
 * its own area of the hart's part of the memory (`area` 0 and 1), the TLBs after both.
 *
 * Each region is one small module importing the memory; its function goes into one
 * shared table, and a wasm dispatcher (`wasm-dispatcher.ts`) chains from region to
 * region through `call_indirect` without coming back to JS. The hart's registers are
 * copied into the state area in the memory on entry and back on return.
 *
 * The direct-mapped pc table (tags) lives in the memory, where the dispatcher reads it;
 * the hart reads it through `tag` as it does the JS cache's.
 */

/** Interpreted runs of a pc (a block start) before a region is compiled from it. */
export const WASM_HOT = 2000;
/**
 * The same threshold for code running under Sv32 translation, where an execution reached
 * backwards (a taken backward branch or jump: a loop head, most likely) counts
 * `LOOP_WEIGHT_TRANSLATED` times, so loops compile after 2,000 iterations as physical
 * code does while a kernel's many warm, loopless paths wait for 50,000 calls (so does a pc
 * a translated region leaves for backwards: see `WasmLayout.backOffset`). Measured
 * (CPU time, medians of 3 interleaved, loaded 2-core machine): the Linux MMU boot's first
 * 40 M steps took 2.42 s (43 regions) against 2.69 s (89 regions) with a plain 2,000 and
 * 2.50 s on the JS back end; bench-paged 307 ms against 280 ms (the JS back end ≈ 1 s).
 */
export const WASM_HOT_TRANSLATED = 50_000;
const LOOP_WEIGHT_TRANSLATED = 25;
/**
 * Region size caps: up to 24 blocks (a throwaway prototype found 16–32 best for wasm;
 * larger regions merge more registers at the loop head and make the indirect-jump
 * compare chain long).
 */
const LIMITS: ScanLimits = { maxBlocks: 24, maxInsns: 400, maxBlockInsns: 100 };
/** Regions compiled since the last flush before everything is thrown away (bounds memory). */
const MAX_REGIONS = 4096;
const MAX_REGIONS_CAP = MAX_REGIONS;
/**
 * Indirect jumps (returns, calls through pointers) leave a region when their target is
 * not one of its blocks; a region that keeps leaving is compiled again with the pcs it
 * left for as extra roots (as the JS back end does), so calls and returns stay inside.
 * Physical code only: under translation (a kernel, with many call sites and returns)
 * recompiling cost more than it saved (the Linux boot compiled 118 regions instead of
 * 89, two thirds of its compile time, bench-paged ran the same). Two generations at
 * most: a third cost more compile time (V8 optimises each region on background threads)
 * than it saved (medians of 3, loaded 2-core machine: bench 15 regions and 290 ms of
 * background CPU against 10 and 240 ms, the same main-thread time; jit-mix.c 32 regions,
 * 588 ms main thread, against 25 regions, 530 ms).
 */
const LEARN_AFTER = 512;
const MAX_GENERATIONS = 2;
const MAX_ROOTS = 12;
const RECENT = 8;
/**
 * A region compiling on the worker (see `wasm-compile-worker.ts`) is looked for again when
 * the interpreter has reached its entry this many more times (counted as hotness is), so
 * the port is polled now and then, not at every arrival; after `MAX_WAITS` such looks
 * without an answer (a worker that stopped) the region is compiled here instead.
 */
const REPOLL = 64;
const MAX_WAITS = 1024;
/** Budgets are clamped to this so that the generated code counts in small integers. */
const MAX_LEFT = 0x3fffffff;
const EMPTY = 1;
/** State area: registers, then a region call's steps and need, then the dispatcher's total. */
const REGS = 0;
const STEPS = 136;
const NEED = 140;
const TOTAL = 144;
/** Which region asked to learn (need = NEED_LEARN). */
const WHO = 148;
/**
 * 1 once a pc was entered in the tags since they were last emptied. A fresh memory holds 0
 * and zero tags: those count as empty (see `emptyTags`), so nobody writes 256 KiB of tags
 * (and commits their pages) before the first region is compiled.
 */
const USED = 152;
/** The pc a translated region last left for through a backward branch or jump (`WasmLayout.backOffset`). */
const BACK = 156;
/** Its index in `state` (which starts at STEPS). */
const STATE_BACK = (BACK - STEPS) >> 2;
const TAGS = 256;
const FNS = TAGS + 4 * (JIT_MASK + 1);
/** Per region slot: exits to pcs outside it, and a ring of the last RECENT of those pcs. */
const EXITS = FNS + 4 * (JIT_MASK + 1);
const RECENT_PCS = EXITS + 4 * MAX_REGIONS_CAP;
const AREA_BYTES = RECENT_PCS + 4 * RECENT * MAX_REGIONS_CAP;
/** Where each cache's area starts in the hart's part of the memory, then the TLBs. */
const AREA_STRIDE = (AREA_BYTES + 0xffff) & ~0xffff;
const TLBS = 2 * AREA_STRIDE;
/** Bytes of the hart's part of the flat memory both caches and the TLBs need. */
export const WASM_HOST_BYTES = TLBS + TLB_BYTES;
/** A load or store reads its page's flag at flags + (offset >>> 12) for any 32-bit offset (0 beyond RAM). */
const FLAG_REACH = 1 << 20;

interface Compiled {
  readonly slot: number;
  readonly entry: number;
  /** Extra pcs the region was scanned from (learned exit targets). */
  readonly roots: readonly number[];
  readonly generation: number;
  /** Block start pcs entered in the pc table for this region. */
  readonly entries: number[];
  /** Compiling on the worker: not in the tables yet. */
  pending: boolean;
  /** Dropped (its code written, the cache flushed) before it arrived: never to be entered. */
  dead: boolean;
  /** Looks for it while pending (see REPOLL). */
  waits: number;
}

type DispatchFn = (pc: number, left: number) => number;

/** Whether compiled code may use `flat` (large enough for the state area, TLBs and flag reads). */
function usable(flat: FlatRam | undefined): flat is FlatRam {
  if (flat === undefined) return false;
  const bytes = flat.memory.buffer.byteLength;
  return (
    flat.hostSize >= WASM_HOST_BYTES &&
    flat.hostOffset + WASM_HOST_BYTES <= bytes &&
    flat.fastWriteOffset + FLAG_REACH <= flat.fastReadOffset &&
    flat.fastReadOffset + FLAG_REACH <= flat.hostOffset &&
    flat.hostOffset % 8 === 0
  );
}

export class WasmBlockCache implements RegionCache {
  /** Until the cache is set up (see `create`), a table of its own, which nothing enters. */
  tag: Int32Array = emptyTags();
  readonly hot = new Uint16Array(JIT_MASK + 1);
  steps = 0;
  readonly loopWeight: number;

  private fnIndex!: Int32Array;
  private regs!: Int32Array;
  /** x1..x31 (with x0) of the hart's file and of the state area, for copying in and out. */
  private readonly fileRegs: Int32Array;
  private areaRegs!: Int32Array;
  private state!: Int32Array;
  private exits!: Int32Array;
  private recent!: Int32Array;
  private readonly bySlot: (Compiled | undefined)[] = [];
  /** By slot (made at the first compile). */
  private owner: (Compiled | undefined)[] = [];
  /** The USED word (see above). */
  private used!: Int32Array;
  private table!: WebAssembly.Table;
  /** Undefined until the cache is set up. */
  private dispatch: DispatchFn | undefined;
  private layout!: WasmLayout;
  private readonly scanner: RegionScanner;
  private readonly coverage: RegionCoverage<Compiled>;
  private imports!: WebAssembly.Imports;
  private regions = 0;
  private host!: number;
  /** Regions of virtual pcs reading the TLBs (the cache was made with an MMU). */
  private readonly translated: boolean;
  /** Whether a region compiled since the last flush relies on `RamWindow.loadsDirect`. */
  private direct = false;
  /** Regions compiling on the worker, by entry pc. */
  private readonly waiting = new Map<number, Compiled>();
  /** The worker compiling regions (made at the first region), undefined while there is none. */
  private worker: BackgroundCompiler | undefined;

  /**
   * A cache for `ram`, or undefined when it is not flat or the host cannot compile
   * WebAssembly (then the JS back end is used). For RAM that can be made flat on request
   * (`makeFlat`), the cache is set up at its first region: until then it costs nothing
   * but its counters, and if RAM cannot be made flat then, `onFailure` switches the hart
   * to the JS back end. With `mmu` it is the translated cache and moves the MMU's TLBs
   * into the flat memory when it is set up.
   */
  static create(
    file: Int32Array,
    markCode: (addr: number) => void,
    hotness: number,
    ram: RamWindow,
    onFailure: () => void,
    mmu?: Mmu,
    background = false,
  ): WasmBlockCache | undefined {
    const flat = ram.flat;
    if (flat === undefined && ram.makeFlat !== undefined && typeof WebAssembly === "object")
      return new WasmBlockCache(file, markCode, hotness, ram, undefined, onFailure, mmu, background);
    if (!usable(flat)) return undefined;
    try {
      return new WasmBlockCache(file, markCode, hotness, ram, flat, onFailure, mmu, background);
    } catch {
      return undefined;
    }
  }

  private constructor(
    private readonly file: Int32Array,
    markCode: (addr: number) => void,
    readonly hotness: number,
    private readonly ram: RamWindow,
    flat: FlatRam | undefined,
    /** Called once if a region fails to compile (e.g. a host limiting synchronous compiles). */
    private readonly onFailure: () => void,
    private readonly mmu: Mmu | undefined,
    /** Whether regions may compile on a worker thread (see `wasm-compile-worker.ts`). */
    private readonly background: boolean,
  ) {
    this.fileRegs = file.subarray(0, 32);
    this.translated = mmu !== undefined;
    this.loopWeight = this.translated ? LOOP_WEIGHT_TRANSLATED : 1;
    this.scanner = new RegionScanner(
      ram,
      LIMITS,
      mmu === undefined ? undefined : (vpn) => mmu.cachedFetchFrame(vpn),
    );
    this.coverage = new RegionCoverage<Compiled>(markCode, (c) => this.kill(c));
    if (flat !== undefined) this.setUp(flat);
  }

  /** Sets up the cache in `flat`'s memory, before its first region; false when it cannot. */
  private setUpLate(): boolean {
    const flat = this.ram.makeFlat?.();
    if (usable(flat)) {
      try {
        this.setUp(flat);
        return true;
      } catch {
        // as below: the JS back end instead
      }
    }
    this.onFailure();
    return false;
  }

  private setUp(flat: FlatRam): void {
    const ram = this.ram;
    const buffer = flat.memory.buffer;
    const host = flat.hostOffset + (this.translated ? AREA_STRIDE : 0);
    const tlbOffset = flat.hostOffset + TLBS;
    this.regs = new Int32Array(buffer, host + REGS, 33);
    this.state = new Int32Array(buffer, host + STEPS, STATE_BACK + 1);
    this.exits = new Int32Array(buffer, host + EXITS, MAX_REGIONS);
    this.recent = new Int32Array(buffer, host + RECENT_PCS, RECENT * MAX_REGIONS);
    this.host = host;
    this.areaRegs = this.regs.subarray(0, 32);
    this.tag = new Int32Array(buffer, host + TAGS, JIT_MASK + 1);
    this.fnIndex = new Int32Array(buffer, host + FNS, JIT_MASK + 1);
    this.used = new Int32Array(buffer, host + USED, 1);
    this.emptyTags();
    this.layout = {
      ramOffset: flat.ramOffset,
      ramBase: ram.base | 0,
      ramSize: ram.size,
      fastWriteOffset: flat.fastWriteOffset,
      fastReadOffset: flat.fastReadOffset,
      regsOffset: host + REGS,
      stepsOffset: host + STEPS,
      needOffset: host + NEED,
      tlbOffset: this.translated ? tlbOffset : undefined,
      backOffset: this.translated ? host + BACK : undefined,
    };
    this.table = new WebAssembly.Table({ element: "anyfunc", initial: 64 });
    this.imports = { m: { mem: flat.memory, tab: this.table } };
    const dispatcher = new WebAssembly.Instance(
      new WebAssembly.Module(
        generateDispatcher({
          tagsOffset: host + TAGS,
          fnsOffset: host + FNS,
          mask: JIT_MASK,
          stepsOffset: host + STEPS,
          needOffset: host + NEED,
          totalOffset: host + TOTAL,
        }) as BufferSource,
      ),
      this.imports,
    );
    this.dispatch = dispatcher.exports.run as DispatchFn;
    // Last: nothing may fail after the TLBs have moved.
    this.mmu?.placeTlbs(buffer, tlbOffset);
  }

  get compiledRegions(): number {
    return this.regions;
  }

  /** The cache is made for one RAM window; the hart makes a new one for another. */
  attach(_ram: RamWindow): void {
    this.flush();
  }

  /** Empties the tags: zero where none was ever entered (a zero tag only matches pc 0, in slot 0). */
  private emptyTags(): void {
    if ((this.used as Int32Array | undefined) === undefined) return; // not set up: nothing entered
    if (this.used[0] !== 0) this.tag.fill(EMPTY);
    this.tag[0] = EMPTY;
    this.used[0] = 0;
  }

  flush(): void {
    for (const c of this.waiting.values()) c.dead = true;
    this.waiting.clear();
    this.emptyTags();
    this.owner.fill(undefined);
    this.bySlot.length = 0;
    this.coverage.clear();
    this.regions = 0;
    this.direct = false;
  }

  /**
   * Kept out of line: V8 inlines a callee of at most 460 bytes of bytecode, and this one
   * is just above that (the `budget <= 0` test put it there). Inlined into `Hart.run`,
   * each path here a guest takes first (a back exit counted, a region learning) threw
   * away `Hart.run`'s optimised code (≈ 250–350 ms of TurboFan each time); out of line
   * only this method is deoptimised and recompiled, in milliseconds (see README,
   * *Cold start*). Keep it above the limit (`node --print-bytecode
   * --print-bytecode-filter=enter`).
   */
  enter(pc: number, budget: number): number {
    if (budget <= 0 || (this.dispatch === undefined && !this.setUpLate())) {
      this.steps = 0;
      return pc;
    }
    // Code compiled for loads straight from the memory must not run once some page may
    // not be (a page source set since).
    if (this.direct && this.ram.loadsDirect !== true) this.flush();
    // Regions that finished compiling on the worker go into the tables now.
    if (this.waiting.size !== 0) this.worker?.poll();
    const dispatch = this.dispatch!;
    const left = budget < MAX_LEFT ? budget : MAX_LEFT;
    const tag = this.tag;
    const state = this.state;
    let steps = 0;
    let first = true;
    this.regs.set(this.fileRegs);
    while (steps < left) {
      const j = (pc >>> 1) & JIT_MASK;
      if (tag[j] !== pc) {
        if (!first) {
          // Compiled code left for a pc with none: count it, as a loop head when reached
          // backwards (only translated regions say so; see `WasmLayout.backOffset`).
          const heat = this.hot[j]! + (state[STATE_BACK] === pc ? this.loopWeight : 1);
          this.hot[j] = heat;
          if (heat < this.hotness) break;
        }
        this.hot[j] = 0;
        if (!this.compile(pc)) break;
      }
      first = false;
      pc = dispatch(pc, left - steps);
      steps += state[2]!;
      const need = state[1]!;
      if (need === NEED_LEARN) this.learn(state[3]!);
      else if (need !== 0) {
        // Its code page maps elsewhere now (another address space at the same virtual
        // pc): once that is hot too, compile the code it maps to now in its place.
        if (need === NEED_REMAPPED && state[0] === 0) {
          const k = (pc >>> 1) & JIT_MASK;
          if (++this.hot[k]! >= this.hotness) {
            this.hot[k] = 0;
            if (this.compile(pc)) continue;
          }
        }
        break;
      }
    }
    this.file.set(this.areaRegs);
    this.steps = steps;
    return pc;
  }

  invalidate(a: number, size: number): void {
    this.coverage.invalidate(this.ram, a, size);
  }

  private kill(c: Compiled): void {
    c.dead = true;
    if (this.waiting.get(c.entry) === c) this.waiting.delete(c.entry);
    for (const pc of c.entries) {
      const j = (pc >>> 1) & JIT_MASK;
      if (this.owner[j] === c) {
        this.tag[j] = EMPTY;
        this.owner[j] = undefined;
      }
    }
  }

  /** Compiles the region in `slot` again with the pcs it recently left for as extra roots. */
  private learn(slot: number): void {
    const c = this.bySlot[slot];
    if (this.translated || c === undefined || c.generation >= MAX_GENERATIONS) return;
    const roots = [...c.roots];
    for (let k = 0; k < RECENT; k++) {
      const pc = this.recent[slot * RECENT + k]!;
      if (pc !== 0 && pc !== c.entry && !roots.includes(pc) && roots.length < MAX_ROOTS) roots.push(pc);
    }
    if (roots.length === c.roots.length) return;
    // `c` stays: the new region takes over the slots of its own blocks (see BlockCache.learn).
    this.compile(c.entry, roots, c.generation + 1);
  }

  /**
   * Compiles a region from `pc` (with `roots` as extra entries); true when it can be
   * entered now, false when there is none (nothing to compile, or a failure) or it is
   * compiling on the worker: the interpreter goes on meanwhile and the region is entered
   * from the first look after it arrived (see REPOLL).
   */
  private compile(pc: number, roots: readonly number[] = [], generation = 0): boolean {
    const waiting = this.waiting.get(pc);
    if (waiting !== undefined) {
      if (++waiting.waits < MAX_WAITS) {
        this.lookAgain(pc);
        return false;
      }
      this.kill(waiting); // the worker stopped answering: compile it here
    }
    const region = this.scanner.scan(pc, roots);
    if (region === undefined) return false;
    if (this.regions >= MAX_REGIONS) this.flush();
    const slot = this.regions;
    const generated = this.generate(region, slot);
    if (generated === undefined) return false;
    const c: Compiled = {
      slot,
      entry: pc,
      roots,
      generation,
      entries: generated.entries,
      pending: false,
      dead: false,
      waits: 0,
    };
    const { bytes } = generated;
    const known = cachedModule(bytes);
    // (Asked each time: that also hears whether the worker has started meanwhile.)
    const worker = this.background && known === undefined ? backgroundCompiler() : undefined;
    if (worker !== undefined) this.worker = worker;
    let fn: WebAssembly.ExportValue | undefined;
    if (worker?.ready === true) {
      c.pending = true;
      this.waiting.set(pc, c);
      worker.request(bytes, (module) => {
        if (module !== undefined) rememberModule(bytes, module);
        this.arrived(c, module);
      });
    } else {
      fn = this.instantiate(() => {
        if (known !== undefined) return known;
        const module = new WebAssembly.Module(bytes as BufferSource);
        rememberModule(bytes, module);
        return module;
      });
      if (fn === undefined) return false;
    }
    this.regions++;
    if (slot >= this.table.length) this.table.grow(Math.max(64, this.table.length));
    this.exits[slot] = 0;
    this.recent.fill(0, slot * RECENT, (slot + 1) * RECENT);
    this.bySlot[slot] = c;
    if (this.owner.length === 0) this.owner = new Array<Compiled | undefined>(JIT_MASK + 1).fill(undefined);
    // Watched from now on, so a store to its code drops it even before it arrives.
    this.coverage.track(region, c, this.ram);
    // Interior pcs were counted while interpreted; only a new miss should count now.
    for (const block of region.blocks)
      for (const insn of block.insns) this.hot[(insn.pc >>> 1) & JIT_MASK] = 0;
    if (fn === undefined) {
      this.lookAgain(pc);
      return false;
    }
    this.install(c, fn);
    return true;
  }

  /** Makes the hart enter (and so look for `pc`'s pending region) after REPOLL more arrivals. */
  private lookAgain(pc: number): void {
    this.hot[(pc >>> 1) & JIT_MASK] = Math.max(0, this.hotness - REPOLL);
  }

  /** A region's module came from the worker (undefined: it failed to compile there). */
  private arrived(c: Compiled, module: WebAssembly.Module | undefined): void {
    if (c.dead) return;
    if (this.waiting.get(c.entry) === c) this.waiting.delete(c.entry);
    c.pending = false;
    const fn = module === undefined ? this.failed() : this.instantiate(() => module);
    if (fn === undefined) {
      c.dead = true;
      return;
    }
    this.install(c, fn);
  }

  /** Enters a compiled region's blocks in the pc table. */
  private install(c: Compiled, fn: WebAssembly.ExportValue): void {
    this.table.set(c.slot, fn);
    this.used[0] = 1;
    for (const start of c.entries) {
      const j = (start >>> 1) & JIT_MASK;
      this.tag[j] = start;
      this.fnIndex[j] = c.slot;
      this.owner[j] = c;
    }
  }

  private generate(region: Region, slot: number): { bytes: Uint8Array; entries: number[] } | undefined {
    const direct = !this.translated && this.ram.loadsDirect === true;
    this.layout.loadsDirect = direct;
    this.direct ||= direct;
    try {
      return generateWasmRegion(region, this.layout, {
        count: this.host + EXITS + 4 * slot,
        recent: this.host + RECENT_PCS + 4 * RECENT * slot,
        after: LEARN_AFTER,
        who: this.host + WHO,
        slot,
      });
    } catch {
      return this.failed();
    }
  }

  /** The region function of `module()`'s instance, or undefined (and the JS back end) on failure. */
  private instantiate(module: () => WebAssembly.Module): WebAssembly.ExportValue | undefined {
    try {
      return new WebAssembly.Instance(module(), this.imports).exports.f;
    } catch {
      return this.failed();
    }
  }

  /** A host that limits synchronous compilation: the hart goes on with the JS back end. */
  private failed(): undefined {
    this.onFailure();
    return undefined;
  }
}
