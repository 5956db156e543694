/**
 * A minimal WebAssembly binary writer: just what the region compiler and its dispatcher
 * emit (one function type, imported memory and table, exported functions, i32/i64
 * arithmetic, structured control flow). Opcodes and encodings from the WebAssembly core
 * specification, section 5 (binary format).
 */

/** Instruction opcodes used by the compiler. */
export const enum W {
  Block = 0x02,
  Loop = 0x03,
  If = 0x04,
  Else = 0x05,
  End = 0x0b,
  Br = 0x0c,
  BrIf = 0x0d,
  BrTable = 0x0e,
  Return = 0x0f,
  CallIndirect = 0x11,
  LocalGet = 0x20,
  LocalSet = 0x21,
  LocalTee = 0x22,
  I32Load = 0x28,
  I32Load8S = 0x2c,
  I32Load8U = 0x2d,
  I32Load16S = 0x2e,
  I32Load16U = 0x2f,
  I32Store = 0x36,
  I32Store8 = 0x3a,
  I32Store16 = 0x3b,
  I32Const = 0x41,
  I64Const = 0x42,
  I32Eqz = 0x45,
  I32Eq = 0x46,
  I32Ne = 0x47,
  I32LtS = 0x48,
  I32LtU = 0x49,
  I32GtS = 0x4a,
  I32GtU = 0x4b,
  I32LeS = 0x4c,
  I32LeU = 0x4d,
  I32GeS = 0x4e,
  I32GeU = 0x4f,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32Mul = 0x6c,
  I32DivS = 0x6d,
  I32DivU = 0x6e,
  I32RemS = 0x6f,
  I32RemU = 0x70,
  I32And = 0x71,
  I32Or = 0x72,
  I32Xor = 0x73,
  I32Shl = 0x74,
  I32ShrS = 0x75,
  I32ShrU = 0x76,
  I32Rotr = 0x78,
  I64Mul = 0x7e,
  I64ShrU = 0x88,
  I32WrapI64 = 0xa7,
  I64ExtendI32S = 0xac,
  I64ExtendI32U = 0xad,
}

/** Block types: no result, or one i32. */
export const VOID = 0x40;
export const I32 = 0x7f;

/** A growable byte buffer with LEB128 writers. */
export class ByteWriter {
  private buf = new Uint8Array(1024);
  length = 0;

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]!);
    return this;
  }

  /** Unsigned LEB128 (values up to 2^32 - 1). */
  u32(v: number): this {
    let x = v >>> 0;
    do {
      const b = x & 0x7f;
      x >>>= 7;
      this.byte(x === 0 ? b : b | 0x80);
    } while (x !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
    return this;
  }

  /** The bytes written so far (a copy). */
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Function code: an instruction stream with helpers for the common shapes. */
export class Code extends ByteWriter {
  op(o: W): this {
    return this.byte(o);
  }
  get(local: number): this {
    return this.byte(W.LocalGet).u32(local);
  }
  set(local: number): this {
    return this.byte(W.LocalSet).u32(local);
  }
  i32(v: number): this {
    return this.byte(W.I32Const).s32(v);
  }
  /** A load or store with its memarg (natural alignment hint, constant offset). */
  mem(o: W, align: number, offset: number): this {
    return this.byte(o).u32(align).u32(offset);
  }
  br(depth: number): this {
    return this.byte(W.Br).u32(depth);
  }
  brIf(depth: number): this {
    return this.byte(W.BrIf).u32(depth);
  }
}

/** An import of the module: the shared memory (no declared size) or a funcref table. */
export type Import =
  | { module: string; name: string; kind: "memory" }
  | { module: string; name: string; kind: "table"; min: number };

export interface ModuleSpec {
  /** Function types as [params, results] of i32s. */
  types: readonly (readonly [number, number])[];
  imports: readonly Import[];
  /** Functions: their type index, extra i32 locals and body (without the final `end`). */
  funcs: readonly { type: number; locals: number; body: Code }[];
  /** Exported functions by name. */
  exports: readonly { name: string; func: number }[];
}

function section(out: ByteWriter, id: number, content: ByteWriter): void {
  out.byte(id).u32(content.length).bytes(content.result());
}

/** Encodes a whole module. */
export function encodeModule(spec: ModuleSpec): Uint8Array {
  const out = new ByteWriter();
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const types = new ByteWriter().u32(spec.types.length);
  for (const [params, results] of spec.types) {
    types.byte(0x60).u32(params);
    for (let i = 0; i < params; i++) types.byte(I32);
    types.u32(results);
    for (let i = 0; i < results; i++) types.byte(I32);
  }
  section(out, 1, types);
  const imports = new ByteWriter().u32(spec.imports.length);
  for (const imp of spec.imports) {
    imports.name(imp.module).name(imp.name);
    if (imp.kind === "memory") imports.byte(0x02).byte(0x00).u32(0);
    else imports.byte(0x01).byte(0x70).byte(0x00).u32(imp.min);
  }
  section(out, 2, imports);
  const funcs = new ByteWriter().u32(spec.funcs.length);
  for (const f of spec.funcs) funcs.u32(f.type);
  section(out, 3, funcs);
  const exports = new ByteWriter().u32(spec.exports.length);
  for (const e of spec.exports) exports.name(e.name).byte(0x00).u32(e.func);
  section(out, 7, exports);
  const code = new ByteWriter().u32(spec.funcs.length);
  for (const f of spec.funcs) {
    const body = new ByteWriter();
    if (f.locals > 0) body.u32(1).u32(f.locals).byte(I32);
    else body.u32(0);
    body.bytes(f.body.result()).byte(W.End);
    code.u32(body.length).bytes(body.result());
  }
  section(out, 10, code);
  return out.result();
}
