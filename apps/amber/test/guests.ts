import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const GUESTS_DIR = fileURLToPath(new URL("../../../tools/guests/out/", import.meta.url));
export const MARCHES = ["rv32imac", "rv32ima", "rv32im"] as const;

export interface Guest {
  march: string;
  name: string;
  elf: string;
  expectedStdout: Buffer;
  /**
   * What QEMU wrote on its own stdout (the UART, and SYS_WRITE to ":tt", which QEMU's
   * `target=native` semihosting hands to the host's stdout). Amber sends both to stdout.
   */
  expectedHostStdout: Buffer | undefined;
  expectedExit: number;
}

/** Every committed guest ELF with its expected output (recorded from QEMU). */
export function guests(filter: (g: { march: string; name: string }) => boolean = () => true): Guest[] {
  const out: Guest[] = [];
  for (const march of MARCHES) {
    const dir = `${GUESTS_DIR}${march}/`;
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith(".elf")) continue;
      const name = file.slice(0, -4);
      if (!existsSync(`${dir}${name}.stdout`) || !filter({ march, name })) continue;
      out.push({
        march,
        name,
        elf: `${dir}${file}`,
        expectedStdout: readFileSync(`${dir}${name}.stdout`),
        expectedHostStdout: existsSync(`${dir}${name}.host-stdout`)
          ? readFileSync(`${dir}${name}.host-stdout`)
          : undefined,
        expectedExit: Number(readFileSync(`${dir}${name}.exit`, "utf8").trim()),
      });
    }
  }
  return out;
}
