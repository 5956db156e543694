import type { RamWindow } from "./bus.js";
import { type Decoded, decodeInto, emptyDecoded } from "./decoder.js";
import { isCompiled, OpKind, opInfo } from "./op-table.js";
import type { Op } from "./ops.js";

/**
 * Finding the code of a region: the straight-line blocks reachable from an entry pc
 * through direct branches and jumps, read from RAM pages. This is the first half of
 * the block compiler (the second, `region-codegen.ts`, turns the result into JS).
 *
 * Only instructions whose effect the generated code reproduces exactly are taken in.
 * A block stops *before* anything else (CSR access, ecall/ebreak, mret, wfi, fence.i,
 * atomics, illegal encodings, an instruction crossing a page, code outside RAM), and
 * the generated code hands that instruction to the interpreter.
 *
 * Under Sv32 translation pcs are virtual: the scanner reads each code page through the
 * frame the fetch TLB holds for it right now (it never walks page tables, which would
 * set A bits), leaves out pages the TLB does not hold, and ends every block at a page
 * boundary, so that each block lies on one virtual page whose frame it records.
 */

/** How a block ends. */
export const enum BlockEnd {
  /** A conditional branch: `target` when taken, `fallThrough` otherwise. */
  Branch,
  /** `jal`: always to `target` (after writing the link register when rd ≠ 0). */
  Jump,
  /** `jalr`: an address computed at run time. */
  Indirect,
  /** The block was cut by the length cap; execution continues at `fallThrough`. */
  Next,
  /** The next instruction (at `fallThrough`) must run in the interpreter. */
  Interpret,
}

export interface Block {
  readonly start: number;
  /** Instructions in order, including a terminating branch or jump. */
  readonly insns: Insn[];
  end: BlockEnd;
  /** Taken target of a branch or `jal`. */
  target: number;
  /** The pc after the last instruction. */
  fallThrough: number;
  /**
   * Under translation, the physical address of the frame the block's virtual page
   * mapped to when it was scanned (the generated code checks the fetch TLB still says
   * so before running it); -1 when pcs are physical.
   */
  frame: number;
}

/** One decoded instruction; pcs are signed 32-bit, like the hart's. */
export interface Insn {
  readonly pc: number;
  readonly op: Op;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly imm: number;
  readonly length: number;
}

export interface Region {
  readonly entry: number;
  /** Blocks in discovery order; `blocks[0]` starts at `entry`. */
  readonly blocks: Block[];
  /** Every RAM page (index from the RAM base) that holds an instruction of the region. */
  readonly pages: number[];
  /** Whether pcs are virtual (blocks carry their frames) or physical. */
  readonly translated: boolean;
}

/**
 * What both region back ends need to know of a region before emitting it: the block index
 * of each start pc (the first block starting there), the registers it reads or writes
 * (kept in locals, ascending) and those it writes (stored back at the exit).
 */
export interface RegionLayout {
  readonly blockAt: Map<number, number>;
  readonly registers: number[];
  readonly written: Set<number>;
}

export function regionLayout(region: Region): RegionLayout {
  const blockAt = new Map<number, number>();
  region.blocks.forEach((b, i) => {
    if (!blockAt.has(b.start)) blockAt.set(b.start, i);
  });
  const used = new Set<number>();
  const written = new Set<number>();
  for (const b of region.blocks) {
    for (const i of b.insns) {
      if (i.rs1 !== 0) used.add(i.rs1);
      if (i.rs2 !== 0) used.add(i.rs2);
      if (i.rd !== 0 && opInfo(i.op).writesRd) {
        used.add(i.rd);
        written.add(i.rd);
      }
    }
  }
  return { blockAt, registers: [...used].sort((a, b) => a - b), written };
}

export interface ScanLimits {
  maxBlocks: number;
  maxInsns: number;
  maxBlockInsns: number;
}

/** Whether `op` is a conditional branch (a block ends after it). */
export function isBranch(op: Op): boolean {
  return opInfo(op).kind === OpKind.Branch;
}

/** Reads and decodes code straight from the RAM window's pages. */
export class RegionScanner {
  private readonly d: Decoded = emptyDecoded();

  /**
   * @param frameOf under translation, the frame a virtual page number maps to for
   *   fetches (without side effects), or -1 when unknown; undefined when pcs are physical.
   */
  constructor(
    private readonly ram: RamWindow,
    private readonly limits: ScanLimits,
    private readonly frameOf?: (vpn: number) => number,
  ) {}

  /** The physical address of the code at `pc`, or -1 when it cannot be known now. */
  private physical(pc: number): number {
    if (this.frameOf === undefined) return pc;
    const frame = this.frameOf(pc >>> 12);
    return frame === -1 ? -1 : frame | (pc & 0xfff);
  }

  /**
   * Decodes the instruction at `pc` into the scratch record, or returns false when it
   * cannot be compiled: outside RAM, on a page never written, crossing a page, illegal,
   * on a virtual page whose translation is not in the fetch TLB.
   */
  private decodeAt(pc: number): boolean {
    const pa = this.physical(pc);
    if (pa === -1) return false;
    const off = (pa - this.ram.base) >>> 0;
    if (off >= this.ram.size) return false;
    // pages8: every page holding data has its byte view (the wider views come on first access).
    const page = this.ram.pages8[off >>> 12];
    if (page === undefined) return false;
    const at = off & 4094;
    const lo = page[at]! | (page[at + 1]! << 8);
    let raw = lo;
    if ((lo & 3) === 3) {
      if (at === 4094) return false;
      raw = (lo | (page[at + 2]! << 16) | (page[at + 3]! << 24)) >>> 0;
    }
    return decodeInto(raw, this.d);
  }

  /**
   * The region reachable from `entry` (and from `roots`, pcs execution was seen to go
   * to), or undefined when not even the first instruction at `entry` compiles.
   */
  scan(entry: number, roots: readonly number[] = []): Region | undefined {
    const { maxBlocks, maxInsns, maxBlockInsns } = this.limits;
    const blocks: Block[] = [];
    const seen = new Set<number>();
    const pages = new Set<number>();
    const queue: number[] = [entry, ...roots];
    let total = 0;
    for (let q = 0; q < queue.length && blocks.length < maxBlocks && total < maxInsns; q++) {
      const start = queue[q]!;
      if (seen.has(start)) continue;
      seen.add(start);
      const block = this.scanBlock(start, Math.min(maxBlockInsns, maxInsns - total));
      if (block.insns.length === 0) continue; // its first instruction is for the interpreter
      blocks.push(block);
      total += block.insns.length;
      for (const insn of block.insns) pages.add(((this.physical(insn.pc) - this.ram.base) >>> 0) >>> 12);
      switch (block.end) {
        case BlockEnd.Branch:
          queue.push(block.target, block.fallThrough);
          break;
        case BlockEnd.Jump: {
          queue.push(block.target);
          // A call returns to the next instruction: make the return site part of the region.
          const last = block.insns[block.insns.length - 1]!;
          if (last.rd !== 0) queue.push(block.fallThrough);
          break;
        }
        case BlockEnd.Indirect: {
          const last = block.insns[block.insns.length - 1]!;
          if (last.rd !== 0) queue.push(block.fallThrough);
          break;
        }
        case BlockEnd.Next:
          queue.push(block.fallThrough);
          break;
        case BlockEnd.Interpret:
          break;
      }
    }
    if (blocks.length === 0 || blocks[0]!.start !== entry) return undefined;
    return {
      entry,
      blocks,
      pages: [...pages].sort((a, b) => a - b),
      translated: this.frameOf !== undefined,
    };
  }

  private scanBlock(start: number, cap: number): Block {
    const insns: Insn[] = [];
    const d = this.d;
    let pc = start;
    const translated = this.frameOf !== undefined;
    const frame = translated ? this.physical(start) & ~0xfff : -1;
    const block: Block = { start, insns, end: BlockEnd.Next, target: 0, fallThrough: 0, frame };
    for (;;) {
      // Under translation a block stays on its virtual page (the next page may map anywhere).
      if (insns.length >= cap || (translated && insns.length > 0 && (pc ^ start) >>> 12 !== 0)) {
        block.end = BlockEnd.Next;
        break;
      }
      if (!this.decodeAt(pc) || !isCompiled(d.spec.op)) {
        block.end = BlockEnd.Interpret;
        break;
      }
      const op = d.spec.op;
      insns.push({ pc, op, rd: d.rd, rs1: d.rs1, rs2: d.rs2, imm: d.imm, length: d.length });
      const next = (pc + d.length) | 0;
      if (isBranch(op)) {
        block.end = BlockEnd.Branch;
        block.target = (pc + d.imm) | 0;
        pc = next;
        break;
      }
      const kind = opInfo(op).kind;
      if (kind === OpKind.Jump) {
        block.end = BlockEnd.Jump;
        block.target = (pc + d.imm) | 0;
        pc = next;
        break;
      }
      if (kind === OpKind.IndirectJump) {
        block.end = BlockEnd.Indirect;
        pc = next;
        break;
      }
      pc = next;
    }
    block.fallThrough = pc;
    return block;
  }
}
