import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CapturedIo, Machine } from "../src/index.js";

const OUT = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));

function run(name: string, jit: boolean) {
  const io = new CapturedIo();
  const m = new Machine({ io, jit });
  m.loadElf(readFileSync(`${OUT}${name}.elf`), name);
  const outcome = m.run(200_000_000);
  return { outcome, io, m };
}

describe("the board runs the same with and without the block compiler", () => {
  it.each(["bench-short", "int-edge", "traps"])(
    "%s",
    (name) => {
      const compiled = run(name, true);
      const interpreted = run(name, false);
      expect(compiled.outcome).toEqual(interpreted.outcome);
      expect(compiled.io.stdoutText).toBe(interpreted.io.stdoutText);
      expect(compiled.m.hart.steps).toBe(interpreted.m.hart.steps);
      expect(compiled.m.hart.instret).toBe(interpreted.m.hart.instret);
      expect([...compiled.m.hart.x]).toEqual([...interpreted.m.hart.x]);
      expect(compiled.m.hart.pc).toBe(interpreted.m.hart.pc);
      if (name === "bench-short") expect(compiled.m.hart.compiledRegions).toBeGreaterThan(0);
    },
    60_000,
  );
});
