import { ByteReader, ByteWriter, encodeUtf8 } from "./bytes.js";
import { CheckpointError } from "./errors.js";
import { fromHex, toHex } from "./hash.js";

/**
 * Section fields: named, typed values. Each field is stored with its name and an explicit
 * type tag (never by position), so a reader finds fields by name, ignores fields it does
 * not know and fills in defaults for fields an older writer did not have.
 */
export type ScalarType = "u32" | "i32" | "u64" | "i64" | "f64";
export type FieldType =
  | ScalarType
  | "bool"
  | "string"
  | "bytes"
  | "u16[]"
  | "u32[]"
  | "i32[]"
  | "u64[]"
  | "f64[]"
  | "record"
  | "records";

/** A number or bigint with its stored type stated explicitly: `typed.f64(1)`, `typed.u64(5n)`. */
export class Typed {
  constructor(
    readonly type: ScalarType,
    readonly value: number | bigint,
  ) {}
}

export const typed = {
  u32: (v: number) => new Typed("u32", v),
  i32: (v: number) => new Typed("i32", v),
  u64: (v: bigint | number) => new Typed("u64", BigInt(v)),
  i64: (v: bigint | number) => new Typed("i64", BigInt(v)),
  f64: (v: number) => new Typed("f64", v),
};

/**
 * What a field may hold. Plain numbers are stored as u32 when they are integers in
 * [0, 2^32), as i32 when negative integers ≥ -2^31, otherwise f64; bigints as u64 (≥ 0) or
 * i64; wrap a value in `typed.*` to choose. Reading gives plain values back (numbers,
 * bigints, typed arrays, objects); `readTypedFields` keeps the types for lossless copies.
 */
export type FieldValue =
  | number
  | bigint
  | boolean
  | string
  | Typed
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | Float64Array
  | FieldRecord
  | FieldRecord[];
export interface FieldRecord {
  [name: string]: FieldValue;
}

export const TYPE_TAGS: Record<FieldType, number> = {
  u32: 1,
  i32: 2,
  u64: 3,
  i64: 4,
  f64: 5,
  bool: 6,
  string: 7,
  bytes: 8,
  "u16[]": 9,
  "u32[]": 10,
  "i32[]": 11,
  "u64[]": 12,
  "f64[]": 13,
  record: 14,
  records: 15,
};
const TAG_TYPES = new Map<number, FieldType>(Object.entries(TYPE_TAGS).map(([k, v]) => [v, k as FieldType]));

export const MAX_FIELD_DEPTH = 32;
export const MAX_NAME_BYTES = 255;

function bad(detail: string): never {
  throw new CheckpointError("INVALID_ARGUMENT", detail);
}

function isRecord(v: unknown): v is FieldRecord {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function typeOf(v: FieldValue, path: string): FieldType {
  if (v instanceof Typed) return v.type;
  switch (typeof v) {
    case "number":
      if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return "u32";
      if (Number.isInteger(v) && v < 0 && v >= -0x80000000) return "i32";
      return "f64";
    case "bigint":
      return v >= 0n ? "u64" : "i64";
    case "boolean":
      return "bool";
    case "string":
      return "string";
  }
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof Uint16Array) return "u16[]";
  if (v instanceof Uint32Array) return "u32[]";
  if (v instanceof Int32Array) return "i32[]";
  if (v instanceof BigUint64Array) return "u64[]";
  if (v instanceof Float64Array) return "f64[]";
  if (Array.isArray(v)) {
    for (const r of v)
      if (!isRecord(r)) bad(`field ${path}: arrays must hold records (use a typed array for numbers)`);
    return "records";
  }
  if (isRecord(v)) return "record";
  return bad(`field ${path}: unsupported value ${String(v)}`);
}

/**
 * Field names as UTF-8, remembered: a machine's state has the same few hundred names at
 * every save (the bytes are never written to). Bounded, in case names are made up.
 */
const nameBytesCache = new Map<string, Uint8Array>();
const NAME_CACHE_MAX = 4096;

function nameBytes(name: string): Uint8Array {
  let b = nameBytesCache.get(name);
  if (b === undefined) {
    b = encodeUtf8(name);
    if (nameBytesCache.size < NAME_CACHE_MAX) nameBytesCache.set(name, b);
  }
  return b;
}

/** Field names sorted by their UTF-8 bytes: the stored order, so encoding is canonical. */
function sortedNames(rec: FieldRecord, path: string): [string, Uint8Array][] {
  const names: [string, Uint8Array][] = [];
  for (const name of Object.keys(rec)) {
    if (rec[name] === undefined) continue;
    const b = nameBytes(name);
    if (b.length === 0 || b.length > MAX_NAME_BYTES)
      bad(`field ${path}${name}: names are 1..255 UTF-8 bytes`);
    names.push([name, b]);
  }
  names.sort((a, b) => compareBytes(a[1], b[1]));
  return names;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function checkScalar(type: ScalarType, v: number | bigint, path: string): void {
  const ok =
    type === "u32"
      ? typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
      : type === "i32"
        ? typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff
        : type === "u64"
          ? typeof v === "bigint" && v >= 0n && v < 1n << 64n
          : type === "i64"
            ? typeof v === "bigint" && v >= -(1n << 63n) && v < 1n << 63n
            : typeof v === "number";
  if (!ok) bad(`field ${path}: ${String(v)} is not a valid ${type}`);
}

/** Encodes a record: u32 field count, then per field (sorted by name) name length, name, tag, value. */
export function encodeRecord(rec: FieldRecord, w: ByteWriter, path = "", depth = 0): void {
  if (depth > MAX_FIELD_DEPTH) bad(`field ${path}: records nest deeper than ${MAX_FIELD_DEPTH}`);
  const names = sortedNames(rec, path);
  w.u32(names.length);
  for (const [name, nameBytes] of names) {
    const v = rec[name]!;
    const p = `${path}${name}`;
    const type = typeOf(v, p);
    w.u8(nameBytes.length).bytes(nameBytes).u8(TYPE_TAGS[type]);
    const raw = v instanceof Typed ? v.value : v;
    switch (type) {
      case "u32":
      case "i32":
      case "u64":
      case "i64":
      case "f64": {
        const value = v instanceof Typed ? v.value : (v as number | bigint);
        checkScalar(type, value, p);
        if (type === "u32") w.u32(value as number);
        else if (type === "i32") w.i32(value as number);
        else if (type === "u64") w.u64(value as bigint);
        else if (type === "i64") w.i64(value as bigint);
        else w.f64(value as number);
        break;
      }
      case "bool":
        w.u8(raw ? 1 : 0);
        break;
      case "string": {
        const b = encodeUtf8(raw as string);
        w.u32(b.length).bytes(b);
        break;
      }
      case "bytes":
        w.u32((raw as Uint8Array).length).bytes(raw as Uint8Array);
        break;
      case "u16[]":
        w.u32((raw as Uint16Array).length);
        for (const x of raw as Uint16Array) w.u16(x);
        break;
      case "u32[]":
        w.u32((raw as Uint32Array).length);
        for (const x of raw as Uint32Array) w.u32(x);
        break;
      case "i32[]":
        w.u32((raw as Int32Array).length);
        for (const x of raw as Int32Array) w.i32(x);
        break;
      case "u64[]":
        w.u32((raw as BigUint64Array).length);
        for (const x of raw as BigUint64Array) w.u64(x);
        break;
      case "f64[]":
        w.u32((raw as Float64Array).length);
        for (const x of raw as Float64Array) w.f64(x);
        break;
      case "record":
        encodeRecord(raw as FieldRecord, w, `${p}.`, depth + 1);
        break;
      case "records":
        w.u32((raw as FieldRecord[]).length);
        (raw as FieldRecord[]).forEach((r, i) => {
          encodeRecord(r, w, `${p}[${i}].`, depth + 1);
        });
        break;
    }
  }
}

export function encodeSectionFields(fields: FieldRecord, littleEndian = true): Uint8Array {
  const w = new ByteWriter(littleEndian);
  encodeRecord(fields, w);
  return w.finish();
}

/**
 * Decodes a record. With `keepTypes`, numbers and bigints come back as `Typed` so that
 * re-encoding gives the same bytes. Every count is checked against the bytes left before
 * anything is allocated.
 */
export function decodeRecord(r: ByteReader, keepTypes: boolean, depth = 0): FieldRecord {
  if (depth > MAX_FIELD_DEPTH) r.fail(`records nest deeper than ${MAX_FIELD_DEPTH}`);
  const countAt = r.at;
  const count = r.u32("field count");
  // Each field takes at least 4 bytes (name length, 1-byte name, tag, 1-byte value).
  if (count > r.remaining / 4)
    r.fail(`field count ${count} cannot fit`, `≤ ${Math.floor(r.remaining / 4)}`, countAt);
  const out: FieldRecord = Object.create(null);
  let prev: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const nameAt = r.at;
    const len = r.u8("field name length");
    if (len === 0) r.fail("empty field name", "1..255", nameAt);
    const nameBytes = r.take(len, "field name");
    if (prev !== undefined && compareBytes(prev, nameBytes) >= 0) {
      r.fail("field names out of order or repeated", "names in ascending byte order", nameAt);
    }
    prev = nameBytes;
    r.pos -= len;
    const name = r.utf8(len, "field name");
    const tagAt = r.at;
    const tag = r.u8("type tag");
    const type = TAG_TYPES.get(tag);
    if (type === undefined) r.fail(`unknown type tag ${tag} for field "${name}"`, "a tag 1..15", tagAt);
    out[name] = decodeValue(r, type, keepTypes, depth, name);
  }
  return { ...out };
}

function countOf(r: ByteReader, elemBytes: number, what: string): number {
  const at = r.at;
  const n = r.u32(`${what} length`);
  if (n * elemBytes > r.remaining) {
    r.fail(
      `${what} of ${n} elements runs past the end`,
      `≤ ${Math.floor(r.remaining / elemBytes)} elements`,
      at,
    );
  }
  return n;
}

function decodeValue(r: ByteReader, type: FieldType, keep: boolean, depth: number, name: string): FieldValue {
  const what = `field "${name}"`;
  switch (type) {
    case "u32": {
      const v = r.u32(what);
      return keep ? new Typed(type, v) : v;
    }
    case "i32": {
      const v = r.i32(what);
      return keep ? new Typed(type, v) : v;
    }
    case "u64": {
      const v = r.u64(what);
      return keep ? new Typed(type, v) : v;
    }
    case "i64": {
      const v = r.i64(what);
      return keep ? new Typed(type, v) : v;
    }
    case "f64": {
      const v = r.f64(what);
      return keep ? new Typed(type, v) : v;
    }
    case "bool": {
      const at = r.at;
      const b = r.u8(what);
      if (b > 1) r.fail(`${what}: boolean byte ${b}`, "0 or 1", at);
      return b === 1;
    }
    case "string":
      return r.utf8(countOf(r, 1, what), what);
    case "bytes":
      return r.take(countOf(r, 1, what), what).slice();
    case "u16[]": {
      const out = new Uint16Array(countOf(r, 2, what));
      for (let i = 0; i < out.length; i++) out[i] = r.u16(what);
      return out;
    }
    case "u32[]": {
      const out = new Uint32Array(countOf(r, 4, what));
      for (let i = 0; i < out.length; i++) out[i] = r.u32(what);
      return out;
    }
    case "i32[]": {
      const out = new Int32Array(countOf(r, 4, what));
      for (let i = 0; i < out.length; i++) out[i] = r.i32(what);
      return out;
    }
    case "u64[]": {
      const out = new BigUint64Array(countOf(r, 8, what));
      for (let i = 0; i < out.length; i++) out[i] = r.u64(what);
      return out;
    }
    case "f64[]": {
      const out = new Float64Array(countOf(r, 8, what));
      for (let i = 0; i < out.length; i++) out[i] = r.f64(what);
      return out;
    }
    case "record":
      return decodeRecord(r, keep, depth + 1);
    case "records": {
      const n = countOf(r, 4, what);
      const out: FieldRecord[] = [];
      for (let i = 0; i < n; i++) out.push(decodeRecord(r, keep, depth + 1));
      return out;
    }
  }
}

export function decodeSectionFields(
  bytes: Uint8Array,
  littleEndian: boolean,
  keepTypes: boolean,
  file: string,
  base: number,
  name: string,
): FieldRecord {
  const r = new ByteReader(bytes, littleEndian, file, base, `section "${name}"`);
  const rec = decodeRecord(r, keepTypes);
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes after the last field`, "the record to end the section");
  return rec;
}

// ---- JSON form (the composed directory layout): {"pc": {"u32": 5}, "x": {"u32[]": [..]}} ----

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

function f64ToJson(v: number): JsonValue {
  if (Number.isFinite(v) && !Object.is(v, -0)) return v;
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return `0x${dv.getBigUint64(0).toString(16).padStart(16, "0")}`;
}

function f64FromJson(v: JsonValue): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^0x[0-9a-f]{16}$/.test(v)) {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setBigUint64(0, BigInt(v));
    return dv.getFloat64(0);
  }
  throw new Error(`not an f64: ${JSON.stringify(v)}`);
}

/** A typed record (from `decodeRecord(..., true)`) as JSON, one {type: value} object per field. */
export function recordToJson(rec: FieldRecord): { [k: string]: JsonValue } {
  const out: { [k: string]: JsonValue } = {};
  for (const name of Object.keys(rec)) {
    const v = rec[name]!;
    const type = typeOf(v, name);
    const raw = v instanceof Typed ? v.value : v;
    let j: JsonValue;
    switch (type) {
      case "u32":
      case "i32":
        j = raw as number;
        break;
      case "u64":
      case "i64":
        j = (raw as bigint).toString();
        break;
      case "f64":
        j = f64ToJson(raw as number);
        break;
      case "bool":
      case "string":
        j = raw as boolean | string;
        break;
      case "bytes":
        j = toHex(raw as Uint8Array);
        break;
      case "u16[]":
      case "u32[]":
      case "i32[]":
        j = Array.from(raw as Uint32Array);
        break;
      case "u64[]":
        j = Array.from(raw as BigUint64Array, (x) => x.toString());
        break;
      case "f64[]":
        j = Array.from(raw as Float64Array, f64ToJson);
        break;
      case "record":
        j = recordToJson(raw as FieldRecord);
        break;
      case "records":
        j = (raw as FieldRecord[]).map(recordToJson);
        break;
    }
    out[name] = { [type]: j };
  }
  return out;
}

/** The inverse of `recordToJson`; throws a plain Error on malformed input (callers add the file name). */
export function recordFromJson(json: JsonValue, depth = 0): FieldRecord {
  if (depth > MAX_FIELD_DEPTH) throw new Error("records nest too deep");
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new Error("a record must be an object");
  const out: FieldRecord = {};
  for (const name of Object.keys(json)) {
    const cell = json[name];
    if (typeof cell !== "object" || cell === null || Array.isArray(cell) || Object.keys(cell).length !== 1) {
      throw new Error(`field "${name}" must be {"<type>": value}`);
    }
    const type = Object.keys(cell)[0] as FieldType;
    const j = cell[type]!;
    const arr = (): JsonValue[] => {
      if (!Array.isArray(j)) throw new Error(`field "${name}" must hold an array`);
      return j;
    };
    const int = (x: JsonValue): number => {
      if (typeof x !== "number" || !Number.isInteger(x))
        throw new Error(`field "${name}": ${x} is not an integer`);
      return x;
    };
    const big = (x: JsonValue): bigint => {
      if (typeof x !== "string" || !/^-?[0-9]+$/.test(x))
        throw new Error(`field "${name}": ${x} is not an integer string`);
      return BigInt(x);
    };
    switch (type) {
      case "u32":
      case "i32":
        out[name] = new Typed(type, int(j));
        break;
      case "u64":
      case "i64":
        out[name] = new Typed(type, big(j));
        break;
      case "f64":
        out[name] = new Typed(type, f64FromJson(j));
        break;
      case "bool":
        if (typeof j !== "boolean") throw new Error(`field "${name}" must be a boolean`);
        out[name] = j;
        break;
      case "string":
        if (typeof j !== "string") throw new Error(`field "${name}" must be a string`);
        out[name] = j;
        break;
      case "bytes": {
        const b = typeof j === "string" ? fromHex(j) : undefined;
        if (b === undefined) throw new Error(`field "${name}" must be hex`);
        out[name] = b;
        break;
      }
      case "u16[]":
        out[name] = Uint16Array.from(arr(), int);
        break;
      case "u32[]":
        out[name] = Uint32Array.from(arr(), int);
        break;
      case "i32[]":
        out[name] = Int32Array.from(arr(), int);
        break;
      case "u64[]":
        out[name] = BigUint64Array.from(arr(), big);
        break;
      case "f64[]":
        out[name] = Float64Array.from(arr(), f64FromJson);
        break;
      case "record":
        out[name] = recordFromJson(j, depth + 1);
        break;
      case "records":
        out[name] = arr().map((x) => recordFromJson(x, depth + 1));
        break;
      default:
        throw new Error(`field "${name}": unknown type "${type}"`);
    }
  }
  return out;
}
