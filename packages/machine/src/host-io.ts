/**
 * How the board talks to the world outside the guest. The CLI wires these to
 * process.stdout/stdin; tests and embedders capture them. No Node API is used here,
 * so the board runs in a browser too.
 */
export interface HostIo {
  /** Guest console and semihosting stdout bytes. */
  stdout(data: Uint8Array): void;
  /** Semihosting stderr bytes (SYS_WRITE to the ":tt" handle opened for append). */
  stderr(data: Uint8Array): void;
  /**
   * Bytes available to the guest's stdin right now, at most `max`; an empty array means
   * none (yet); null means end of input. The board asks only for what the guest can take
   * (the UART: the room left in its receive FIFO), so every byte returned is consumed by
   * the guest at the instruction count of the call (`hart.steps`): the boundary where
   * input can be recorded and replayed. The rest waits on the host's side.
   */
  stdin(max: number): Uint8Array | null;
  /**
   * Optional: waits, without spinning, up to `ms` milliseconds for input to arrive or to
   * end. The board calls it when the guest idles in `wfi` waiting for the UART's receive
   * interrupt with nothing else that could wake it, and `stdin` has no bytes yet but has
   * not ended (input from a pipe, a socket or a terminal still to come). Without it such a
   * guest is reported "stuck" and the caller decides (the REPL waits for the next line).
   */
  waitForInput?(ms: number): void;
}

/** Host I/O that collects output in memory and serves stdin from a fixed buffer. */
export class CapturedIo implements HostIo {
  private readonly out: Uint8Array[] = [];
  private readonly err: Uint8Array[] = [];
  private input: Uint8Array;

  constructor(input: Uint8Array | string = new Uint8Array(0)) {
    this.input = typeof input === "string" ? new TextEncoder().encode(input) : input;
  }

  stdout(data: Uint8Array): void {
    this.out.push(data.slice());
  }

  stderr(data: Uint8Array): void {
    this.err.push(data.slice());
  }

  stdin(max: number): Uint8Array | null {
    if (this.input.length === 0) return null;
    const chunk = this.input.subarray(0, max);
    this.input = this.input.subarray(chunk.length);
    return chunk;
  }

  get stdoutBytes(): Uint8Array {
    return concat(this.out);
  }

  get stdoutText(): string {
    return new TextDecoder().decode(this.stdoutBytes);
  }

  get stderrText(): string {
    return new TextDecoder().decode(concat(this.err));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
