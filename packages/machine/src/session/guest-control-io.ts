import type { HostIo } from "../host-io.js";
import { ControlCode, ControlFilter } from "./guest-control.js";

/**
 * What a host without a monitor does with a guest's `save-world NAME` request: a string
 * refuses it (the guest gets that message as an error at once), "save" asks the runner to
 * save at the guest's next stop (`GuestControlIo.pendingSave`, then `answer`).
 */
export type SaveWorldPolicy = (name: string) => string | "save";

/**
 * The console's control channel (guest-control.ts) for hosts that run a machine without
 * `@amber/monitor`'s `WorldSession` (`amber run`, `amber resume`, bundles, `Session`): wraps the host's I/O so that the
 * guest's control lines never reach the user, every `save-world` request is answered
 * (saved or refused) so that Amber Lisp never waits for an answer that cannot come, and a
 * world that Lisp saved itself learns that it is the resumed one (ESC `r`).
 *
 * Saving needs the machine at rest: while a save is pending the wrapper gives the guest
 * no input and no way to wait for it, so `Machine.run` returns "stuck" where the guest
 * idles for the answer; the runner then saves and calls `answer`. Deterministic: the
 * answer reaches the guest at the same instruction on every run.
 */
export class GuestControlIo implements HostIo {
  private readonly filter = new ControlFilter();
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();
  /** Answers for the guest, served before the host's own input. */
  private queued: Uint8Array = new Uint8Array(0);
  /** A save-world request the runner has to act on (see the class comment). */
  pendingSave: string | undefined;
  /** The console's last unfinished line (the guest's prompt), kept with a saved world. */
  consoleTail = "";

  constructor(
    private readonly inner: HostIo,
    private readonly policy: SaveWorldPolicy,
    /** The world was saved by the guest's save-world: tell it that this is the resumed session. */
    resumed = false,
  ) {
    if (resumed) this.queue(ControlCode.resumed);
  }

  stdout(data: Uint8Array): void {
    const { shown, messages } = this.filter.filter(this.decoder.decode(data, { stream: true }));
    const nl = shown.lastIndexOf("\n");
    this.consoleTail = (nl < 0 ? this.consoleTail + shown : shown.slice(nl + 1)).slice(-256);
    const out = this.filter.touched ? this.encoder.encode(shown) : data;
    if (out.length > 0) this.inner.stdout(out);
    for (const m of messages) {
      if (!m.startsWith("save-world ")) continue;
      const name = m.slice("save-world ".length);
      const verdict = this.pendingSave === undefined ? this.policy(name) : "a save is already under way";
      if (verdict === "save") this.pendingSave = name;
      else this.queue(ControlCode.refused(verdict));
    }
  }

  stderr(data: Uint8Array): void {
    this.inner.stderr(data);
  }

  stdin(max: number): Uint8Array | null {
    if (this.queued.length > 0) {
      const chunk = this.queued.slice(0, max);
      this.queued = this.queued.slice(chunk.length);
      return chunk;
    }
    // Waiting for the runner to save: no input (not its end either), so the guest idles.
    if (this.pendingSave !== undefined) return new Uint8Array(0);
    return this.inner.stdin(max);
  }

  /** The host's wait for input, except while a save is pending (then `run` stops "stuck"). */
  get waitForInput(): ((ms: number) => void) | undefined {
    if (this.pendingSave !== undefined || this.inner.waitForInput === undefined) return undefined;
    return (ms) => this.inner.waitForInput?.(ms);
  }

  /** The runner saved the pending world (`error` undefined) or could not (why). */
  answer(error?: string): void {
    this.pendingSave = undefined;
    this.queue(error === undefined ? ControlCode.saved : ControlCode.refused(error));
  }

  private queue(code: string): void {
    const bytes = this.encoder.encode(code);
    const all = new Uint8Array(this.queued.length + bytes.length);
    all.set(this.queued);
    all.set(bytes, this.queued.length);
    this.queued = all;
  }
}
