import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CapturedIo, Machine } from "../src/index.js";

/** The committed guest programs (rv32imac builds) and their QEMU goldens. */
export const GUESTS = fileURLToPath(new URL("../../../tools/guests/out/rv32imac/", import.meta.url));

/** A 128 MiB board with guest `name` (tools/guests) loaded, its console captured. */
export function bootGuest(name: string, jit = true): { machine: Machine; io: CapturedIo } {
  const io = new CapturedIo();
  const machine = new Machine({ ramSize: 128 << 20, io, cmdline: name, jit });
  machine.loadElf(readFileSync(`${GUESTS}${name}.elf`), name);
  return { machine, io };
}
