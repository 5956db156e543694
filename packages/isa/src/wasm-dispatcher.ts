import { Code, encodeModule, VOID, W } from "./wasm-encoder.js";

/**
 * The WebAssembly dispatcher: a small module that chains compiled regions without
 * returning to JavaScript. `run(pc, left) -> pc` looks pc up in the direct-mapped table
 * in the flat memory (tag = pc of a region block start, fn = the region's index in the
 * shared function table), calls the region through `call_indirect`, adds its steps and
 * goes on from the pc it returns, until the budget is spent, a pc has no region (the
 * caller counts it and maybe compiles one) or a region needs the interpreter.
 */
export interface DispatchLayout {
  /** Int32 tags and function indexes, `mask + 1` entries each, indexed by (pc >>> 1) & mask. */
  tagsOffset: number;
  fnsOffset: number;
  mask: number;
  /** What a region call leaves: its steps and need flag. */
  stepsOffset: number;
  needOffset: number;
  /** What `run` leaves: its total steps. */
  totalOffset: number;
}

const PC = 0;
const LEFT = 1;
const STEPS = 2;
const SLOT = 3;

export function generateDispatcher(layout: DispatchLayout): Uint8Array {
  const c = new Code();
  // need = 0 unless a region says otherwise
  c.i32(0).i32(0).mem(W.I32Store, 2, layout.needOffset);
  c.op(W.Block).byte(VOID); // $out
  c.op(W.Loop).byte(VOID); // $top
  c.get(STEPS).get(LEFT).op(W.I32GeS).brIf(1);
  c.get(PC).i32(1).op(W.I32ShrU).i32(layout.mask).op(W.I32And).i32(2).op(W.I32Shl).op(W.LocalTee).u32(SLOT);
  c.mem(W.I32Load, 2, layout.tagsOffset).get(PC).op(W.I32Ne).brIf(1);
  c.get(PC).get(LEFT).get(STEPS).op(W.I32Sub);
  c.get(SLOT).mem(W.I32Load, 2, layout.fnsOffset);
  c.op(W.CallIndirect).u32(0).u32(0);
  c.set(PC);
  c.get(STEPS).i32(0).mem(W.I32Load, 2, layout.stepsOffset).op(W.I32Add).set(STEPS);
  c.i32(0).mem(W.I32Load, 2, layout.needOffset).brIf(1);
  c.br(0);
  c.op(W.End);
  c.op(W.End);
  c.i32(0).get(STEPS).mem(W.I32Store, 2, layout.totalOffset);
  c.get(PC);
  return encodeModule({
    types: [[2, 1]],
    imports: [
      { module: "m", name: "mem", kind: "memory" },
      { module: "m", name: "tab", kind: "table", min: 0 },
    ],
    funcs: [{ type: 0, locals: 2, body: c }],
    exports: [{ name: "run", func: 0 }],
  });
}
