import type { HostIo } from "../../src/index.js";

/**
 * A console that types each line of a script only once the guest has printed the
 * prompt that many times, as a person waiting for the prompt would. Input that arrives
 * before the guest's tty is set up would be lost (the UART FIFO is reset at probe).
 */
export class ScriptedConsole implements HostIo {
  private out = "";
  private sent = 0;
  private pending = new Uint8Array(0);

  constructor(
    private readonly prompt: string,
    private readonly lines: string[],
  ) {}

  get output(): string {
    return this.out;
  }

  stdout(data: Uint8Array): void {
    this.out += new TextDecoder().decode(data);
  }

  stderr(data: Uint8Array): void {
    this.stdout(data);
  }

  stdin(max: number): Uint8Array | null {
    if (this.pending.length === 0) {
      const prompts = this.out.split(this.prompt).length - 1;
      if (this.sent < this.lines.length && prompts > this.sent) {
        this.pending = new TextEncoder().encode(`${this.lines[this.sent]}\n`);
        this.sent++;
      } else {
        return this.sent >= this.lines.length ? null : new Uint8Array(0);
      }
    }
    const chunk = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(chunk.length);
    return chunk;
  }
}
