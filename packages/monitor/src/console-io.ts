import type { HostIo } from "@amber/machine";

/**
 * The guest console of a REPL session: output goes to a callback as it is produced,
 * input is queued by the host (a line at a time, as the user presses Enter) and handed
 * to the UART when the guest asks. An empty queue means "nothing yet" (the guest waits),
 * never end of input, until `close()`.
 */
export class ConsoleIo implements HostIo {
  private queue: Uint8Array = new Uint8Array(0);
  private closed = false;

  constructor(
    private readonly onOutput: (data: Uint8Array) => void,
    private readonly onError: (data: Uint8Array) => void = onOutput,
  ) {}

  stdout(data: Uint8Array): void {
    this.onOutput(data);
  }

  stderr(data: Uint8Array): void {
    this.onError(data);
  }

  stdin(max: number): Uint8Array | null {
    if (this.queue.length === 0) return this.closed ? null : new Uint8Array(0);
    const chunk = this.queue.slice(0, max);
    this.queue = this.queue.subarray(chunk.length);
    return chunk;
  }

  /** Queues bytes for the guest to read. */
  push(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const next = new Uint8Array(this.queue.length + bytes.length);
    next.set(this.queue);
    next.set(bytes, this.queue.length);
    this.queue = next;
  }

  /** Bytes queued that the guest has not read yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** No more input will come: once the queue drains the guest sees end of input. */
  close(): void {
    this.closed = true;
  }
}
