/**
 * Lines typed by the user, consumed one at a time by the REPL loop (guest input,
 * monitor commands and answers to questions alike, in the order they were typed, even
 * when a pipe delivers them all at once).
 */
export class LineQueue {
  private readonly lines: string[] = [];
  private ended = false;
  private waiter: ((line: string | undefined) => void) | undefined;
  /**
   * While set, lines pushed are offered to it first: true takes the line (it is not
   * queued). The REPL's `:gdb` sends console lines typed meanwhile to the guest at once.
   */
  intercept: ((line: string) => boolean) | undefined;

  /** Lines waiting to be taken. */
  get pending(): number {
    return this.lines.length;
  }

  push(line: string): void {
    if (this.intercept?.(line) === true) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w(line);
    } else this.lines.push(line);
  }

  /** No more lines: `next()` gives undefined once the queue is empty. */
  end(): void {
    this.ended = true;
    if (this.waiter !== undefined && this.lines.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w(undefined);
    }
  }

  /** Input ended after `end()` but may start again (a terminal re-attached after Ctrl-D). */
  reopen(): void {
    this.ended = false;
  }

  next(): Promise<string | undefined> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
