import { describe, expect, it } from "vitest";
import { type MachineError, parseElf } from "../src/index.js";

/** Builds a minimal ELF32 RISC-V executable with the given PT_LOAD segments. */
function elf(
  segments: { paddr: number; vaddr?: number; data: number[]; memSize?: number }[],
  entry = 0x8000_0000,
) {
  const headerSize = 52;
  const phSize = 32;
  const dataStart = headerSize + phSize * segments.length;
  const total = dataStart + segments.reduce((n, s) => n + s.data.length, 0);
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 243, true); // EM_RISCV
  v.setUint32(20, 1, true);
  v.setUint32(24, entry, true);
  v.setUint32(28, headerSize, true);
  v.setUint16(40, headerSize, true);
  v.setUint16(42, phSize, true);
  v.setUint16(44, segments.length, true);
  let at = dataStart;
  segments.forEach((s, i) => {
    const ph = headerSize + i * phSize;
    v.setUint32(ph, 1, true);
    v.setUint32(ph + 4, at, true);
    v.setUint32(ph + 8, s.vaddr ?? s.paddr, true);
    v.setUint32(ph + 12, s.paddr, true);
    v.setUint32(ph + 16, s.data.length, true);
    v.setUint32(ph + 20, s.memSize ?? s.data.length, true);
    v.setUint32(ph + 24, 5, true);
    bytes.set(s.data, at);
    at += s.data.length;
  });
  return bytes;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as MachineError).code;
  }
  return "no error";
}

describe("ELF loading", () => {
  it("reads the entry and PT_LOAD segments with physical and virtual addresses", () => {
    const image = parseElf(
      elf([{ paddr: 0x8000_1000, vaddr: 0x8020_0000, data: [1, 2, 3], memSize: 16 }], 0x8000_0004),
    );
    expect(image.entry).toBe(0x8000_0004);
    expect(image.segments).toHaveLength(1);
    expect(image.segments[0]).toMatchObject({ paddr: 0x8000_1000, vaddr: 0x8020_0000, memSize: 16 });
    expect([...image.segments[0]!.fileBytes]).toEqual([1, 2, 3]);
  });

  it.each([
    ["ELF_NOT_ELF", () => parseElf(new Uint8Array([1, 2, 3, 4, 5]))],
    ["ELF_TRUNCATED", () => parseElf(elf([{ paddr: 0x8000_0000, data: [1] }]).subarray(0, 40))],
    ["ELF_WRONG_CLASS", () => parseElf(Object.assign(elf([{ paddr: 0x8000_0000, data: [1] }]), { 4: 2 }))],
    ["ELF_WRONG_ENDIAN", () => parseElf(Object.assign(elf([{ paddr: 0x8000_0000, data: [1] }]), { 5: 2 }))],
    [
      "ELF_WRONG_MACHINE",
      () => parseElf(Object.assign(elf([{ paddr: 0x8000_0000, data: [1] }]), { 18: 62 })),
    ],
    ["ELF_WRONG_TYPE", () => parseElf(Object.assign(elf([{ paddr: 0x8000_0000, data: [1] }]), { 16: 3 }))],
    ["ELF_BAD_SEGMENT", () => parseElf(elf([]))],
    ["ELF_BAD_SEGMENT", () => parseElf(elf([{ paddr: 0x8000_0000, data: [1, 2], memSize: 1 }]))],
  ])("reports %s", (code, f) => {
    expect(codeOf(f)).toBe(code);
  });

  it("names the file and the offset in its messages", () => {
    expect(() => parseElf(new Uint8Array(8), "a.out")).toThrow(/^a\.out: offset 0: not an ELF file/);
  });

  it("never reads past the end for absurd program-header counts", () => {
    const bytes = elf([{ paddr: 0x8000_0000, data: [1] }]);
    new DataView(bytes.buffer).setUint16(44, 0xffff, true);
    expect(codeOf(() => parseElf(bytes))).toBe("ELF_TRUNCATED");
  });
});
