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
  /** Bytes available to the guest's stdin right now; an empty array means none (yet); null means end of input. */
  stdin(max: number): Uint8Array | null;
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
