import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { decode, StopReason } from "../src/index.js";
import { asm } from "./support/assemble.js";
import { BACKENDS, cycle, expectSame, runBoth, twin } from "./support/compiled-twin.js";
import { BOARD_RAM_BASE as BASE, DEVICE, loadElf } from "./support/lazy-board.js";

// The block compiler must be invisible: every test runs the same program on a hart
// with the compiler (the default) and one without ({ jit: false }, the reference
// interpreter) and compares everything architectural after every slice of steps.

const RAM = 1024 * 1024;
/** Loop iterations: more than TEST_HOTNESS, so loops run compiled. */
const HOT_LOOPS = 120;

const lui = (rd: number, value: number) => asm("lui", { rd, imm: value });
const addi = (rd: number, rs1: number, imm: number) => asm("addi", { rd, rs1, imm });
const spin = () => asm("jal", { rd: 0, imm: 0 });

/** Loads a 32-bit constant into rd (lui + addi). */
function li(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  const hi = (value - lo) | 0;
  return [lui(rd, hi), addi(rd, rd, lo)];
}

describe.each(BACKENDS)("block compiler (%s back end): hand-written programs", (backend) => {
  it("the compressed encodings used below decode as intended", () => {
    expect(decode(0x0185)?.spec.name).toBe("c.addi");
    expect(decode(0x848e)?.spec.name).toBe("c.mv");
  });

  // A loop with every load/store width, a call and return, M ops and RVC.
  const loop = (): number[] => {
    const body = [
      ...li(1, HOT_LOOPS),
      ...li(2, BASE + 0x2000),
      // loop (offset 16):
      asm("lw", { rd: 3, rs1: 2, imm: 0 }),
      addi(3, 3, 7),
      asm("sw", { rs1: 2, rs2: 3, imm: 0 }),
      asm("lbu", { rd: 4, rs1: 2, imm: 1 }),
      asm("sb", { rs1: 2, rs2: 4, imm: 5 }),
      asm("lh", { rd: 5, rs1: 2, imm: 2 }),
      asm("sh", { rs1: 2, rs2: 5, imm: 6 }),
      asm("lb", { rd: 11, rs1: 2, imm: 5 }),
      asm("lhu", { rd: 12, rs1: 2, imm: 6 }),
      0x0185, // c.addi x3, 1
      0x848e, // c.mv x9, x3
      asm("jal", { rd: 10, imm: 20 }), // at 56: call f at 76
      addi(1, 1, -1),
      asm("bne", { rs1: 1, rs2: 0, imm: -48 }), // at 64: back to 16
      spin(),
      asm("fence"),
      // f:
      asm("mul", { rd: 6, rs1: 3, rs2: 3 }),
      asm("xor", { rd: 7, rs1: 7, rs2: 6 }),
      asm("div", { rd: 8, rs1: 7, rs2: 3 }),
      asm("mulh", { rd: 13, rs1: 7, rs2: 9 }),
      asm("remu", { rd: 14, rs1: 7, rs2: 11 }),
      asm("jalr", { rd: 0, rs1: 10, imm: 0 }),
    ];
    return body;
  };

  it("the loop program is laid out as the offsets in it say", () => {
    const t = twin(RAM, (b) => b.program(loop()), backend);
    t.ref.hart.run(100_000);
    expect(t.ref.hart.pc >>> 0).toBe(BASE + 68); // the spin
    expect(t.ref.hart.x[1]).toBe(0);
  });

  it("matches the interpreter at budgets that end anywhere in a block", () => {
    const t = twin(RAM, (b) => b.program(loop()), backend);
    runBoth(t, cycle([1, 2, 3, 5, 7, 11, 13, 50, 97, 1000, 3], 4000), "loop");
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe(backend);
  });

  it("single steps of the compiling hart match one long run of the interpreter", () => {
    const t = twin(RAM, (b) => b.program(loop()), backend);
    for (let i = 0; i < 2500; i++) t.jit.hart.run(1);
    t.ref.hart.run(2500);
    expectSame(t, "single-stepped");
  });

  it("hands device accesses, faults and CSR instructions to the interpreter inside hot loops", () => {
    const handler = BASE + 0x800;
    const program = [
      ...li(1, HOT_LOOPS),
      ...li(29, DEVICE),
      ...li(31, handler),
      asm("csrrw", { rd: 0, rs1: 31, imm: 0x305 }), // mtvec
      // loop (offset 28):
      asm("lw", { rd: 3, rs1: 29, imm: 0 }), // device read: slow path
      asm("sw", { rs1: 29, rs2: 1, imm: 0 }), // device write: slow path
      asm("lw", { rd: 4, rs1: 0, imm: 64 }), // address 64: access fault, skipped by the handler
      asm("csrrs", { rd: 5, rs1: 0, imm: 0xb02 }), // minstret
      asm("add", { rd: 6, rs1: 6, rs2: 5 }),
      addi(1, 1, -1),
      asm("bne", { rs1: 1, rs2: 0, imm: -24 }),
      spin(),
    ];
    // The handler skips the faulting instruction: mepc += 4; mret.
    const trapHandler = [
      asm("csrrs", { rd: 28, rs1: 0, imm: 0x341 }),
      addi(28, 28, 4),
      asm("csrrw", { rd: 0, rs1: 28, imm: 0x341 }),
      asm("mret"),
    ];
    const t = twin(
      RAM,
      (b) => {
        b.program(program);
        b.program(trapHandler, handler);
      },
      backend,
    );
    runBoth(t, cycle([1, 9, 33, 250, 7], 3000), "device/fault loop");
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.traps).toBeGreaterThan(HOT_LOOPS / 2);
    expect(t.jit.deviceWrites.length).toBeGreaterThan(HOT_LOOPS / 2);
  });

  it("an instruction rewritten after it ran compiled runs in its new form (with and without fence.i)", () => {
    for (const fenceI of [false, true]) {
      const f = BASE + 0x400;
      const program = [
        ...li(8, f),
        ...li(6, HOT_LOOPS),
        // loop1 (offset 16):
        asm("jalr", { rd: 1, rs1: 8, imm: 0 }),
        addi(6, 6, -1),
        asm("bne", { rs1: 6, rs2: 0, imm: -8 }),
        ...li(7, asm("addi", { rd: 5, rs1: 5, imm: 100 })),
        asm("sw", { rs1: 8, rs2: 7, imm: 0 }), // patch f's first instruction
        fenceI ? asm("fence.i") : asm("fence"),
        ...li(6, HOT_LOOPS),
        // loop2:
        asm("jalr", { rd: 1, rs1: 8, imm: 0 }),
        addi(6, 6, -1),
        asm("bne", { rs1: 6, rs2: 0, imm: -8 }),
        spin(),
      ];
      const t = twin(
        RAM,
        (b) => {
          b.program(program);
          b.program([addi(5, 5, 1), asm("jalr", { rd: 0, rs1: 1, imm: 0 })], f);
        },
        backend,
      );
      runBoth(t, cycle([4096], 8192), `patch f (fence.i ${fenceI})`);
      expect(t.jit.hart.x[5]).toBe(HOT_LOOPS + HOT_LOOPS * 100);
    }
  });

  it("calls through pointers, often enough for regions to be compiled again with their exit targets", () => {
    const f = BASE + 0x400;
    const g = BASE + 0x600;
    const program = [
      ...li(8, f),
      ...li(9, g),
      ...li(6, 3000), // more calls than a region leaves before it learns its exit targets
      // loop (offset 24): call f, then g, through registers
      asm("jalr", { rd: 1, rs1: 8, imm: 0 }),
      asm("jalr", { rd: 1, rs1: 9, imm: 0 }),
      addi(6, 6, -1),
      asm("bne", { rs1: 6, rs2: 0, imm: -12 }),
      spin(),
    ];
    const t = twin(
      RAM,
      (b) => {
        b.program(program);
        b.program(
          [addi(5, 5, 1), asm("xor", { rd: 7, rs1: 7, rs2: 5 }), asm("jalr", { rd: 0, rs1: 1, imm: 0 })],
          f,
        );
        b.program([asm("add", { rd: 10, rs1: 10, rs2: 7 }), asm("jalr", { rd: 0, rs1: 1, imm: 0 })], g);
      },
      backend,
    );
    runBoth(t, cycle([5000, 333, 7919], 40_000), "calls through pointers");
    expect(t.jit.hart.x[5]).toBe(3000);
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(1);
  });

  it("a loop that rewrites its own next instruction every iteration", () => {
    const program = [
      ...li(8, BASE + 24), // the address of `target`
      ...li(10, 1 << 20), // +1 in the I-type immediate field
      ...li(6, HOT_LOOPS),
      // loop (offset 24... target is at 24 + 12 = 36)
      asm("lw", { rd: 9, rs1: 8, imm: 12 }),
      asm("add", { rd: 9, rs1: 9, rs2: 10 }),
      asm("sw", { rs1: 8, rs2: 9, imm: 12 }),
      addi(5, 5, 0), // target: its immediate grows by one per iteration
      addi(6, 6, -1),
      asm("bne", { rs1: 6, rs2: 0, imm: -20 }),
      spin(),
    ];
    const t = twin(RAM, (b) => b.program(program), backend);
    runBoth(t, cycle([3, 700, 11], 3000), "self-modifying loop");
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
    expect(t.jit.hart.x[5]).toBe((HOT_LOOPS * (HOT_LOOPS + 1)) / 2);
  });
});

describe("block compiler: choosing the back end", () => {
  const program = (): number[] => [
    ...li(1, HOT_LOOPS * 4),
    addi(2, 2, 3),
    asm("xor", { rd: 3, rs1: 3, rs2: 2 }),
    addi(1, 1, -1),
    asm("bne", { rs1: 1, rs2: 0, imm: -12 }),
    spin(),
  ];

  it("uses the JS back end when RAM is not flat in a WebAssembly.Memory", () => {
    const t = twin(RAM, (b) => b.program(program()));
    expect(t.jit.hart.compilerBackend).toBe("js");
    runBoth(t, cycle([700], 3000), "not flat");
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
  });

  it("goes on with the JS back end when the host refuses to compile a region to wasm", () => {
    const t = twin(RAM, (b) => b.program(program()), "wasm");
    expect(t.jit.hart.compilerBackend).toBe("wasm");
    // As a browser's main thread does for large modules compiled synchronously.
    const refuse = vi.spyOn(WebAssembly, "Module").mockImplementation(
      class {
        constructor() {
          throw new RangeError("WebAssembly.Module is disallowed on the main thread");
        }
      } as unknown as typeof WebAssembly.Module,
    );
    let refused = 0;
    try {
      runBoth(t, cycle([700], 3000), "wasm refused");
      refused = refuse.mock.calls.length;
    } finally {
      refuse.mockRestore();
    }
    expect(refused).toBeGreaterThan(0);
    expect(t.jit.hart.compilerBackend).toBe("js");
    expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
  });
});

// Random straight-line code in a hot loop: ALU, M, loads and stores (aligned or not,
// to RAM, to the device, to nowhere), whose faults a handler skips.
const R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and"];
const M_OPS = ["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"];
const I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi"];
const SHIFT_OPS = ["slli", "srli", "srai"];
const LOADS = ["lb", "lh", "lw", "lbu", "lhu"];
const STORES = ["sb", "sh", "sw"];
/** x28 handler scratch, x29 device address, x30 loop counter, x31 data base. */
const rd = fc.integer({ min: 1, max: 27 });
const rs = fc.integer({ min: 0, max: 31 });
const imm12 = fc.integer({ min: -2048, max: 2047 });
const base = fc.constantFrom(31, 31, 31, 29, 0);
const insn = fc.oneof(
  fc
    .tuple(fc.constantFrom(...R_OPS, ...M_OPS), rd, rs, rs)
    .map(([n, d, a, b]) => asm(n, { rd: d, rs1: a, rs2: b })),
  fc.tuple(fc.constantFrom(...I_OPS), rd, rs, imm12).map(([n, d, a, i]) => asm(n, { rd: d, rs1: a, imm: i })),
  fc
    .tuple(fc.constantFrom(...SHIFT_OPS), rd, rs, fc.integer({ min: 0, max: 31 }))
    .map(([n, d, a, i]) => asm(n, { rd: d, rs1: a, imm: i })),
  fc.tuple(rd, fc.integer({ min: 0, max: 0xfffff })).map(([d, i]) => asm("lui", { rd: d, imm: i << 12 })),
  fc.tuple(rd, fc.integer({ min: 0, max: 0xfffff })).map(([d, i]) => asm("auipc", { rd: d, imm: i << 12 })),
  fc
    .tuple(
      fc.constantFrom(...LOADS),
      fc.integer({ min: 0, max: 27 }),
      base,
      fc.integer({ min: -64, max: 64 }),
    )
    .map(([n, d, a, i]) => asm(n, { rd: d, rs1: a, imm: a === 29 ? 0 : i })),
  fc
    .tuple(fc.constantFrom(...STORES), base, rs, fc.integer({ min: -64, max: 64 }))
    .map(([n, a, b, i]) => asm(n, { rs1: a, rs2: b, imm: a === 29 ? 0 : i })),
);

describe.each(BACKENDS)("block compiler (%s back end): random straight-line code", (backend) => {
  it("matches the interpreter step for step", () => {
    const handler = BASE + 0x8000;
    fc.assert(
      fc.property(
        fc.array(insn, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 4, maxLength: 12 }),
        fc.array(fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), { minLength: 27, maxLength: 27 }),
        (body, slices, regs) => {
          const program = [
            ...li(31, BASE + 0x6000),
            ...li(29, DEVICE),
            ...li(30, HOT_LOOPS),
            ...li(28, handler),
            asm("csrrw", { rd: 0, rs1: 28, imm: 0x305 }),
            ...body,
            addi(30, 30, -1),
            asm("bne", { rs1: 30, rs2: 0, imm: -4 * (body.length + 1) }),
            spin(),
          ];
          const trapHandler = [
            asm("csrrs", { rd: 28, rs1: 0, imm: 0x341 }),
            addi(28, 28, 4),
            asm("csrrw", { rd: 0, rs1: 28, imm: 0x341 }),
            asm("mret"),
          ];
          const t = twin(
            RAM,
            (b) => {
              for (let r = 1; r <= 27; r++) b.hart.x[r] = regs[r - 1]!;
              b.program(program);
              b.program(trapHandler, handler);
            },
            backend,
          );
          runBoth(t, [...slices, HOT_LOOPS * (body.length + 8)], "random");
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});

// The project's guests, when they have been built: run each for a while on both harts.
const guestsDir = fileURLToPath(new URL("../../../tools/guests/out/", import.meta.url));
const guests: string[] = [];
for (const march of ["rv32imac", "rv32im"]) {
  const dir = `${guestsDir}${march}`;
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) if (f.endsWith(".elf")) guests.push(`${march}/${f}`);
}
/** Steps per guest: enough for the hot loops of the benchmarks to be compiled. */
const GUEST_STEPS = 3_000_000;
const SYS_EXIT = 0x18;
const SYS_EXIT_EXTENDED = 0x20;

describe.skipIf(guests.length === 0).each(BACKENDS)(
  "block compiler (%s back end): the project's guests",
  (backend) => {
    it.each(guests)(
      "%s runs the same with and without the compiler",
      (name) => {
        const bytes = new Uint8Array(readFileSync(`${guestsDir}${name}`));
        const t = twin(
          128 * 1024 * 1024,
          (b) => {
            b.hart.pc = loadElf(b, bytes);
          },
          backend,
        );
        // Semihosting calls are answered with 0 on both sides: not faithful, but identical.
        let done = 0;
        while (done < GUEST_STEPS) {
          const reason = runBoth(t, [Math.min(250_007, GUEST_STEPS - done)], name, false);
          done = t.ref.hart.steps;
          if (reason === StopReason.Semihosting) {
            const op = t.ref.hart.x[10]!;
            if (op === SYS_EXIT || op === SYS_EXIT_EXTENDED) break;
            t.jit.hart.x[10] = 0;
            t.ref.hart.x[10] = 0;
          } else if (reason !== StopReason.Budget) break;
        }
        expectSame(t, `${name} at the end`);
        // Guests with hot loops must have run compiled code for the comparison to mean much.
        if (/bench|strings|int-edge/.test(name)) expect(t.jit.hart.compiledRegions).toBeGreaterThan(0);
      },
      120_000,
    );
  },
);
