import { type CheckpointReader, MemoryBlockFile, writeCheckpoint } from "@amber/checkpoint";
import { CapturedIo, Machine } from "../src/index.js";

const PAGE = 4096;

/** A full image of `m` in memory, and its digest. */
export function fullImage(m: Machine): { file: MemoryBlockFile; digest: string } {
  const file = new MemoryBlockFile();
  const s = m.beginSave();
  try {
    return { file, digest: writeCheckpoint(file, s.input).digest };
  } finally {
    s.end();
  }
}

/**
 * Resumes `reader`: "lazy" as a resume does (pages read on first touch), "eager" with every
 * page the image holds read before the first instruction, "interpreted" lazily with no compiler.
 */
export function resume(
  reader: CheckpointReader,
  mode: "lazy" | "eager" | "interpreted",
): { machine: Machine; io: CapturedIo } {
  const io = new CapturedIo();
  const machine = Machine.fromCheckpoint(reader, { io, jit: mode !== "interpreted" });
  if (mode === "eager") for (const p of reader.segment("ram").presentPages()) machine.ram.read(p * PAGE, 1);
  return { machine, io };
}
