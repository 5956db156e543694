import { MachineError } from "./machine-error.js";

/** One PT_LOAD segment: `fileBytes` go to `paddr`, the rest up to `memSize` is zeroed. */
export interface ElfSegment {
  paddr: number;
  vaddr: number;
  memSize: number;
  fileBytes: Uint8Array;
  flags: number;
}

export interface ElfImage {
  entry: number;
  segments: ElfSegment[];
}

const PT_LOAD = 1;
const EM_RISCV = 243;
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;

/**
 * Reads the loadable parts of a 32-bit little-endian RISC-V ELF executable. `name`
 * only labels error messages, which give the byte offset of what was wrong.
 */
export function parseElf(bytes: Uint8Array, name = "program"): ElfImage {
  const fail = (code: ConstructorParameters<typeof MachineError>[0], offset: number, what: string): never => {
    throw new MachineError(code, `${name}: offset ${offset}: ${what}`);
  };
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    fail("ELF_NOT_ELF", 0, "not an ELF file (expected the magic bytes 7f 45 4c 46)");
  }
  if (bytes.length < 52) fail("ELF_TRUNCATED", bytes.length, "file ends inside the 52-byte ELF32 header");
  if (bytes[4] !== ELFCLASS32) {
    fail("ELF_WRONG_CLASS", 4, `ELF class ${bytes[4] === 2 ? "64-bit" : bytes[4]}, expected 32-bit (RV32)`);
  }
  if (bytes[5] !== ELFDATA2LSB) fail("ELF_WRONG_ENDIAN", 5, "big-endian ELF, expected little-endian");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  if (machine !== EM_RISCV) fail("ELF_WRONG_MACHINE", 18, `machine ${machine}, expected RISC-V (243)`);
  if (type !== ET_EXEC) fail("ELF_WRONG_TYPE", 16, `ELF type ${type}, expected an executable (2)`);
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (phnum > 0 && phentsize < 32)
    fail("ELF_BAD_SEGMENT", 42, `program header size ${phentsize}, expected at least 32`);
  if (phoff + phnum * phentsize > bytes.length) {
    fail(
      "ELF_TRUNCATED",
      phoff,
      `${phnum} program headers of ${phentsize} bytes run past the end of the file (${bytes.length} bytes)`,
    );
  }
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (view.getUint32(at, true) !== PT_LOAD) continue;
    const offset = view.getUint32(at + 4, true);
    const vaddr = view.getUint32(at + 8, true);
    const paddr = view.getUint32(at + 12, true);
    const fileSize = view.getUint32(at + 16, true);
    const memSize = view.getUint32(at + 20, true);
    const flags = view.getUint32(at + 24, true);
    if (fileSize > memSize)
      fail("ELF_BAD_SEGMENT", at + 16, `segment ${i} has file size ${fileSize} > memory size ${memSize}`);
    if (offset + fileSize > bytes.length) {
      fail(
        "ELF_TRUNCATED",
        at + 4,
        `segment ${i} wants bytes [${offset}, ${offset + fileSize}) of a ${bytes.length}-byte file`,
      );
    }
    if (memSize === 0) continue;
    segments.push({ paddr, vaddr, memSize, flags, fileBytes: bytes.subarray(offset, offset + fileSize) });
  }
  if (segments.length === 0) fail("ELF_BAD_SEGMENT", phoff, "no loadable (PT_LOAD) segment");
  return { entry, segments };
}
