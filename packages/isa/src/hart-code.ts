import { BlockCache, JIT_HOT, JIT_HOT_TRANSLATED } from "./block-cache.js";
import type { Bus, RamWindow } from "./bus.js";
import { MSTATUS } from "./csr-file.js";
import { DC_EMPTY, DecodeCache } from "./decode-cache.js";
import { type Decoded, decodeInto, emptyDecoded } from "./decoder.js";
import { type HartMemoryOptions, SINK } from "./hart-memory.js";
import { HartSystem } from "./hart-system.js";
import { Access } from "./mmu.js";
import { Privilege } from "./privilege.js";
import type { RegionCache } from "./region-cache.js";
import { Exception } from "./trap-causes.js";
import { WASM_HOT, WASM_HOT_TRANSLATED, WasmBlockCache } from "./wasm-cache.js";

/** What the hart's code side takes from its options (`HartOptions`). */
export interface HartCodeOptions extends HartMemoryOptions {
  /**
   * Compile hot code into JS functions (default true). Results are identical either
   * way; false keeps the plain interpreter (the reference), e.g. to cross-check.
   */
  jit?: boolean;
  /**
   * How often a pc runs interpreted before it is compiled (default JIT_HOT, 5000, and
   * JIT_HOT_TRANSLATED, 50000, for code running under Sv32 translation).
   */
  jitHotness?: number;
  /**
   * Which back end compiles hot code: "wasm" (the default) where RAM lies flat in a
   * `WebAssembly.Memory` (`RamWindow.flat`) and the host compiles WebAssembly, else
   * "js" (`new Function`). The same choice holds for code running with physical
   * addresses and for code under Sv32 translation.
   */
  compiler?: "wasm" | "js";
  /**
   * Whether the wasm back end compiles regions on a worker thread while the interpreter
   * goes on (where the host has `worker_threads`; default false: on a 2-core machine the
   * worker's start-up cost more CPU time than it took off the guest's thread, see the
   * package README). Results are identical either way; only how soon a region runs
   * compiled differs.
   */
  compileInBackground?: boolean;
}

/**
 * The hart's code side: the decoded-instruction cache and its invalidation when code
 * is written (code pages watched in RAM, slots filled under translation remembered per
 * physical page), and the block compilers (physical and translated, WebAssembly or JS)
 * with the choice of the one that fits the current mode. `Hart` (hart.ts) adds the run
 * loop that uses them.
 */
export abstract class HartCode extends HartSystem {
  private codePage: Uint8Array = new Uint8Array(0);

  /**
   * Decoded instructions by pc. Stores to a page holding cached code invalidate exactly
   * the entries they touch. Replaced by a larger cache when crowded (`growDecodeCache`).
   */
  protected decode = new DecodeCache();
  private readonly scratch: Decoded = emptyDecoded();

  /** The block compiler for physical pcs and addresses, absent when turned off. */
  private jitPhysical: RegionCache | undefined;
  private readonly compiler: "wasm" | "js";
  /** Whether wasm regions may compile on a worker thread (options.compileInBackground). */
  private readonly compileInBackground: boolean;
  /**
   * The block compiler for code running under Sv32 translation (virtual pcs, TLB
   * lookups), made the first time translation is on (most harts never need it).
   */
  private jitTranslated: RegionCache | undefined;
  private readonly jitHotness: number | undefined;
  /** Whether hot code is compiled at all (options.jit). */
  private readonly jitOn: boolean;
  /** The one of the two that fits the current mode; undefined while code must be interpreted. */
  protected jit: RegionCache | undefined;
  /**
   * Slots filled under translation are indexed by virtual pc, which a physical store
   * cannot compute: each code page lists them as (slot, tag) pairs, and a store to the
   * page drops the page's whole list (the frame is most likely being reused as data).
   */
  private virtualSlots: (number[] | undefined)[] = [];
  /** Slots holding instructions that straddle two virtual pages (valid until the next translation change). */
  private straddlers: number[] = [];

  constructor(bus: Bus, options: HartCodeOptions) {
    super(bus, options);
    this.csr.onTranslationChange = (contextOnly) => this.translationChanged(contextOnly === true);
    this.jitHotness = options.jitHotness;
    this.compiler = options.compiler ?? "wasm";
    this.compileInBackground = options.compileInBackground === true;
    // The physical compiler is made with RAM (attachRam): it compiles nothing before.
    this.jitOn = options.jit !== false;
  }

  /**
   * The block compiler for code under Sv32 translation: the WebAssembly back end where
   * it can run (as for physical code), else the JS one.
   */
  private translatedCompiler(): RegionCache {
    if (this.jitTranslated === undefined) {
      const ram = this.ram;
      if (this.compiler === "wasm" && ram !== undefined) {
        this.jitTranslated = WasmBlockCache.create(
          this.file,
          (a) => this.markCode(a),
          this.jitHotness ?? WASM_HOT_TRANSLATED,
          ram,
          () => {
            const js = this.translatedJs();
            if (this.jit === this.jitTranslated) this.jit = js;
            this.jitTranslated = js;
          },
          this.mmu,
          this.compileInBackground,
        );
      }
      this.jitTranslated ??= this.translatedJs();
    }
    return this.jitTranslated;
  }

  private translatedJs(): BlockCache {
    const hotness = this.jitHotness ?? JIT_HOT_TRANSLATED;
    const js = new BlockCache(this.file, (a) => this.markCode(a), hotness, this.mmu);
    if (this.ram !== undefined) js.attach(this.ram);
    return js;
  }

  /** Gives the hart direct access to RAM pages; loads/stores elsewhere use the bus. */
  attachRam(ram: RamWindow): void {
    this.ram = ram;
    this.ramBase = ram.base >>> 0;
    this.ramSize = ram.size >>> 0;
    this.pages8 = ram.pages8;
    this.pages16 = ram.pages16;
    this.pages32 = ram.pages32;
    this.fastWrite = ram.fastWrite;
    this.codePage = new Uint8Array(Math.ceil(ram.size / 4096));
    this.virtualSlots = []; // grown on first use (rememberVirtualSlot)
    this.jitPhysical = this.physicalCompiler(ram);
    // The translated compiler is made again for this RAM (the wasm one is made for one memory).
    const translated = this.jitTranslated;
    this.jitTranslated = undefined;
    if (translated !== undefined && this.jit === translated) this.jit = this.translatedCompiler();
    ram.onWatchedWrite = (offset, length) => this.invalidateCode((this.ramBase + offset) | 0, length);
    this.flushDecodeCache();
  }

  /**
   * The physical block compiler for `ram`: the WebAssembly back end where it can run,
   * else the JS one (also when a wasm region fails to compile: the host limits it).
   */
  private physicalCompiler(ram: RamWindow): RegionCache | undefined {
    const old = this.jitPhysical;
    if (!this.jitOn) return undefined;
    let next: RegionCache | undefined;
    if (this.compiler === "wasm") {
      next = WasmBlockCache.create(
        this.file,
        (a) => this.markCode(a),
        this.jitHotness ?? WASM_HOT,
        ram,
        () => {
          const js = new BlockCache(this.file, (a) => this.markCode(a), this.jitHotness ?? JIT_HOT);
          js.attach(ram);
          if (this.jit === this.jitPhysical) this.jit = js;
          this.jitPhysical = js;
        },
        undefined,
        this.compileInBackground,
      );
    }
    if (next === undefined) {
      next =
        old instanceof BlockCache
          ? old
          : new BlockCache(this.file, (a) => this.markCode(a), this.jitHotness ?? JIT_HOT);
      next.attach(ram);
    }
    if (this.jit === old) this.jit = next;
    return next;
  }

  /** Regions the block compiler has compiled since its last flush (0 without it). */
  get compiledRegions(): number {
    return (this.jitPhysical?.compiledRegions ?? 0) + (this.jitTranslated?.compiledRegions ?? 0);
  }

  /** The back end compiling physical code: "wasm", "js", or undefined with the compiler off. */
  get compilerBackend(): "wasm" | "js" | undefined {
    if (this.jitPhysical === undefined) return undefined;
    return this.jitPhysical instanceof WasmBlockCache ? "wasm" : "js";
  }

  /**
   * The back end compiling code under Sv32 translation: "wasm", "js", or undefined
   * while none was needed yet (or with the compiler off).
   */
  get translatedBackend(): "wasm" | "js" | undefined {
    if (this.jitTranslated === undefined) return undefined;
    return this.jitTranslated instanceof WasmBlockCache ? "wasm" : "js";
  }

  /**
   * Replaces a crowded decode cache by a full-size one (the run loop asks before it
   * starts): its entries are dropped, and the lists that point into it with them.
   */
  protected growDecodeCache(): void {
    this.decode = this.decode.grown();
    if (this.virtualSlots.length > 0) this.virtualSlots = [];
    this.straddlers = [];
  }

  /** Forgets every decoded instruction (fence.i, or after memory was replaced wholesale). */
  flushDecodeCache(): void {
    this.decode.flush();
    this.jitPhysical?.flush();
    this.jitTranslated?.flush();
    if (this.virtualSlots.length > 0) this.virtualSlots = [];
    this.straddlers = [];
  }

  /**
   * Privilege or MPRV/SUM/MXR changed (`contextOnly`: the MMU switches to that context's
   * TLBs), or satp, PMP or sfence.vma without an address (all translations are
   * forgotten): decide which checks accesses need from now on. The decode cache
   * survives: its tags are physical.
   */
  protected translationChanged(contextOnly: boolean): void {
    const mmu = this.mmu;
    if (!contextOnly) mmu.flush();
    this.fetchPage = -1;
    this.loadPage = -1;
    this.storePage = -1;
    const csr = this.csr;
    const open = csr.pmp.allowsEverything();
    this.translateFetch = mmu.active(Access.Fetch);
    this.translateData = mmu.active(Access.Load);
    if (this.translateFetch || this.translateData) {
      // The context names what a walk's outcome depends on besides satp and the tables.
      const fetchPriv = this.translateFetch ? csr.priv : Privilege.Machine;
      const dataPriv = this.translateData ? mmu.dataPrivilege() : Privilege.Machine;
      const bits = this.translateData ? (csr.mstatus & (MSTATUS.SUM | MSTATUS.MXR)) >>> 18 : 0;
      mmu.select(fetchPriv | (dataPriv << 2) | (bits << 4));
    }
    this.pmpFetch = csr.priv !== Privilege.Machine && !open;
    this.pmpData = this.mmu.dataPrivilege() !== Privilege.Machine && !open;
    // Armed debug triggers send fetches and accesses down the checked paths, and keep
    // compiled code off: nothing is checked on the fast paths while none is armed.
    const triggers = csr.triggers;
    this.checkedData = this.translateData || this.pmpData || triggers.dataArmed;
    this.checkedFetch = this.translateFetch || this.pmpFetch || triggers.execArmed;
    this.tlbData = this.translateData && !this.pmpData && !triggers.dataArmed;
    this.tlbFetch = this.translateFetch && !this.pmpFetch && !triggers.execArmed;
    // Compiled code runs with PMP open only, with fetches and data both physical or
    // both translated (not under MPRV's mix).
    if (this.jitPhysical === undefined) this.jit = undefined;
    else if (
      this.pmpFetch ||
      this.pmpData ||
      this.translateFetch !== this.translateData ||
      triggers.execArmed ||
      triggers.dataArmed
    )
      this.jit = undefined;
    else this.jit = this.translateFetch ? this.translatedCompiler() : this.jitPhysical;
    this.dropStraddlers();
  }

  /**
   * sfence.vma of one virtual address: its page's translations are forgotten (every
   * context's), and the one-entry page memories and page-straddling decodes with them.
   */
  protected pageFenced(va: number): void {
    this.mmu.flushPage(va);
    this.fetchPage = -1;
    this.loadPage = -1;
    this.storePage = -1;
    this.dropStraddlers();
  }

  /** Drops the decodes of instructions that straddle two virtual pages (a translation changed). */
  private dropStraddlers(): void {
    const straddlers = this.straddlers;
    if (straddlers.length === 0) return;
    for (const i of straddlers) this.decode.tags[i] = DC_EMPTY;
    straddlers.length = 0;
  }

  private markCode(addr: number): void {
    const off = (addr - this.ramBase) >>> 0;
    if (off >= this.ramSize) return;
    const page = off >>> 12;
    if (this.codePage[page] === 0) {
      this.codePage[page] = 1;
      this.ram!.watch(page);
    }
  }

  /**
   * Decodes the instruction at virtual `pc`, physical `key`, into slot `i`; false with
   * a fault pending on failure. Without translation `key` is `pc`.
   */
  protected fill(pc: number, i: number, key: number): boolean {
    const lo = this.fetch16(key);
    if (Number.isNaN(lo)) return this.fault(Exception.InstructionAccessFault, pc);
    let raw = lo;
    let hiAddress = (key + 2) | 0;
    const translated = this.translateFetch || this.pmpFetch;
    if ((lo & 3) === 3) {
      if (translated && (pc & 0xfff) === 0xffe) {
        hiAddress = this.fetchAddress((pc + 2) | 0);
        if (hiAddress === -1) return false;
        this.straddlers.push(i);
      }
      const hi = this.fetch16(hiAddress);
      if (Number.isNaN(hi)) return this.fault(Exception.InstructionAccessFault, (pc + 2) | 0);
      raw = (lo | (hi << 16)) >>> 0;
    }
    const d = this.scratch;
    if (!decodeInto(raw, d)) return this.fault(Exception.IllegalInstruction, raw);
    this.markCode(key);
    if (d.length === 4) this.markCode(hiAddress);
    const decode = this.decode;
    decode.tags[i] = key; // before rememberVirtualSlot, which records the slot's tag
    if (this.translateFetch) {
      this.rememberVirtualSlot(key, i);
      if (d.length === 4 && hiAddress >>> 12 !== key >>> 12) this.rememberVirtualSlot(hiAddress, i);
    }
    decode.used = true;
    decode.fills++;
    const rd = d.rd === 0 ? SINK : d.rd;
    decode.data[2 * i] = d.spec.op | (rd << 8) | (d.rs1 << 14) | (d.rs2 << 19) | (d.length << 24);
    decode.data[2 * i + 1] = d.imm;
    return true;
  }

  private rememberVirtualSlot(physical: number, slot: number): void {
    const page = ((physical - this.ramBase) >>> 0) >>> 12;
    if (page >= this.codePage.length) return;
    while (this.virtualSlots.length <= page) this.virtualSlots.push(undefined);
    let list = this.virtualSlots[page];
    if (list === undefined) {
      list = [];
      this.virtualSlots[page] = list;
    }
    list.push(slot, this.decode.tags[slot]!);
  }

  /** Drops cached decodes of any instruction that overlaps the bytes [a, a+size). */
  protected invalidateCode(a: number, size: number): void {
    const off = (a - this.ramBase) >>> 0;
    if (off >= this.ramSize) return;
    const lastPage = (off + size - 1) >>> 12;
    if (
      this.codePage[off >>> 12] === 0 &&
      (lastPage >= this.codePage.length || this.codePage[lastPage] === 0)
    )
      return;
    const { tags, mask } = this.decode;
    for (let page = off >>> 12; page <= lastPage && page < this.virtualSlots.length; page++) {
      const list = this.virtualSlots[page];
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k += 2) {
        if (tags[list[k]!] === list[k + 1]) tags[list[k]!] = DC_EMPTY;
      }
      this.virtualSlots[page] = undefined;
    }
    this.jitPhysical?.invalidate(a, size);
    this.jitTranslated?.invalidate(a, size);
    // An instruction starting up to 2 bytes before `a` may reach into the written bytes.
    for (let h = (a & ~1) - 2; h < a + size; h += 2) {
      const i = (h >>> 1) & mask;
      if (tags[i] === (h | 0)) tags[i] = DC_EMPTY;
    }
  }
}
