import { type Block, BlockEnd, type Region } from "./region-scan.js";

/**
 * How the WebAssembly back end lays out a region's blocks (`region-wasm.ts`): in address
 * order, each ending where the next one starts, grouped into units. A unit is one block, or a loop: a run of blocks [head, last]
 * whose only way in is the head (by a jump or branch from before it, or from the region's
 * dispatch) and whose only edges backwards go to the head. A loop's code sits in a wasm
 * `loop`, so its back edges and inner forward edges are plain branches; a unit's head is
 * reached from elsewhere through the region's `br_table` (backwards) or its case label
 * (forwards). Blocks inside a loop are no entry points of the region: an indirect jump
 * to one leaves the region, and the cache does not map their pcs to it. A loop may also
 * have back edges to blocks in its middle (a loop whose code the compiler laid out with
 * its entry in the middle, such as a heap sort's sift-down: the run then extends over the
 * later blocks that branch back into it); those go to the loop's top, where a `br_table`
 * on a local (its `inner` index, 0 for the head) picks the block. The plan also says
 * where the budget is checked (`budgetChecks`).
 */
export interface RegionPlan {
  /** The region, its blocks in address order (stable: the first block scanned at a pc stays). */
  readonly region: Region;
  /** The block index of each start pc. */
  readonly index: Map<number, number>;
  /** Per block: the blocks control goes to from it without the dispatch (branch, jump, next). */
  readonly succ: number[][];
  /** Units in layout order, as [head, last] block indexes (head = last: a single block). */
  readonly units: (readonly [number, number])[];
  /** Per block: the index of the unit it heads, or -1 (a block inside a loop). */
  readonly unitOf: Int32Array;
  /** Per block: the head of the loop unit it belongs to, or -1. */
  readonly loopOf: Int32Array;
  /**
   * Per loop head with back edges to blocks in its middle: those blocks, ascending (their
   * `inner` index is their position here plus one).
   */
  readonly inner: Map<number, number[]>;
  /** Blocks that start with a budget check: targets of backward edges (see `budgetChecks`). */
  readonly heads: Set<number>;
  /** Per block: the most steps from its start to the next budget check or exit. */
  readonly reach: number[];
}

/** Whether a block branches to itself (it runs in a wasm loop of its own). */
export function isSelfLoop(block: Block): boolean {
  return block.end === BlockEnd.Branch && block.target === block.start;
}

export function planRegion(scanned: Region): RegionPlan {
  const sorted = [...scanned.blocks].sort((a, b) => (a.start >>> 0) - (b.start >>> 0));
  const starts = new Set(sorted.map((b) => b.start));
  const blocks = sorted.map((b) => cutAtStarts(b, starts));
  const region: Region = { ...scanned, blocks };
  const index = new Map<number, number>();
  blocks.forEach((b, i) => {
    if (!index.has(b.start)) index.set(b.start, i);
  });
  const succ = blocks.map((b) => successors(b, index));
  // Return sites (after a call) are entered from the dispatch when the callee returns.
  const returnSite = new Set<number>();
  for (const b of blocks) {
    const last = b.insns[b.insns.length - 1]!;
    if ((b.end === BlockEnd.Jump || b.end === BlockEnd.Indirect) && last.rd !== 0) {
      const s = index.get(b.fallThrough);
      if (s !== undefined) returnSite.add(s);
    }
  }
  const entry = index.get(region.entry)!;
  const K = blocks.length;
  const units: (readonly [number, number])[] = [];
  const unitOf = new Int32Array(K).fill(-1);
  const loopOf = new Int32Array(K).fill(-1);
  const inner = new Map<number, number[]>();
  /**
   * The blocks of [h, t] entered backwards from its blocks after `t0` (the last block
   * branching back to h), or undefined when [h, t] is no loop unit: entered from outside
   * only at h, and within [h, t0] only forward edges (or a block's own loop) lead to
   * non-heads (a loop nested there stays a unit of its own outside the run).
   */
  const loopFits = (h: number, t0: number, t: number): number[] | undefined => {
    if (entry > h && entry <= t) return undefined;
    for (let j = h + 1; j <= t; j++) if (returnSite.has(j)) return undefined;
    const mid = new Set<number>();
    for (let s = 0; s < K; s++) {
      const inside = s >= h && s <= t;
      for (const d of succ[s]!) {
        if (d <= h || d > t) continue; // to the head or outside the run
        if (!inside) return undefined;
        if (d > s || (d === s && isSelfLoop(blocks[s]!))) continue;
        if (s <= t0) return undefined;
        mid.add(d); // backwards into the middle: through the loop's top
      }
    }
    return [...mid].sort((a, b) => a - b);
  };
  for (let h = 0; h < K; ) {
    let t0 = h;
    for (let s = h + 1; s < K; s++) if (succ[s]!.includes(h)) t0 = s;
    // Extended over later blocks branching back into [h, t].
    let t = t0;
    if (t0 > h) for (let s = t0 + 1; s < K; s++) if (succ[s]!.some((d) => d > h && d <= t)) t = s;
    let mid = t0 > h ? loopFits(h, t0, t) : undefined;
    if (mid === undefined && t > t0) {
      t = t0;
      mid = loopFits(h, t0, t);
    }
    if (mid !== undefined) {
      for (let j = h; j <= t; j++) loopOf[j] = h;
      if (mid.length > 0) inner.set(h, mid);
    } else t = h;
    unitOf[h] = units.length;
    units.push([h, t]);
    h = t + 1;
  }
  const { heads, reach } = budgetChecks(blocks, succ);
  return { region, index, succ, units, unitOf, loopOf, inner, heads, reach };
}

/**
 * Budget checks only where a cycle could otherwise run unchecked: every cycle of blocks
 * has a backward edge (in layout order), so checking at the targets of backward edges
 * and at the dispatch suffices, each for the longest path (in steps) to the next check
 * or exit. Between checks blocks only count. A region never takes more steps than
 * `left`; when the remaining budget is too small for the next stretch it leaves and the
 * interpreter finishes exactly.
 */
function budgetChecks(blocks: Block[], succ: number[][]): { heads: Set<number>; reach: number[] } {
  const heads = new Set<number>();
  succ.forEach((list, i) => {
    for (const s of list) if (s <= i) heads.add(s);
  });
  const reach = new Array<number>(blocks.length).fill(0);
  for (let i = blocks.length - 1; i >= 0; i--) {
    let most = 0;
    for (const s of succ[i]!) if (s > i && !heads.has(s) && reach[s]! > most) most = reach[s]!;
    reach[i] = blocks[i]!.insns.length + most;
  }
  return { heads, reach };
}

/**
 * The block ended where another block of the region starts (the scanner does not split a
 * block at a branch target found later, so a loop's head may also lie inside the block
 * before it): it then goes on to that block, whose code is the same, so that an edge
 * into the middle of a loop becomes an edge to one of its blocks.
 */
function cutAtStarts(block: Block, starts: Set<number>): Block {
  const k = block.insns.findIndex((insn, i) => i > 0 && starts.has(insn.pc));
  if (k < 0) return block;
  const at = block.insns[k]!.pc;
  return { ...block, insns: block.insns.slice(0, k), end: BlockEnd.Next, target: 0, fallThrough: at };
}

/** Block indexes control may go to from `block` without the dispatch. */
function successors(block: Block, index: Map<number, number>): number[] {
  const pcs: number[] = [];
  switch (block.end) {
    case BlockEnd.Branch:
      pcs.push(block.target, block.fallThrough);
      break;
    case BlockEnd.Jump:
      pcs.push(block.target);
      break;
    case BlockEnd.Next:
      pcs.push(block.fallThrough);
      break;
    default:
      break; // indirect jumps go through the dispatch, which checks; Interpret leaves
  }
  const out: number[] = [];
  for (const pc of pcs) {
    const s = index.get(pc);
    if (s !== undefined) out.push(s);
  }
  return out;
}
