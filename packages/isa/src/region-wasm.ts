import { Access, TLB_KIND_BYTES, TLB_MASK } from "./mmu.js";
import { type MemoryAccess, OpKind, opInfo } from "./op-table.js";
import { isSelfLoop, planRegion, type RegionPlan } from "./region-loops.js";
import { type Block, BlockEnd, type Insn, type Region, regionLayout } from "./region-scan.js";
import { type Push, WASM_ALU, WASM_BRANCH } from "./region-wasm-alu.js";
import { Code, encodeModule, VOID, W } from "./wasm-encoder.js";

/**
 * Turns a scanned region into a WebAssembly module (the WebAssembly back end of the
 * block compiler; `region-codegen.ts` is the JS one). Same contract as the JS form:
 * `f(pc, left) -> npc`, steps taken and "need the interpreter" written to the state
 * area, every exit *before* an instruction the region cannot run, with the earlier
 * ones committed and counted.
 *
 * Guest RAM is the imported memory itself (see `FlatRam`): a load or store is one
 * memory instruction after one flag byte, read for the page of any 32-bit offset (0
 * beyond RAM, so it is the bounds check too): `fastRead` for loads, `fastWrite` for
 * stores (a store to a code page, or to a page not yet dirty in the current epoch or
 * not allocated, leaves the region, so self-modifying code and dirty-page tracking
 * stay exact). Halfword and word accesses also leave when misaligned. Registers live in wasm
 * locals, loaded from the state area on entry and written back at the single exit.
 *
 * Shape: `block $out (loop $top (block $dispatch (block $case_{K-1} ... (block $case_0
 * (br_table $b))) case code ...) dispatch code))`. A jump to a block of the region sets
 * `$b` and branches to `$top`; a block laid out right after falls through.
 *
 * Under Sv32 translation (a region scanned with `translated` set) pcs and data
 * addresses are virtual, and the code reads the MMU's TLBs, which the MMU keeps in the
 * flat memory for it (`Mmu.placeTlbs`), never walking page tables itself (as the JS back
 * end does, see region-codegen.ts):
 *  - a load or store hits when its page's slot in the load or store TLB holds the page
 *    (the MMU fills them only with accesses allowed in the current context, store
 *    entries only once D is set); the frame there plus the page offset, less the RAM
 *    base, is the RAM offset, whose fastRead/fastWrite flag is then checked as for a
 *    physical access. Anything else leaves before the access, so the interpreter walks
 *    (setting A/D) or faults exactly as it would have. A hit changes nothing the
 *    interpreter would not have changed;
 *  - a block entered from the dispatch (region entry, indirect jumps) or from a block on
 *    another virtual page first checks that the fetch TLB still maps its page to the
 *    frame it was compiled from; if not the region leaves before it (need = 2 at the
 *    dispatch, so that the caller can tell a region whose code page maps elsewhere now).
 */

/** Where a region finds what it needs in the flat memory (byte offsets). */
export interface WasmLayout {
  /** Offset of RAM's first byte. */
  ramOffset: number;
  /** Guest physical address of RAM's first byte, and its size. */
  ramBase: number;
  ramSize: number;
  fastWriteOffset: number;
  fastReadOffset: number;
  /** x0..x31 as int32 (x[r] at regsOffset + 4r). */
  regsOffset: number;
  /** Steps taken by the last region call (int32), then its need flag. */
  stepsOffset: number;
  needOffset: number;
  /** Under translation: where the MMU keeps its TLBs (`Mmu.placeTlbs`' layout). */
  tlbOffset?: number;
  /**
   * Under translation: where a region leaving through a backward branch or jump to a pc
   * outside it writes that pc (an int32), so that the caller can count the pc as a loop
   * head (see `WasmBlockCache.enter`); nothing is written for other exits.
   */
  backOffset?: number;
  /**
   * Every RAM page may be loaded from directly (`RamWindow.loadsDirect`): a physical load
   * then checks only that it lies within RAM (misaligned ones too: the memory's bytes
   * are RAM's), instead of its page's `fastRead` flag and its alignment.
   */
  loadsDirect?: boolean;
}

/**
 * Where a region counts its exits to pcs outside it (byte offsets of its own counter and
 * its ring of the last 8 such pcs). After `after` exits it leaves with need = `NEED_LEARN`
 * and its `slot` at `who`, so that it is compiled again with those pcs as extra roots.
 */
export interface ExitLog {
  count: number;
  recent: number;
  after: number;
  who: number;
  slot: number;
}

/** The need flag of a region asking to be compiled again with its exit targets. */
export const NEED_LEARN = 3;
/** The need flag of a translated region whose entry's code page maps to another frame now. */
export const NEED_REMAPPED = 2;
/** Entries per TLB (`Mmu.placeTlbs`' layout: tags, then frames, per access kind). */
const TLB_ENTRIES = TLB_MASK + 1;

/** Locals: the parameters, then the region's working values, then one per register it uses. */
const PC = 0;
const LEFT = 1;
const B = 2;
/** Steps still allowed: `left` on entry, less each block's length as it starts. */
const REM = 3;
const NPC = 4;
const NEED = 5;
const O = 6;
/** A translated access's virtual address. */
const T = 7;
/** In a loop with back edges to its middle: the block its top goes to (0: the head; see `RegionPlan.inner`). */
const INNER = 8;
const FIRST_REG = 9;

const LOAD_OP = { 1: [W.I32Load8U, W.I32Load8S], 2: [W.I32Load16U, W.I32Load16S], 4: [W.I32Load, W.I32Load] };
const STORE_OP = { 1: W.I32Store8, 2: W.I32Store16, 4: W.I32Store };
const ALIGN_BITS = { 1: 0, 2: 1, 4: 2 } as const;

/** Per-region generation state. */
class Gen {
  readonly c = new Code();
  readonly local = new Map<number, number>();
  /** Labels inside the innermost of `labels` (open `if`s, a block's own loop). */
  nest = 0;
  /**
   * The structural labels enclosing the code being generated, outermost first: "out",
   * "top", "dispatch", "case:H" (the case of the unit headed by block H), "loop:H" (the
   * loop unit headed by H), "in:J" (ends where block J of a loop starts).
   */
  readonly labels: string[] = [];
  /** The block being generated. */
  current = 0;
  /** Blocks that start with a budget check, and per block the steps it needs (see `RegionPlan`). */
  readonly heads: Set<number>;
  readonly reach: number[];

  readonly region: Region;
  /** The block index of each start pc. */
  readonly index: Map<number, number>;

  constructor(
    readonly plan: RegionPlan,
    readonly layout: WasmLayout,
  ) {
    this.region = plan.region;
    this.index = plan.index;
    this.heads = plan.heads;
    this.reach = plan.reach;
  }

  /** The branch depth of a structural label from the code being generated. */
  depth(label: string): number {
    const k = this.labels.lastIndexOf(label);
    if (k < 0) throw new Error(`region compiler: no label ${label} here`);
    return this.nest + this.labels.length - 1 - k;
  }
  get top(): number {
    return this.depth("top");
  }
  get out(): number {
    return this.depth("out");
  }
  /** Opens a structural label. */
  open(op: W, label: string): void {
    this.c.op(op).byte(VOID);
    this.labels.push(label);
  }
  /** Closes the innermost structural label. */
  close(): void {
    this.c.op(W.End);
    this.labels.pop();
  }

  /** A pusher for register r (x0 reads as 0). */
  reg(r: number): Push {
    if (r === 0) return (c) => c.i32(0);
    const l = this.local.get(r)!;
    return (c) => c.get(l);
  }

  /** Leaves the region before the instruction at `pc`, `uncount` steps of the block taken back. */
  exit(pc: number, uncount: number): void {
    const c = this.c;
    if (uncount !== 0) c.get(REM).i32(uncount).op(W.I32Add).set(REM);
    c.i32(pc).set(NPC).i32(1).set(NEED).br(this.out);
  }

  /**
   * Leaves with `need` unless the fetch TLB maps the virtual page of `block` to the frame
   * it was compiled from (translated regions; constant slot, tag and frame).
   */
  codePageCheck(block: Block, need: number): void {
    const c = this.c;
    const vpn = block.start >>> 12;
    const slot = 4 * (vpn & TLB_MASK);
    const tlb = this.layout.tlbOffset!;
    c.i32(0)
      .mem(W.I32Load, 2, tlb + slot)
      .i32(vpn)
      .op(W.I32Ne);
    c.i32(0)
      .mem(W.I32Load, 2, tlb + 4 * TLB_ENTRIES + slot)
      .i32(block.frame)
      .op(W.I32Ne)
      .op(W.I32Or);
    c.op(W.If).byte(VOID);
    this.nest++;
    c.i32(block.start).set(NPC).i32(need).set(NEED).br(this.out);
    this.nest--;
    c.op(W.End);
  }

  /**
   * Transfers control from `from` to `pc`: falls through to the next case, jumps to a
   * block (after a code-page check when translated and the page changes), or leaves.
   * Only valid inside a block's code (`cases` says which).
   */
  goTo(pc: number, nextIndex: number, from: Block): void {
    const c = this.c;
    const b = this.index.get(pc);
    if (b === undefined) {
      const back = this.layout.backOffset;
      const last = from.insns[from.insns.length - 1]!;
      if (back !== undefined && pc >>> 0 <= last.pc >>> 0) c.i32(0).i32(pc).mem(W.I32Store, 2, back);
      c.i32(pc).set(NPC).br(this.out);
      return;
    }
    const to = this.region.blocks[b]!;
    if (this.region.translated && (to.start ^ from.start) >>> 12 !== 0) this.codePageCheck(to, 1);
    if (b === nextIndex) return;
    const { loopOf, unitOf } = this.plan;
    const loop = loopOf[this.current]!;
    // The head of this block's loop; a later block of it, whose code starts where its
    // `in` label ends; a later unit, whose code starts where its case ends; an earlier
    // unit, through `$top`'s br_table.
    if (loop !== -1 && b === loop) c.br(this.depth(`loop:${b}`));
    else if (loop !== -1 && loopOf[b] === loop && b > this.current) c.br(this.depth(`in:${b}`));
    else if (loop !== -1 && loopOf[b] === loop) {
      // Backwards into the loop's middle: through its top's br_table.
      c.i32(this.plan.inner.get(loop)!.indexOf(b) + 1)
        .set(INNER)
        .br(this.depth(`loop:${loop}`));
    } else if (unitOf[b] === -1) throw new Error("region compiler: a jump into a loop from outside");
    else if (b > this.current) c.br(this.depth(`case:${b}`));
    else c.i32(unitOf[b]!).set(B).br(this.top);
  }
}

/** A region's module, and the pcs it may be entered at (block starts, but for those inside loops). */
export interface WasmRegion {
  readonly bytes: Uint8Array;
  readonly entries: number[];
}

/** The module for `region`, exporting `f(pc, left) -> npc`. */
export function generateWasmRegion(scanned: Region, layout: WasmLayout, log?: ExitLog): WasmRegion {
  if (scanned.translated && layout.tlbOffset === undefined)
    throw new Error("region compiler: a translated region needs the TLBs' offset");
  const plan = planRegion(scanned);
  const { region, units, unitOf } = plan;
  const { registers: regs, written } = regionLayout(region);
  const g = new Gen(plan, layout);
  const c = g.c;
  regs.forEach((r, k) => {
    g.local.set(r, FIRST_REG + k);
  });
  for (const r of regs)
    c.i32(0)
      .mem(W.I32Load, 2, layout.regsOffset + 4 * r)
      .set(g.local.get(r)!);
  // B: the unit to go to through the br_table (n: the dispatch).
  const n = units.length;
  c.get(PC).set(NPC).i32(n).set(B).get(LEFT).set(REM);
  g.open(W.Block, "out");
  g.open(W.Loop, "top");
  g.open(W.Block, "dispatch");
  for (let u = n - 1; u >= 0; u--) g.open(W.Block, `case:${units[u]![0]}`);
  c.get(B).op(W.BrTable).u32(n);
  for (let u = 0; u < n; u++) c.u32(u);
  c.u32(n); // default: the dispatch
  for (const [head, last] of units) {
    g.close(); // this unit's case: its code follows
    if (last === head) emitBlock(g, region.blocks[head]!, head);
    else {
      g.open(W.Loop, `loop:${head}`);
      for (let j = last; j > head; j--) g.open(W.Block, `in:${j}`);
      const mid = plan.inner.get(head);
      if (mid !== undefined) {
        // The loop's top: to the block INNER names, INNER back to 0 (the head).
        g.open(W.Block, `in:${head}`);
        c.get(INNER)
          .i32(0)
          .set(INNER)
          .op(W.BrTable)
          .u32(mid.length + 1);
        c.u32(g.depth(`in:${head}`));
        for (const j of mid) c.u32(g.depth(`in:${j}`));
        c.u32(g.depth(`in:${head}`));
        g.close();
      }
      for (let j = head; j <= last; j++) {
        if (j > head) g.close(); // block j's `in` label
        emitBlock(g, region.blocks[j]!, j);
      }
      g.close();
    }
  }
  g.close(); // the dispatch's
  // The dispatch (entry, indirect jumps): the unit headed by the block starting at npc,
  // or leave. Entering block i needs room for the longest path to the next budget check.
  const heads = [...g.index].filter(([, i]) => unitOf[i] !== -1);
  const entries = heads.sort(([a], [b]) => (a === region.entry ? -1 : b === region.entry ? 1 : 0));
  for (const [pc, i] of entries) {
    c.get(NPC).i32(pc).op(W.I32Eq).op(W.If).byte(VOID);
    g.nest++;
    if (region.translated) g.codePageCheck(region.blocks[i]!, NEED_REMAPPED);
    c.get(REM).i32(g.reach[i]!).op(W.I32LtS).op(W.If).byte(VOID);
    g.nest++;
    c.i32(1).set(NEED).br(g.out);
    g.nest--;
    c.op(W.End);
    c.i32(unitOf[i]!).set(B).br(g.top);
    g.nest--;
    c.op(W.End);
  }
  g.close(); // $top: falling out of the loop leaves
  g.close(); // $out
  for (const r of written)
    c.i32(0)
      .get(g.local.get(r)!)
      .mem(W.I32Store, 2, layout.regsOffset + 4 * r);
  if (log !== undefined) {
    // Left for a pc outside the region: count it, remember it, maybe ask to learn.
    c.get(NEED).op(W.I32Eqz).op(W.If).byte(VOID);
    c.i32(0).i32(0).mem(W.I32Load, 2, log.count).i32(1).op(W.I32Add).op(W.LocalTee).u32(O);
    c.mem(W.I32Store, 2, log.count);
    c.get(O).i32(7).op(W.I32And).i32(2).op(W.I32Shl).get(NPC).mem(W.I32Store, 2, log.recent);
    c.get(O).i32(log.after).op(W.I32Eq).op(W.If).byte(VOID);
    c.i32(NEED_LEARN).set(NEED).i32(0).i32(log.slot).mem(W.I32Store, 2, log.who);
    c.op(W.End).op(W.End);
  }
  // A region that took no step hands over to the interpreter, so execution always advances.
  // Steps taken: left - rem, into REM.
  // (need = 2, a code page mapped elsewhere, is kept: the caller counts those.)
  c.get(LEFT).get(REM).op(W.I32Sub).op(W.LocalTee).u32(REM);
  c.op(W.I32Eqz);
  if (region.translated) c.get(NEED).op(W.I32Eqz).op(W.I32And);
  c.op(W.If).byte(VOID).i32(1).set(NEED).op(W.End);
  c.i32(0).get(REM).mem(W.I32Store, 2, layout.stepsOffset);
  c.i32(0).get(NEED).mem(W.I32Store, 2, layout.needOffset);
  c.get(NPC);
  const bytes = encodeModule({
    types: [[2, 1]],
    imports: [{ module: "m", name: "mem", kind: "memory" }],
    funcs: [{ type: 0, locals: FIRST_REG - 2 + regs.length, body: c }],
    exports: [{ name: "f", func: 0 }],
  });
  return { bytes, entries: entries.map(([pc]) => pc) };
}

function emitBlock(g: Gen, block: Block, i: number): void {
  const c = g.c;
  g.current = i;
  const len = block.insns.length;
  const nextIndex = i + 1;
  // The whole block must fit in the budget: n > left - len leaves before it.
  const last = block.insns[len - 1]!;
  // A block that branches to itself (most inner loops) runs in a wasm loop of its own.
  const selfLoop = isSelfLoop(block);
  if (selfLoop) {
    c.op(W.Loop).byte(VOID);
    g.nest++;
  }
  if (g.heads.has(i)) {
    // A loop head: room for the longest path to the next check, or leave (the
    // interpreter then finishes the last stretch of the budget).
    c.get(REM).i32(g.reach[i]!).op(W.I32LtS).op(W.If).byte(VOID);
    g.nest++;
    g.exit(block.start, 0);
    g.nest--;
    c.op(W.End);
  }
  c.get(REM).i32(len).op(W.I32Sub).set(REM);
  block.insns.forEach((insn, k) => {
    emitInsn(g, insn, len - k);
  });
  switch (block.end) {
    case BlockEnd.Branch: {
      g.reg(last.rs1)(c);
      g.reg(last.rs2)(c);
      c.op(WASM_BRANCH[last.op]!);
      if (selfLoop) {
        c.brIf(0).op(W.End);
        g.nest--;
      } else {
        c.op(W.If).byte(VOID);
        g.nest++;
        g.goTo(block.target, -1, block);
        g.nest--;
        c.op(W.End);
      }
      g.goTo(block.fallThrough, nextIndex, block);
      break;
    }
    case BlockEnd.Jump:
      if (last.rd !== 0) c.i32(block.fallThrough).set(g.local.get(last.rd)!);
      g.goTo(block.target, nextIndex, block);
      break;
    case BlockEnd.Indirect:
      // Target first: rd may be rs1.
      g.reg(last.rs1)(c);
      c.i32(last.imm).op(W.I32Add).i32(-2).op(W.I32And).set(NPC);
      if (last.rd !== 0) c.i32(block.fallThrough).set(g.local.get(last.rd)!);
      c.i32(g.plan.units.length).set(B).br(g.top);
      break;
    case BlockEnd.Next:
      g.goTo(block.fallThrough, nextIndex, block);
      break;
    case BlockEnd.Interpret:
      c.i32(block.fallThrough).set(NPC).i32(1).set(NEED).br(g.out);
      break;
  }
}

function emitInsn(g: Gen, i: Insn, uncount: number): void {
  const info = opInfo(i.op);
  const c = g.c;
  switch (info.kind) {
    case OpKind.Alu:
      if (i.rd === 0) return;
      WASM_ALU[i.op]!(c, g.reg(i.rs1), g.reg(i.rs2), i.imm, i);
      c.set(g.local.get(i.rd)!);
      return;
    case OpKind.Load:
    case OpKind.Store:
      emitAccess(g, i, info.access!, info.kind === OpKind.Store, uncount);
      return;
    case OpKind.Fence:
    case OpKind.Branch:
    case OpKind.Jump:
    case OpKind.IndirectJump:
      return; // no effect, or a block terminator emitted by emitBlock
    case OpKind.System:
      throw new Error(`region compiler: ${info.name} is not compiled`);
  }
}

/**
 * A load or store: o = rs1 + imm - RAM base; leave unless the flag of o's page says
 * the memory may be used directly (0 for pages beyond RAM) and o is aligned; then one
 * memory instruction.
 */
function emitAccess(g: Gen, i: Insn, access: MemoryAccess, store: boolean, uncount: number): void {
  const c = g.c;
  const { layout } = g;
  const { size } = access;
  const bits = ALIGN_BITS[size];
  if (g.region.translated) {
    emitTranslatedCheck(g, i, size, store);
  } else {
    emitPhysicalCheck(g, i, size, store);
  }
  c.op(W.If).byte(VOID);
  g.nest++;
  g.exit(i.pc, uncount);
  g.nest--;
  c.op(W.End);
  if (store) {
    c.get(O);
    g.reg(i.rs2)(c);
    c.mem(STORE_OP[size], bits, layout.ramOffset);
  } else if (i.rd !== 0) {
    c.get(O).mem(LOAD_OP[size][access.signed ? 1 : 0]!, bits, layout.ramOffset);
    c.set(g.local.get(i.rd)!);
  }
}

/**
 * Pushes "leave" (non-zero) for a translated access and leaves its RAM offset in O:
 * t = rs1 + imm; the TLB slot of t's page must hold the page, the frame there plus t's
 * page offset less the RAM base is O, whose page flag must be set; t must be aligned.
 * Every load is in bounds whatever the TLB holds (a slot is within the TLB, and the flag
 * of any 32-bit offset can be read), so the tests are combined without branches.
 */
function emitTranslatedCheck(g: Gen, i: Insn, size: 1 | 2 | 4, store: boolean): void {
  const c = g.c;
  const { layout } = g;
  const tlb = layout.tlbOffset! + TLB_KIND_BYTES * (store ? Access.Store : Access.Load);
  g.reg(i.rs1)(c);
  c.i32(i.imm).op(W.I32Add).op(W.LocalTee).u32(T);
  // Slot byte offset: ((t >>> 12) & mask) * 4, kept in O until O is the RAM offset.
  c.i32(10)
    .op(W.I32ShrU)
    .i32(4 * TLB_MASK)
    .op(W.I32And)
    .op(W.LocalTee)
    .u32(O);
  c.mem(W.I32Load, 2, tlb).get(T).i32(12).op(W.I32ShrU).op(W.I32Ne);
  c.get(O).mem(W.I32Load, 2, tlb + 4 * TLB_ENTRIES);
  c.get(T)
    .i32(0xfff)
    .op(W.I32And)
    .op(W.I32Add)
    .i32(-layout.ramBase | 0)
    .op(W.I32Add)
    .op(W.LocalTee)
    .u32(O);
  c.i32(12).op(W.I32ShrU);
  c.mem(W.I32Load8U, 0, store ? layout.fastWriteOffset : layout.fastReadOffset);
  c.op(W.I32Eqz).op(W.I32Or);
  if (size > 1)
    c.get(T)
      .i32(size - 1)
      .op(W.I32And)
      .op(W.I32Or);
}

/**
 * Pushes "leave" (non-zero) for a physical access and leaves its RAM offset in O: the
 * flag of O's page must be set (0 for pages beyond RAM) and O aligned; or, for a load
 * when every page may be loaded from (`loadsDirect`), all its bytes must lie in RAM.
 */
function emitPhysicalCheck(g: Gen, i: Insn, size: 1 | 2 | 4, store: boolean): void {
  const c = g.c;
  const { layout } = g;
  g.reg(i.rs1)(c);
  c.i32(i.imm - layout.ramBase)
    .op(W.I32Add)
    .op(W.LocalTee)
    .u32(O);
  if (!store && layout.loadsDirect === true) {
    // Its last byte within RAM: one unsigned compare (a negative offset is huge).
    c.i32((layout.ramSize - size) | 0).op(W.I32GtU);
    return;
  }
  c.i32(12).op(W.I32ShrU);
  c.mem(W.I32Load8U, 0, store ? layout.fastWriteOffset : layout.fastReadOffset);
  c.op(W.I32Eqz);
  if (size > 1)
    c.get(O)
      .i32(size - 1)
      .op(W.I32And)
      .op(W.I32Or);
}
