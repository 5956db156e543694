import type { FieldRecord, FieldValue } from "@amber/checkpoint";
import { MachineError } from "./machine-error.js";

/** Reads fields by name, checking their types: a wrong or missing one is CHECKPOINT_INVALID. */
export class Fields {
  constructor(
    private readonly where: string,
    private readonly f: FieldRecord,
  ) {}
  bad(name: string, what: string): never {
    throw new MachineError("CHECKPOINT_INVALID", `${this.where}: section field "${name}" ${what}`);
  }
  private get(name: string): FieldValue {
    const v = this.f[name];
    if (v === undefined) this.bad(name, "is missing");
    return v;
  }
  num(name: string): number {
    const v = this.get(name);
    if (typeof v !== "number" || !Number.isFinite(v)) this.bad(name, "is not a number");
    return v;
  }
  bool(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== "boolean") this.bad(name, "is not a boolean");
    return v;
  }
  str(name: string): string {
    const v = this.get(name);
    if (typeof v !== "string") this.bad(name, "is not a string");
    return v;
  }
  array<T>(name: string, type: new (n: number) => T & ArrayLike<number>, length: number): T {
    const v = this.get(name);
    if (!(v instanceof type) || (length >= 0 && v.length !== length)) {
      this.bad(name, `is not a ${type.name}${length >= 0 ? ` of ${length}` : ""}`);
    }
    return v as T;
  }
  /** An integer in [min, max]. */
  int(name: string, min: number, max: number): number {
    const v = this.num(name);
    if (!Number.isInteger(v) || v < min || v > max)
      this.bad(name, `is ${show(v)}: not an integer in ${show(min)}..${show(max)}`);
    return v;
  }
  /** A 32-bit register's value (stored signed or unsigned). */
  word(name: string): number {
    return this.int(name, -0x8000_0000, 0xffff_ffff);
  }
  /** A 32-bit value whose bits outside `mask` must be clear (what the register can hold). */
  bits(name: string, mask: number): number {
    const v = this.word(name);
    if ((v & ~mask) !== 0) this.bad(name, `is ${show(v >>> 0)}: bits outside ${show(mask >>> 0)} are set`);
    return v;
  }
  /** A count or an instruction number: a safe integer ≥ 0. */
  count(name: string): number {
    return this.int(name, 0, Number.MAX_SAFE_INTEGER);
  }
  oneOf<T extends number>(name: string, values: readonly T[], what: string): T {
    const v = this.num(name);
    if (!values.includes(v as T)) this.bad(name, `is ${show(v)}: not ${what}`);
    return v as T;
  }
  /** Each element of an integer array within [0, max]. */
  each<T extends ArrayLike<number>>(name: string, array: T, max: number): T {
    for (let i = 0; i < array.length; i++) {
      if (array[i]! > max) this.bad(`${name}[${i}]`, `is ${show(array[i]!)}: above ${show(max)}`);
    }
    return array;
  }
  records(name: string): Fields[] {
    const v = this.get(name);
    if (!Array.isArray(v)) this.bad(name, "is not a list of records");
    return v.map((r, i) => new Fields(`${this.where}.${name}[${i}]`, r));
  }
}

/** A number as messages show it: hexadecimal from 4096 up. */
export function show(v: number): string {
  return Number.isInteger(v) && Math.abs(v) >= 4096
    ? `${v < 0 ? "-" : ""}0x${Math.abs(v).toString(16)}`
    : String(v);
}
