import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CapturedIo, Machine } from "../src/index.js";

const OUT = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));

function run(name: string, jit: boolean, compiler?: "wasm" | "js") {
  const io = new CapturedIo();
  const m = new Machine({ io, jit, compiler });
  m.loadElf(readFileSync(`${OUT}${name}.elf`), name);
  const outcome = m.run(200_000_000);
  return { outcome, io, m };
}

const csrs = (m: Machine) => {
  const c = m.hart.csr;
  return [c.priv, c.mstatus, c.mepc, c.mcause, c.mtval, c.mtvec, c.mscratch, c.mip, c.mie];
};

describe.each(["wasm", "js"] as const)(
  "the board runs the same with and without the block compiler (%s back end)",
  (backend) => {
    it.each(["bench-short", "int-edge", "traps"])(
      "%s",
      (name) => {
        const compiled = run(name, true, backend);
        expect(compiled.m.hart.compilerBackend).toBe(backend);
        const interpreted = run(name, false);
        expect(compiled.outcome).toEqual(interpreted.outcome);
        expect(compiled.io.stdoutText).toBe(interpreted.io.stdoutText);
        expect(compiled.m.hart.steps).toBe(interpreted.m.hart.steps);
        expect(compiled.m.hart.instret).toBe(interpreted.m.hart.instret);
        expect([...compiled.m.hart.x]).toEqual([...interpreted.m.hart.x]);
        expect(compiled.m.hart.pc).toBe(interpreted.m.hart.pc);
        expect(csrs(compiled.m)).toEqual(csrs(interpreted.m));
        const pages = compiled.m.ram.allocatedPageIndexes();
        expect(pages).toEqual(interpreted.m.ram.allocatedPageIndexes());
        for (const i of pages) {
          if (Buffer.compare(compiled.m.ram.page(i)!, interpreted.m.ram.page(i)!) !== 0)
            expect.fail(`RAM page ${i} differs`);
        }
        if (name === "bench-short") expect(compiled.m.hart.compiledRegions).toBeGreaterThan(0);
      },
      60_000,
    );
  },
);

describe("the WebAssembly back end's memory", () => {
  it("is made when code first gets hot, not with the machine: RAM moves into it mid-run", () => {
    const m = new Machine({ io: new CapturedIo() });
    m.loadElf(readFileSync(`${OUT}bench-short.elf`), "bench-short");
    m.run(500); // fewer steps than any pc needs to get hot
    expect(m.ram.flat).toBeUndefined();
    expect(m.hart.compilerBackend).toBe("wasm");
    const outcome = m.run(200_000_000);
    expect(m.ram.flat).toBeDefined();
    expect(m.hart.compiledRegions).toBeGreaterThan(0);
    const interpreted = run("bench-short", false);
    expect(outcome).toEqual(interpreted.outcome);
    expect(m.hart.steps).toBe(interpreted.m.hart.steps);
  }, 60_000);
});
