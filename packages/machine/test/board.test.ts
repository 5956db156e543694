import { describe, expect, it } from "vitest";
import { CapturedIo, Machine, MachineError, VIRT } from "../src/index.js";

/** A raw program: words placed at the start of RAM by a tiny hand-built ELF. */
function machineWith(words: number[], io = new CapturedIo()): Machine {
  const m = new Machine({ io, ramSize: 1 << 20 });
  const code = new Uint8Array(words.length * 4);
  const v = new DataView(code.buffer);
  for (const [i, w] of words.entries()) v.setUint32(i * 4, w >>> 0, true);
  m.ram.writeBytes(0, code);
  // Point the boot ROM at RAM the way loadElf does, via a minimal ELF.
  const elf = new Uint8Array(52 + 32 + code.length);
  const e = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  e.setUint16(16, 2, true);
  e.setUint16(18, 243, true);
  e.setUint32(24, VIRT.ram.base, true);
  e.setUint32(28, 52, true);
  e.setUint16(42, 32, true);
  e.setUint16(44, 1, true);
  e.setUint32(52, 1, true);
  e.setUint32(56, 84, true);
  e.setUint32(60, VIRT.ram.base, true);
  e.setUint32(64, VIRT.ram.base, true);
  e.setUint32(68, code.length, true);
  e.setUint32(72, code.length, true);
  elf.set(code, 84);
  m.loadElf(elf, "test.elf");
  return m;
}

const LUI_T0_TEST = 0x001002b7; // lui t0, 0x100 (the test device)
const LI_T1 = (v: number) => (((v & 0xfff) << 20) | (6 << 7) | 0x13) >>> 0; // addi t1, x0, v
const LUI_T1 = (v: number) => ((v & 0xfffff000) | (6 << 7) | 0x37) >>> 0;
const SW_T1_T0 = 0x0062a023; // sw t1, 0(t0)

describe("the virt board", () => {
  it("starts in QEMU's boot ROM, which hands a0 = hartid, a2 = &fw_dynamic_info to the entry", () => {
    const m = machineWith([0x0000006f]); // j .
    expect(m.hart.pc).toBe(VIRT.mrom.base);
    m.run(6);
    expect(m.hart.pc >>> 0).toBe(VIRT.ram.base);
    expect(m.hart.x[10]).toBe(0);
    expect(m.hart.x[12]).toBe(VIRT.mrom.base + 0x28);
  });

  it("powers off with status 0 through the test finisher (0x5555)", () => {
    const m = machineWith([LUI_T0_TEST, LUI_T1(0x5000), 0x55530313 /* addi t1,t1,0x555 */, SW_T1_T0]);
    expect(m.run(100)).toEqual({ kind: "exited", code: 0 });
  });

  it("exits with the code of a 0x3333 finisher write", () => {
    const m = machineWith([LUI_T0_TEST, LUI_T1(0x2a3000), 0x33330313 /* addi t1,t1,0x333 */, SW_T1_T0]);
    expect(m.run(100)).toEqual({ kind: "exited", code: 0x2a });
  });

  it("sends UART transmit bytes to the host's stdout", () => {
    const io = new CapturedIo();
    const m = machineWith(
      [
        0x100002b7 /* lui t0, 0x10000 */,
        LI_T1(0x41),
        0x00628023 /* sb t1, 0(t0) */,
        LI_T1(0x0a),
        0x00628023,
        0x0000006f,
      ],
      io,
    );
    m.run(100);
    expect(io.stdoutText).toBe("A\n");
  });

  it("is deterministic: two runs take the same steps and leave the same registers", () => {
    const program = [LI_T1(1), 0x00130313 /* addi t1,t1,1 */, 0xffdff06f /* j -4 */];
    const a = machineWith(program);
    const b = machineWith(program);
    a.run(12345);
    b.run(12345);
    expect(a.hart.steps).toBe(12345);
    expect([...a.hart.x]).toEqual([...b.hart.x]);
    expect(a.hart.pc).toBe(b.hart.pc);
  });

  it("rejects RAM sizes that are not whole pages", () => {
    expect(() => new Machine({ ramSize: 1000 })).toThrow(MachineError);
  });
});
