import { type HostIo, InputLog } from "@amber/machine";

/**
 * The guest console of a REPL session: output goes to a callback as it is produced,
 * input is queued by the host (a line at a time, as the user presses Enter) and handed
 * to the UART when the guest asks. An empty queue means "nothing yet" (the guest waits),
 * never end of input, until `close()`.
 *
 * Every byte the guest reads goes through `log`, an `InputLog` that notes the instruction
 * at which the guest took it: a debugger going back in time (`:gdb`, reverse execution)
 * re-runs the guest on the very bytes at the very instructions, so it runs the same. The
 * session sets `log.steps`; consumed input is dropped from the log when no time line needs
 * it (`trimLog`).
 */
export class ConsoleIo implements HostIo {
  private queue: Uint8Array = new Uint8Array(0);
  private closed = false;
  /** Bytes the guest has written (stdout and stderr), counting from the start. */
  written = 0;
  /** The guest's input as logged against its instruction count (see the class comment). */
  readonly log: InputLog;

  constructor(
    private readonly onOutput: (data: Uint8Array) => void,
    private readonly onError: (data: Uint8Array) => void = onOutput,
  ) {
    this.log = new InputLog({
      stdout: (data) => this.onOutput(data),
      stderr: (data) => this.onError(data),
      stdin: (max) => this.take(max),
    });
  }

  stdout(data: Uint8Array): void {
    this.written += data.length;
    this.log.stdout(data);
  }

  stderr(data: Uint8Array): void {
    this.written += data.length;
    this.log.stderr(data);
  }

  stdin(max: number): Uint8Array | null {
    return this.log.stdin(max);
  }

  private take(max: number): Uint8Array | null {
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

  /** Input the guest has not read yet: queued bytes, or logged ones a rewound guest reads again. */
  get pending(): number {
    const log = this.log;
    let logged = 0;
    for (let i = log.cursor; i < log.events.length; i++) {
      const e = log.events[i]!;
      if (e.kind === "stdin") logged += e.bytes?.length ?? 1;
    }
    return this.queue.length + logged;
  }

  /**
   * Forgets the input the guest has consumed (nothing goes back in time past now), so the
   * log does not grow for as long as the session lasts; with `all`, unconsumed logged
   * input too (the world was replaced).
   */
  trimLog(all = false): void {
    const log = this.log;
    log.events.splice(0, all ? log.events.length : log.cursor);
    log.cursor = 0;
    log.diverged = undefined;
    if (all) log.muted = () => false;
  }

  /** No more input will come: once the queue drains the guest sees end of input. */
  close(): void {
    this.closed = true;
  }
}
