/**
 * Marks number and boolean fields of a freshly made object as changing, for V8.
 *
 * V8 tracks a field written only by its initialiser as a constant, and optimised code
 * that read it relies on that; the first store of another value makes the field mutable
 * and throws that code away, or aborts its compile if one is running ("dependency
 * change"). In a cold boot the guest first faults, traps, takes an LR/SC reservation or
 * runs a compiled region while V8 is compiling `Hart.run`, which then compiles again
 * (≈ 250 ms of background CPU each time; packages/isa/README.md, *Cold start*). Storing
 * each named field another value and then its own back, in the constructor, makes the
 * fields mutable before any code is optimised; their values do not change.
 */
export function markMutable<T extends object>(target: T, keys: readonly string[]): void {
  const fields = target as Record<string, unknown>;
  for (const key of keys) {
    const value = fields[key];
    if (typeof value === "number") fields[key] = value + 1;
    else if (typeof value === "boolean") fields[key] = !value;
    else throw new TypeError(`markMutable: ${key} is not a number or boolean field`);
    fields[key] = value;
  }
}
