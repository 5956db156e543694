import { TLB_MASK } from "./mmu.js";
import { OpKind, opInfo } from "./op-table.js";
import { Op } from "./ops.js";
import { type Block, BlockEnd, type Insn, type Region, regionLayout } from "./region-scan.js";

/**
 * Turns a scanned region into the source of a JS function (the second half of the
 * block compiler). The text depends only on the region's instructions and the RAM
 * window's base and size, so the same code always compiles to the same function.
 *
 * Shape of the generated code, called as `f(pc, left)`:
 *
 *   let r1 = x[1], ...               registers the region touches, in JS locals
 *   out: for (;;) switch (b) {        one case per block, blocks fall through when
 *     case 0:                         laid out one after the other
 *       if (n > left - LEN) exit      the whole block must fit in the budget
 *       n += LEN; ...body...          loads/stores take RAM fast paths or exit
 *       if (cond) { b = 3; continue } branch to a block of the region, or exit
 *     default: switch (npc) {...}     entry and indirect jumps: pc -> block, or exit
 *   }
 *   x[1] = r1; ...                    registers written back once, at the single exit
 *   st[0] = n; st[1] = need; return npc
 *
 * Every exit happens *before* an instruction the region cannot run, with every earlier
 * instruction committed and counted, so the interpreter can continue exactly there.
 * `need = 1` says "the interpreter must execute the instruction at npc"; `need = 0`
 * says "execution simply left the region" (another region may take over).
 *
 * Under Sv32 translation (a region scanned with `translated` set) pcs and data addresses
 * are virtual and the code reads the MMU's TLBs, never walking page tables itself:
 *  - a block whose virtual page differs from the block control comes from, and every
 *    block reached through the dispatch (region entry, indirect jumps), first checks
 *    that the fetch TLB still maps its page to the frame it was compiled from; if not,
 *    the region leaves before it (need = 2 at the dispatch, so the caller can tell a
 *    region whose code page now maps elsewhere from one that ran);
 *  - a load or store hits when the load or store TLB holds its page (the MMU fills them
 *    only with accesses allowed in the current context, store entries only once D is
 *    set), and otherwise leaves, so that the interpreter walks or faults exactly as it
 *    would have. A hit changes nothing the interpreter would not have changed (the
 *    hart's one-entry page memories are kept exact copies of TLB entries for this).
 *
 * Closure parameters: x (register file), st (Int32Array(2) for n and need), P8/P16/P32
 * (RAM page arrays), FW (fastWrite flags), H (unsigned high multiply), and the TLBs:
 * FT/FF (fetch TLB tags and frames) and LM/SM (the MMU's mirrors of the load and store
 * TLBs, indexed by virtual page number).
 */
export const REGION_PARAMS = ["x", "st", "P8", "P16", "P32", "FW", "H", "FT", "FF", "LM", "SM"] as const;

/** A signed 32-bit literal. */
const lit = (v: number): string => String(v | 0);
const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

export function generateRegion(region: Region, ramBase: number, ramSize: number): string {
  const { blockAt: index, registers: regs, written } = regionLayout(region);
  const out: string[] = [];
  out.push("return function region(pc, left) {");
  const dispatch = region.blocks.length;
  out.push(
    region.translated
      ? `let b = ${dispatch}, n = 0, npc = pc, need = 0, o = 0, t = 0, q8, q16, q32;`
      : `let b = ${dispatch}, n = 0, npc = pc, need = 0, o = 0, q8, q16, q32;`,
  );
  for (const r of regs) out.push(`let r${r} = x[${r}];`);
  out.push("out: for (;;) {\nswitch (b) {");
  const ctx: Ctx = {
    index,
    base: ramBase | 0,
    size: ramSize,
    out,
    dispatch,
    blocks: region.blocks,
    translated: region.translated,
  };
  region.blocks.forEach((block, i) => {
    emitBlock(ctx, block, i, region.blocks[i + 1]);
  });
  // Entry and indirect jumps: the block starting at npc, or leave the region.
  out.push(`default:\nswitch (npc) {`);
  if (ctx.translated) {
    // One code-page check for all entries, after the block is found: a check per case
    // would be code V8 has no type feedback for until that entry is first taken.
    for (const [pc, i] of index) out.push(`case ${lit(pc)}: b = ${i}; break;`);
    out.push("default: break out;\n}");
    out.push(`t = npc >>> 12;`);
    out.push(
      `if (FT[t & ${TLB_MASK}] !== t || FF[t & ${TLB_MASK}] !== ${frameOfPage(region.blocks)}) { need = 2; break out; }`,
    );
    out.push("continue out;\n}\n}");
  } else {
    for (const [pc, i] of index) out.push(`case ${lit(pc)}: b = ${i}; continue out;`);
    out.push("}\nbreak out;\n}\n}");
  }
  for (const r of written) out.push(`x[${r}] = r${r};`);
  // A region that took no step hands over to the interpreter, so execution always advances.
  // (need = 2, a code page mapped elsewhere, is kept: the caller counts those.)
  out.push(region.translated ? "if (n === 0 && need === 0) need = 1;" : "if (n === 0) need = 1;");
  out.push("st[0] = n; st[1] = need; return npc;\n};");
  // Names the function in profiles and stack traces.
  out.push(`//# sourceURL=amber-region-${hex(region.entry)}.js`);
  return out.join("\n");
}

interface Ctx {
  index: Map<number, number>;
  /** The case that maps npc to a block. */
  dispatch: number;
  base: number;
  size: number;
  out: string[];
  blocks: readonly Block[];
  /** Virtual pcs and addresses (Sv32): TLB lookups and code-page checks. */
  translated: boolean;
}

const reg = (r: number): string => (r === 0 ? "0" : `r${r}`);

/**
 * An expression for the frame (as int32) the region's blocks on virtual page `t` were
 * compiled from: a constant when they all lie on one page, else a chain of tests.
 */
function frameOfPage(blocks: readonly Block[]): string {
  const frames = new Map<number, number>();
  for (const b of blocks) frames.set(b.start >>> 12, b.frame);
  const pages = [...frames];
  let expr = lit(pages[pages.length - 1]![1]);
  for (let k = pages.length - 2; k >= 0; k--)
    expr = `(t === ${pages[k]![0]} ? ${lit(pages[k]![1])} : ${expr})`;
  return expr;
}

/**
 * Leaves the region before `block` (at `pc`) unless the fetch TLB maps the block's
 * virtual page to the frame it was compiled from (constant slot, tag and frame).
 */
function codePageCheck(block: Block, pc: number): string {
  const vpn = block.start >>> 12;
  const slot = vpn & TLB_MASK;
  return `if (FT[${slot}] !== ${vpn} || FF[${slot}] !== ${lit(block.frame)}) { npc = ${lit(pc)}; need = 1; break out; } `;
}

/**
 * Code that transfers control from block `from` to `pc`: a jump to its block (after a
 * code-page check when translated and the page changes), or leaving the region.
 */
function goTo(ctx: Ctx, pc: number, next: Block | undefined, from: Block): string {
  const b = ctx.index.get(pc);
  if (b === undefined) return `npc = ${lit(pc)}; break out;`;
  const check =
    ctx.translated && (ctx.blocks[b]!.start ^ from.start) >>> 12 !== 0
      ? codePageCheck(ctx.blocks[b]!, pc)
      : "";
  if (next !== undefined && next.start === pc) return check; // falls through to the next case
  return `${check}b = ${b}; continue;`;
}

function emitBlock(ctx: Ctx, block: Block, i: number, next: Block | undefined): void {
  const { out } = ctx;
  const len = block.insns.length;
  out.push(`case ${i}: // ${hex(block.start)}`);
  out.push(`if (n > left - ${len}) { npc = ${lit(block.start)}; need = 1; break out; }`);
  out.push(`n += ${len};`);
  block.insns.forEach((insn, k) => {
    // Leaves before instruction k: the block's later instructions are uncounted again.
    const exit = `{ n -= ${len - k}; npc = ${lit(insn.pc)}; need = 1; break out; }`;
    emitInsn(ctx, insn, exit);
  });
  const last = block.insns[len - 1]!;
  switch (block.end) {
    case BlockEnd.Branch: {
      const cond = branchCondition(last);
      const taken = goTo(ctx, block.target, undefined, block);
      out.push(`if (${cond}) { ${taken} }`);
      out.push(goTo(ctx, block.fallThrough, next, block));
      break;
    }
    case BlockEnd.Jump:
      if (last.rd !== 0) out.push(`${reg(last.rd)} = ${lit(block.fallThrough)};`);
      out.push(goTo(ctx, block.target, next, block));
      break;
    case BlockEnd.Indirect: {
      // Target first: rd may be rs1.
      out.push(`npc = (${reg(last.rs1)} + ${lit(last.imm)}) & -2;`);
      if (last.rd !== 0) out.push(`${reg(last.rd)} = ${lit(block.fallThrough)};`);
      out.push(`b = ${ctx.dispatch}; continue;`);
      break;
    }
    case BlockEnd.Next:
      out.push(goTo(ctx, block.fallThrough, next, block));
      break;
    case BlockEnd.Interpret:
      out.push(`npc = ${lit(block.fallThrough)}; need = 1; break out;`);
      break;
  }
}

/** Each conditional branch's condition, over the JS expressions of rs1 and rs2. */
export const JS_BRANCH: Partial<Record<Op, (a: string, b: string) => string>> = {
  [Op.BEQ]: (a, b) => `${a} === ${b}`,
  [Op.BNE]: (a, b) => `${a} !== ${b}`,
  [Op.BLT]: (a, b) => `${a} < ${b}`,
  [Op.BGE]: (a, b) => `${a} >= ${b}`,
  [Op.BLTU]: (a, b) => `(${a} >>> 0) < (${b} >>> 0)`,
  [Op.BGEU]: (a, b) => `(${a} >>> 0) >= (${b} >>> 0)`,
};

function branchCondition(i: Insn): string {
  return JS_BRANCH[i.op]!(reg(i.rs1), reg(i.rs2));
}

/** The offset into RAM of rs1 + imm, as int32 (the RAM base is folded into the constant). */
function offset(ctx: Ctx, i: Insn): string {
  return `o = (${reg(i.rs1)} + ${lit(i.imm - ctx.base)}) | 0;`;
}

interface AccessShape {
  /** Page arrays of the element size and the element index expression. */
  pages: string;
  index: string;
  align: number;
  store: boolean;
  /** How the loaded element becomes the register value. */
  extend: (v: string) => string;
}

const PAGES = { 1: "P8", 2: "P16", 4: "P32" } as const;
const INDEX = { 1: "t & 4095", 2: "(t >>> 1) & 2047", 4: "(t >>> 2) & 1023" } as const;

/** The page array, index and extension of a load or store, from the op table's access facts. */
function accessShape(op: Op): AccessShape | undefined {
  const info = opInfo(op);
  const access = info.access;
  if (access === undefined) return undefined;
  const { size, signed } = access;
  const shift = 32 - 8 * size;
  return {
    pages: PAGES[size],
    index: INDEX[size],
    align: size,
    store: info.kind === OpKind.Store,
    // Int32Array elements are already signed; narrower signed loads shift the sign in.
    extend: signed && size < 4 ? (v) => `(${v} << ${shift}) >> ${shift}` : (v) => v,
  };
}

/**
 * A load or store under translation. The MMU's TLB mirror for loads (LM) or stores (SM)
 * gives the frame number + 1 of the virtual page while the TLB holds it, else 0; the
 * frame number less the RAM's first one (and 1) is the RAM page index, out of range for
 * 0 and for frames outside RAM. The access leaves when the TLB does not hold the page,
 * the frame is not RAM, the RAM page is missing (loads) or not directly writable
 * (stores), or the address is misaligned: the interpreter then does the access,
 * walking or faulting exactly as it would have.
 */
function emitTranslatedAccess(ctx: Ctx, i: Insn, shape: AccessShape, exit: string): void {
  const { out } = ctx;
  const mirror = shape.store ? "SM" : "LM";
  const pages = Math.floor(ctx.size / 4096);
  const q = `q${shape.pages.slice(1)}`;
  const aligned = shape.align > 1 ? ` || (t & ${shape.align - 1}) !== 0` : "";
  const usable = shape.store ? "FW[o] !== 1" : `(${q} = ${shape.pages}[o]) === undefined`;
  out.push(`t = (${reg(i.rs1)} + ${lit(i.imm)}) | 0;`);
  out.push(`o = (${mirror}[t >>> 12] + ${lit(-(ctx.base >>> 12) - 1)}) | 0;`);
  out.push(`if ((o >>> 0) >= ${pages}${aligned} || ${usable}) ${exit}`);
  if (shape.store) out.push(`${shape.pages}[o][${shape.index}] = ${reg(i.rs2)};`);
  else if (i.rd !== 0) out.push(`${reg(i.rd)} = ${shape.extend(`${q}[${shape.index}]`)};`);
}

/**
 * Each ALU operation as a JS expression over rs1 (`a`), rs2 (`b`), the immediate and
 * the instruction (for auipc's pc). The value is assigned to rd (as int32).
 */
export const JS_ALU: Partial<Record<Op, (a: string, b: string, imm: number, i: Insn) => string>> = {
  [Op.LUI]: (_a, _b, imm) => lit(imm),
  [Op.AUIPC]: (_a, _b, imm, i) => lit(i.pc + imm),
  [Op.ADDI]: (a, _b, imm) => `(${a} + ${lit(imm)}) | 0`,
  [Op.SLTI]: (a, _b, imm) => `${a} < ${lit(imm)} ? 1 : 0`,
  [Op.SLTIU]: (a, _b, imm) => `(${a} >>> 0) < ${imm >>> 0} ? 1 : 0`,
  [Op.XORI]: (a, _b, imm) => `${a} ^ ${lit(imm)}`,
  [Op.ORI]: (a, _b, imm) => `${a} | ${lit(imm)}`,
  [Op.ANDI]: (a, _b, imm) => `${a} & ${lit(imm)}`,
  [Op.SLLI]: (a, _b, imm) => `${a} << ${imm & 31}`,
  [Op.SRLI]: (a, _b, imm) => `(${a} >>> ${imm & 31}) | 0`,
  [Op.SRAI]: (a, _b, imm) => `${a} >> ${imm & 31}`,
  [Op.ADD]: (a, b) => `(${a} + ${b}) | 0`,
  [Op.SUB]: (a, b) => `(${a} - ${b}) | 0`,
  [Op.SLL]: (a, b) => `${a} << ${b}`,
  [Op.SLT]: (a, b) => `${a} < ${b} ? 1 : 0`,
  [Op.SLTU]: (a, b) => `(${a} >>> 0) < (${b} >>> 0) ? 1 : 0`,
  [Op.XOR]: (a, b) => `${a} ^ ${b}`,
  [Op.SRL]: (a, b) => `(${a} >>> ${b}) | 0`,
  [Op.SRA]: (a, b) => `${a} >> ${b}`,
  [Op.OR]: (a, b) => `${a} | ${b}`,
  [Op.AND]: (a, b) => `${a} & ${b}`,
  [Op.MUL]: (a, b) => `Math.imul(${a}, ${b})`,
  [Op.MULH]: (a, b) => `(H(${a}, ${b}) - (${a} < 0 ? ${b} : 0) - (${b} < 0 ? ${a} : 0)) | 0`,
  [Op.MULHSU]: (a, b) => `(H(${a}, ${b}) - (${a} < 0 ? ${b} : 0)) | 0`,
  [Op.MULHU]: (a, b) => `H(${a}, ${b})`,
  [Op.DIV]: (a, b) => `${b} === 0 ? -1 : ${b} === -1 ? -${a} | 0 : (${a} / ${b}) | 0`,
  [Op.DIVU]: (a, b) => `${b} === 0 ? -1 : ((${a} >>> 0) / (${b} >>> 0)) | 0`,
  [Op.REM]: (a, b) => `${b} === 0 ? ${a} : ${b} === -1 ? 0 : (${a} % ${b}) | 0`,
  [Op.REMU]: (a, b) => `${b} === 0 ? ${a} : ((${a} >>> 0) % (${b} >>> 0)) | 0`,
};

/** Leaves before a load or store unless its address is in RAM, aligned and on a usable page. */
function emitPhysicalAccess(ctx: Ctx, i: Insn, shape: AccessShape, exit: string): void {
  const { out } = ctx;
  const q = `q${shape.pages.slice(1)}`;
  const aligned = shape.align > 1 ? ` || (o & ${shape.align - 1}) !== 0` : "";
  // The page arrays' index expressions are written for `t`; here the offset is `o`.
  const index = shape.index.replace("t", "o");
  out.push(offset(ctx, i));
  if (shape.store) {
    // Stores go direct only where the RAM says so (fastWrite): code pages are watched,
    // so a store that could modify compiled code always leaves through the exit.
    out.push(`if ((o >>> 0) >= ${ctx.size}${aligned} || FW[o >>> 12] !== 1) ${exit}`);
    out.push(`${shape.pages}[o >>> 12][${index}] = ${reg(i.rs2)};`);
    return;
  }
  out.push(
    `if ((o >>> 0) >= ${ctx.size}${aligned} || (${q} = ${shape.pages}[o >>> 12]) === undefined) ${exit}`,
  );
  // A load with rd = x0 still has to happen: it may fault (the exit hands it over).
  if (i.rd !== 0) out.push(`${reg(i.rd)} = ${shape.extend(`${q}[${index}]`)};`);
}

function emitInsn(ctx: Ctx, i: Insn, exit: string): void {
  const info = opInfo(i.op);
  switch (info.kind) {
    case OpKind.Alu: {
      const expr = JS_ALU[i.op]!(reg(i.rs1), reg(i.rs2), i.imm, i);
      if (i.rd !== 0) ctx.out.push(`${reg(i.rd)} = ${expr};`);
      return;
    }
    case OpKind.Load:
    case OpKind.Store: {
      const shape = accessShape(i.op)!;
      if (ctx.translated) emitTranslatedAccess(ctx, i, shape, exit);
      else emitPhysicalAccess(ctx, i, shape, exit);
      return;
    }
    case OpKind.Fence:
    case OpKind.Branch:
    case OpKind.Jump:
    case OpKind.IndirectJump:
      return; // no effect, or a block terminator emitted by emitBlock
    case OpKind.System:
      // The scanner never admits these (the op table says they are not compiled).
      throw new Error(`region compiler: ${info.name} is not compiled`);
  }
}
