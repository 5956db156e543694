import { BlockCache, JIT_HOT, JIT_HOT_TRANSLATED, JIT_MASK } from "./block-cache.js";
import type { Bus, RamWindow } from "./bus.js";
import { MSTATUS } from "./csr-file.js";
import { type Decoded, decodeInto, emptyDecoded } from "./decoder.js";
import { type HartMemoryOptions, NO_FAULT, SINK } from "./hart-memory.js";
import { HartSystem } from "./hart-system.js";
import { Access } from "./mmu.js";
import { mulhu } from "./mul-high.js";
import { Op } from "./ops.js";
import { Privilege } from "./privilege.js";
import type { RegionCache } from "./region-cache.js";
import { StopReason } from "./stop-reason.js";
import { Exception } from "./trap-causes.js";
import { WASM_HOT, WASM_HOT_TRANSLATED, WasmBlockCache } from "./wasm-cache.js";

// Decoded-instruction cache: direct-mapped by pc, filled from the decode table on a
// miss. Stores to a page holding cached code invalidate exactly the entries they touch.
const DC_BITS = 18;
const DC_SIZE = 1 << DC_BITS;
const DC_MASK = DC_SIZE - 1;
/** An odd tag never equals a pc (pcs are 2-aligned), so it marks an empty slot. */
const DC_EMPTY = 1;

/** Decode-cache tags, all empty: zero (never a pc that maps to slots 1..) with slot 0 DC_EMPTY. */
function emptyDecodeTags(): Int32Array {
  const tags = new Int32Array(DC_SIZE);
  tags[0] = DC_EMPTY;
  return tags;
}

export interface HartOptions extends HartMemoryOptions {
  /** Stop at semihosting `ebreak` sequences instead of trapping (default true). */
  semihosting?: boolean;
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
 * One RV32IMAC hart with Zicsr and Zifencei, machine and user modes.
 *
 * `run(budget)` executes at most `budget` steps (a step retires an instruction or takes
 * a trap) and never looks at a clock, so the same state and input always give the same
 * result. Registers live in an Int32Array; x0 stays zero because decoding sends writes
 * to it to a sink register.
 */
export class Hart extends HartSystem {
  private codePage: Uint8Array = new Uint8Array(0);

  /**
   * Made zeroed (untouched memory costs nothing until used): a zero tag can only match pc 0,
   * which only slot 0 holds, so slot 0 alone starts as DC_EMPTY (see emptyDecodeTags).
   */
  private readonly dcTag = emptyDecodeTags();
  /** Whether any slot was filled since the last flush (a flush of an unused cache costs nothing). */
  private dcUsed = false;
  /** op | rd << 8 | rs1 << 14 | rs2 << 19 | length << 24, one load per step. */
  private readonly dcWord = new Int32Array(DC_SIZE);
  private readonly dcImm = new Int32Array(DC_SIZE);
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
  private jit: RegionCache | undefined;
  /**
   * Slots filled under translation are indexed by virtual pc, which a physical store
   * cannot compute: each code page lists them as (slot, tag) pairs, and a store to the
   * page drops the page's whole list (the frame is most likely being reused as data).
   */
  private virtualSlots: (number[] | undefined)[] = [];
  /** Slots holding instructions that straddle two virtual pages (valid until the next translation change). */
  private straddlers: number[] = [];

  constructor(bus: Bus, options: HartOptions = {}) {
    super(bus, options);
    this.semihosting = options.semihosting ?? true;
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

  /** Steps taken, including those of a `run` in progress (as of its last device or CSR access). */
  get liveSteps(): number {
    return this.steps + this.runSteps;
  }

  /** Instructions retired since reset (`minstret` before guest writes). */
  get instret(): number {
    return this.steps - this.traps;
  }

  /** Asks a running `run` to return after the current instruction (devices call this). */
  requestStop(): void {
    this.stopRequested = true;
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

  /** Forgets every decoded instruction (fence.i, or after memory was replaced wholesale). */
  flushDecodeCache(): void {
    if (this.dcUsed) this.dcTag.fill(DC_EMPTY);
    this.dcUsed = false;
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
    for (const i of this.straddlers) this.dcTag[i] = DC_EMPTY;
    this.straddlers = [];
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
    for (const i of this.straddlers) this.dcTag[i] = DC_EMPTY;
    this.straddlers = [];
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
  private fill(pc: number, i: number, key: number): boolean {
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
    if (this.translateFetch) {
      this.rememberVirtualSlot(key, i);
      if (d.length === 4 && hiAddress >>> 12 !== key >>> 12) this.rememberVirtualSlot(hiAddress, i);
    }
    this.dcTag[i] = key;
    this.dcUsed = true;
    const rd = d.rd === 0 ? SINK : d.rd;
    this.dcWord[i] = d.spec.op | (rd << 8) | (d.rs1 << 14) | (d.rs2 << 19) | (d.length << 24);
    this.dcImm[i] = d.imm;
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
    list.push(slot, this.dcTag[slot]!);
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
    for (let page = off >>> 12; page <= lastPage && page < this.virtualSlots.length; page++) {
      const list = this.virtualSlots[page];
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k += 2) {
        if (this.dcTag[list[k]!] === list[k + 1]) this.dcTag[list[k]!] = DC_EMPTY;
      }
      this.virtualSlots[page] = undefined;
    }
    this.jitPhysical?.invalidate(a, size);
    this.jitTranslated?.invalidate(a, size);
    // An instruction starting up to 2 bytes before `a` may reach into the written bytes.
    for (let h = (a & ~1) - 2; h < a + size; h += 2) {
      const i = (h >>> 1) & DC_MASK;
      if (this.dcTag[i] === (h | 0)) this.dcTag[i] = DC_EMPTY;
    }
  }

  /**
   * Runs until `budget` steps are taken or something needs the board's attention.
   * Returns why it stopped; `steps` tells how far it got.
   */
  run(budget: number): StopReason {
    const x = this.file;
    const tag = this.dcTag;
    const words = this.dcWord;
    const imms = this.dcImm;
    const ramBase = this.ramBase;
    const ramSize = this.ramSize;
    const pages8 = this.pages8;
    const pages16 = this.pages16;
    const pages32 = this.pages32;
    const fastWrite = this.fastWrite;
    let pc = this.pc | 0;
    let n = 0;
    let reason: StopReason = StopReason.Budget;
    this.stopRequested = false;
    // Where straight-line execution goes next: a pc reached otherwise (a jump, a taken
    // branch, a trap) starts a block, and only block starts count towards compiling a
    // region there (resume points after a slice or a region exit would be junk entries).
    let seq = pc;

    pc = this.afterControlChange(pc);

    loop: while (n < budget) {
      // Compiled code runs where there is some (or the pc just became hot); it returns
      // at the first instruction it leaves to the interpreter, which runs it below.
      // The compiler for the current mode (traps and CSR writes may switch it).
      const jit = this.jit;
      if (jit !== undefined) {
        const j = (pc >>> 1) & JIT_MASK;
        let compiled = jit.tag[j] === pc;
        if (!compiled && pc !== seq) {
          // A block start: count it (more when reached backwards, see `loopWeight`).
          const heat = jit.hot[j]! + (pc >>> 0 < seq >>> 0 ? jit.loopWeight : 1);
          jit.hot[j] = heat;
          compiled = heat >= jit.hotness;
        }
        if (compiled) {
          pc = jit.enter(pc, budget - n);
          n += jit.steps;
          this.compiledSteps += jit.steps;
          if (n >= budget) break;
        }
      }
      const i = (pc >>> 1) & DC_MASK;
      let key = pc;
      if (this.checkedFetch) {
        // An execute trigger: a breakpoint exception before the instruction (tval 0).
        const triggers = this.csr.triggers;
        if (triggers.execArmed && triggers.hitsExec(pc, this.csr.priv)) {
          pc = this.trap(Exception.Breakpoint, 0, pc);
          n++;
          continue;
        }
        // Most instructions come from the page the previous one came from.
        if (pc >>> 12 === this.fetchPage) key = this.fetchFrame | (pc & 0xfff);
        else {
          key = this.fetchAddress(pc) | 0;
          if (key === -1 && this.faultCause !== NO_FAULT) {
            pc = this.takeFault(pc);
            n++;
            continue;
          }
          // Remember the page only when PMP allowed all of it (a TLB hit means it did).
          if (!this.pmpFetch) {
            this.fetchPage = pc >>> 12;
            this.fetchFrame = key & ~0xfff;
          }
        }
        // A slot never filled holds tag 0 (see emptyDecodeTags), which a virtual pc
        // mapped to physical 0 would match: there, always fill (and fault).
        if (key === 0) tag[i] = DC_EMPTY;
      }
      if (tag[i] !== key && !this.fill(pc, i, key)) {
        if (pc === (this.csr.mtvec & ~3)) {
          this.faultCause = NO_FAULT;
          reason = StopReason.UnhandledTrap;
          break;
        }
        pc = this.takeFault(pc);
        n++;
        continue;
      }
      const w = words[i]!;
      const op = w & 0xff;
      const rd = (w >>> 8) & 63;
      const rs1 = (w >>> 14) & 31;
      const rs2 = (w >>> 19) & 31;
      const imm = imms[i]!;
      let next = (pc + (w >>> 24)) | 0;
      seq = next;

      // RAM loads and stores are written out in their cases (with the page arrays in
      // locals) because they are most of what a guest does; the methods handle the rest.
      switch (op) {
        case Op.LUI:
          x[rd] = imm;
          break;
        case Op.AUIPC:
          x[rd] = (pc + imm) | 0;
          break;
        case Op.JAL:
          x[rd] = next;
          next = (pc + imm) | 0;
          break;
        case Op.JALR: {
          const target = ((x[rs1]! + imm) & ~1) | 0;
          x[rd] = next;
          next = target;
          break;
        }
        case Op.BEQ:
          if (x[rs1] === x[rs2]) next = (pc + imm) | 0;
          break;
        case Op.BNE:
          if (x[rs1] !== x[rs2]) next = (pc + imm) | 0;
          break;
        case Op.BLT:
          if (x[rs1]! < x[rs2]!) next = (pc + imm) | 0;
          break;
        case Op.BGE:
          if (x[rs1]! >= x[rs2]!) next = (pc + imm) | 0;
          break;
        case Op.BLTU:
          if (x[rs1]! >>> 0 < x[rs2]! >>> 0) next = (pc + imm) | 0;
          break;
        case Op.BGEU:
          if (x[rs1]! >>> 0 >= x[rs2]! >>> 0) next = (pc + imm) | 0;
          break;
        case Op.LB: {
          const a = (x[rs1]! + imm) | 0;
          const off = (a - ramBase) >>> 0;
          if (off < ramSize && !this.checkedData) {
            const page = pages8[off >>> 12];
            if (page !== undefined) {
              x[rd] = (page[off & 4095]! << 24) >> 24;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld8(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = (v << 24) >> 24;
          break;
        }
        case Op.LH: {
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld16((x[rs1]! + imm) | 0);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = (v << 16) >> 16;
          break;
        }
        case Op.LW: {
          const a = (x[rs1]! + imm) | 0;
          const off = (a - ramBase) >>> 0;
          if (off < ramSize && (a & 3) === 0 && !this.checkedData) {
            const page = pages32[off >>> 12];
            if (page !== undefined) {
              x[rd] = page[(off >>> 2) & 1023]!;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld32(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = v;
          break;
        }
        case Op.LBU: {
          const a = (x[rs1]! + imm) | 0;
          const off = (a - ramBase) >>> 0;
          if (off < ramSize && !this.checkedData) {
            const page = pages8[off >>> 12];
            if (page !== undefined) {
              x[rd] = page[off & 4095]!;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld8(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = v;
          break;
        }
        case Op.LHU: {
          const a = (x[rs1]! + imm) | 0;
          const off = (a - ramBase) >>> 0;
          if (off < ramSize && (a & 1) === 0 && !this.checkedData) {
            const page = pages16[off >>> 12];
            if (page !== undefined) {
              x[rd] = page[(off >>> 1) & 2047]!;
              break;
            }
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          const v = this.ld16(a);
          if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
          else x[rd] = v;
          break;
        }
        case Op.SB: {
          const a = (x[rs1]! + imm) | 0;
          const off = (a - ramBase) >>> 0;
          if (off < ramSize && fastWrite[off >>> 12] === 1 && !this.checkedData) {
            pages8[off >>> 12]![off & 4095] = x[rs2]!;
            break;
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          if (!this.st8(a, x[rs2]!)) {
            if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
            else {
              pc = next;
              n++;
              reason = StopReason.Requested;
              break loop;
            }
          }
          break;
        }
        case Op.SH:
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          if (!this.st16((x[rs1]! + imm) | 0, x[rs2]!)) {
            if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
            else {
              pc = next;
              n++;
              reason = StopReason.Requested;
              break loop;
            }
          }
          break;
        case Op.SW: {
          const a = (x[rs1]! + imm) | 0;
          const off = (a - ramBase) >>> 0;
          if (off < ramSize && (a & 3) === 0 && fastWrite[off >>> 12] === 1 && !this.checkedData) {
            pages32[off >>> 12]![(off >>> 2) & 1023] = x[rs2]!;
            break;
          }
          this.runSteps = n; // devices (the CLINT's mtime) see the time of this step
          if (!this.st32(a, x[rs2]!)) {
            if (this.faultCause !== NO_FAULT) next = this.takeFault(pc);
            else {
              pc = next;
              n++;
              reason = StopReason.Requested;
              break loop;
            }
          }
          break;
        }
        case Op.ADDI:
          x[rd] = (x[rs1]! + imm) | 0;
          break;
        case Op.SLTI:
          x[rd] = x[rs1]! < imm ? 1 : 0;
          break;
        case Op.SLTIU:
          x[rd] = x[rs1]! >>> 0 < imm >>> 0 ? 1 : 0;
          break;
        case Op.XORI:
          x[rd] = x[rs1]! ^ imm;
          break;
        case Op.ORI:
          x[rd] = x[rs1]! | imm;
          break;
        case Op.ANDI:
          x[rd] = x[rs1]! & imm;
          break;
        case Op.SLLI:
          x[rd] = x[rs1]! << imm;
          break;
        case Op.SRLI:
          x[rd] = x[rs1]! >>> imm;
          break;
        case Op.SRAI:
          x[rd] = x[rs1]! >> imm;
          break;
        case Op.ADD:
          x[rd] = (x[rs1]! + x[rs2]!) | 0;
          break;
        case Op.SUB:
          x[rd] = (x[rs1]! - x[rs2]!) | 0;
          break;
        case Op.SLL:
          x[rd] = x[rs1]! << (x[rs2]! & 31);
          break;
        case Op.SLT:
          x[rd] = x[rs1]! < x[rs2]! ? 1 : 0;
          break;
        case Op.SLTU:
          x[rd] = x[rs1]! >>> 0 < x[rs2]! >>> 0 ? 1 : 0;
          break;
        case Op.XOR:
          x[rd] = x[rs1]! ^ x[rs2]!;
          break;
        case Op.SRL:
          x[rd] = x[rs1]! >>> (x[rs2]! & 31);
          break;
        case Op.SRA:
          x[rd] = x[rs1]! >> (x[rs2]! & 31);
          break;
        case Op.OR:
          x[rd] = x[rs1]! | x[rs2]!;
          break;
        case Op.AND:
          x[rd] = x[rs1]! & x[rs2]!;
          break;
        case Op.MUL:
          x[rd] = Math.imul(x[rs1]!, x[rs2]!);
          break;
        case Op.MULH: {
          const a = x[rs1]!;
          const b = x[rs2]!;
          x[rd] = (mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
          break;
        }
        case Op.MULHSU: {
          const a = x[rs1]!;
          x[rd] = (mulhu(a, x[rs2]!) - (a < 0 ? x[rs2]! : 0)) | 0;
          break;
        }
        case Op.MULHU:
          x[rd] = mulhu(x[rs1]!, x[rs2]!);
          break;
        case Op.DIV: {
          const a = x[rs1]!;
          const b = x[rs2]!;
          if (b === 0) x[rd] = -1;
          else if (b === -1)
            x[rd] = -a | 0; // INT_MIN / -1 wraps to INT_MIN
          else x[rd] = (a / b) | 0;
          break;
        }
        case Op.DIVU: {
          const b = x[rs2]! >>> 0;
          x[rd] = b === 0 ? -1 : ((x[rs1]! >>> 0) / b) | 0;
          break;
        }
        case Op.REM: {
          const a = x[rs1]!;
          const b = x[rs2]!;
          if (b === 0) x[rd] = a;
          else if (b === -1) x[rd] = 0;
          else x[rd] = (a % b) | 0;
          break;
        }
        case Op.REMU: {
          const b = x[rs2]! >>> 0;
          x[rd] = b === 0 ? x[rs1]! : ((x[rs1]! >>> 0) % b) | 0;
          break;
        }
        case Op.FENCE:
          break;
        default:
          // The rest (system, CSR and atomic instructions, and illegal ones) are rare: a
          // method of their own keeps this loop small for the optimising compiler.
          next = this.system(op, w, rd, rs1, rs2, imm, pc, next, n);
          if (this.stopReason !== StopReason.Budget) {
            reason = this.stopReason;
            this.stopReason = StopReason.Budget;
            pc = next;
            n++;
            break loop;
          }
          break;
      }
      pc = next;
      n++;
    }
    this.pc = pc;
    this.steps += n;
    this.runSteps = 0;
    return reason;
  }
}
