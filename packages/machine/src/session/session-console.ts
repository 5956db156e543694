import type { HostIo } from "../host-io.js";

/**
 * The console of a `Session`: what the guest printed (kept as text, from where the last
 * `expect` matched) and the input typed for it. Input is queued: an empty queue means
 * "nothing yet" (the guest waits), never end of input.
 */
export class SessionConsole implements HostIo {
  private queue = new Uint8Array(0);
  private readonly decoder = new TextDecoder();
  /** Output not yet consumed by a match. */
  pending = "";
  /** Everything the guest printed since the session began (or since the world restored was saved). */
  transcript = "";

  constructor(private readonly echo?: (text: string) => void) {}

  stdout(data: Uint8Array): void {
    const text = this.decoder.decode(data, { stream: true });
    this.pending += text;
    this.transcript += text;
    this.echo?.(text);
  }

  stderr(data: Uint8Array): void {
    this.stdout(data);
  }

  stdin(max: number): Uint8Array | null {
    if (this.queue.length === 0) return new Uint8Array(0);
    const chunk = this.queue.slice(0, max);
    this.queue = this.queue.subarray(chunk.length);
    return chunk;
  }

  type(text: string | Uint8Array): void {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    const next = new Uint8Array(this.queue.length + bytes.length);
    next.set(this.queue);
    next.set(bytes, this.queue.length);
    this.queue = next;
  }

  /** Bytes typed that the guest has not read yet. */
  get queued(): number {
    return this.queue.length;
  }

  /** Drops typed input the guest has not read (a restored world starts with none). */
  clearInput(): void {
    this.queue = new Uint8Array(0);
  }
}
