import { describe, expect, it } from "vitest";
import { INSTRUCTIONS, Op } from "../src/index.js";
import { isCompiled, OP_TABLE, OpKind, opInfo } from "../src/op-table.js";
import { JS_ALU, JS_BRANCH } from "../src/region-codegen.js";
import { WASM_ALU, WASM_BRANCH } from "../src/region-wasm-alu.js";

// The op table is the one place that says what each operation is and whether compiled
// regions run it. Every back end that compiles regions must have a form for every op
// the table calls compiled, or this fails (instead of the op silently staying interpreted).

const BACK_ENDS = {
  js: { alu: JS_ALU, branch: JS_BRANCH },
  wasm: { alu: WASM_ALU, branch: WASM_BRANCH },
} as const;

describe("the op table", () => {
  it("has one row per operation, in op order", () => {
    OP_TABLE.forEach((row, i) => {
      expect(row.op, row.name).toBe(i);
    });
    expect(OP_TABLE.length).toBe(Op.SFENCE_VMA + 1);
    expect(new Set(OP_TABLE.map((r) => r.name)).size).toBe(OP_TABLE.length);
  });

  it("names each operation as the decode table names its 32-bit form", () => {
    for (const spec of INSTRUCTIONS) {
      if (spec.ext === "C" || spec.name === "pause" || spec.name === "fence.tso") continue;
      expect(opInfo(spec.op).name, spec.name).toBe(spec.name);
    }
  });

  it("gives every load and store its access size, and nothing else an access", () => {
    for (const row of OP_TABLE) {
      const memory = row.kind === OpKind.Load || row.kind === OpKind.Store;
      expect(row.access !== undefined, row.name).toBe(memory);
    }
    expect(opInfo(Op.LH).access).toEqual({ size: 2, signed: true });
    expect(opInfo(Op.LBU).access).toEqual({ size: 1, signed: false });
    expect(opInfo(Op.SW).access?.size).toBe(4);
  });

  it("says which operations write rd", () => {
    expect(opInfo(Op.ADD).writesRd).toBe(true);
    expect(opInfo(Op.LW).writesRd).toBe(true);
    expect(opInfo(Op.JAL).writesRd).toBe(true);
    expect(opInfo(Op.JALR).writesRd).toBe(true);
    for (const op of [Op.BEQ, Op.SW, Op.SB, Op.FENCE]) expect(opInfo(op).writesRd).toBe(false);
  });

  it("keeps system operations (CSRs, traps, atomics, fence.i) out of compiled regions", () => {
    for (const row of OP_TABLE) expect(isCompiled(row.op), row.name).toBe(row.kind !== OpKind.System);
    for (const op of [Op.CSRRW, Op.ECALL, Op.MRET, Op.WFI, Op.FENCE_I, Op.LR_W, Op.AMOADD_W, Op.ILLEGAL])
      expect(isCompiled(op)).toBe(false);
  });

  it.each(Object.keys(BACK_ENDS) as (keyof typeof BACK_ENDS)[])(
    "every compiled operation has a form in the %s back end",
    (name) => {
      const backEnd = BACK_ENDS[name];
      const missing: string[] = [];
      for (const row of OP_TABLE) {
        if (!row.compiled) continue;
        if (row.kind === OpKind.Alu && backEnd.alu[row.op] === undefined) missing.push(row.name);
        if (row.kind === OpKind.Branch && backEnd.branch[row.op] === undefined) missing.push(row.name);
      }
      expect(missing).toEqual([]);
      // And no form for an operation the table keeps interpreted or classes otherwise.
      for (const op of Object.keys(backEnd.alu).map(Number)) expect(opInfo(op).kind).toBe(OpKind.Alu);
      for (const op of Object.keys(backEnd.branch).map(Number)) expect(opInfo(op).kind).toBe(OpKind.Branch);
    },
  );
});
