import * as fs from "node:fs";
import type { Image } from "@amber/image";
import { diskTraceLine } from "@amber/monitor";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/** Lines kept before they are written out, so a write-heavy guest does not wait on the trace file. */
const FLUSH_LINES = 512;

/**
 * `--disk-trace FILE`: one line per guest write to any disk, through the images' snoop
 * hooks (no data copied), as the monitor's `:disk-trace` writes them (`diskTraceLine`):
 *
 *   insn=1234567 disk=0 offset=4096 length=512 layer=shadow
 *
 * `insn` is the guest instruction count at the write (deterministic), `layer` the index of
 * the layer file that took it (0 = the lowest), or `shadow` when it was kept aside in
 * memory (a disk not opened rw).
 */
export class DiskTrace {
  private readonly fd: number;
  private lines: string[] = [];
  private readonly stops: (() => void)[] = [];
  private steps: () => number = () => 0;

  constructor(
    readonly file: string,
    images: readonly Image[],
  ) {
    try {
      this.fd = fs.openSync(file, "w");
    } catch (e) {
      throw new UserError(`--disk-trace ${file}: cannot write: ${(e as Error).message}`, ExitCode.Failure);
    }
    for (const [slot, image] of images.entries()) {
      const shadow = image.layers.length;
      this.stops.push(
        image.snoop((w) => {
          this.lines.push(diskTraceLine(this.steps(), slot, w, shadow));
          if (this.lines.length >= FLUSH_LINES) this.flush();
        }),
      );
    }
  }

  /** Where the instruction count comes from (the machine, once it exists). */
  clock(steps: () => number): void {
    this.steps = steps;
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    fs.writeSync(this.fd, this.lines.join(""));
    this.lines = [];
  }

  close(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.flush();
    fs.closeSync(this.fd);
  }
}
