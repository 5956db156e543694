import { parentPort, Worker, workerData } from "node:worker_threads";
import { compactCheckpointFile } from "@amber/checkpoint/node";
import { SECTION_SPECS } from "@amber/machine";
import { PROGRAM_WORKER_ARG, programEntry } from "../program-entry.js";

/** How long the REPL must be idle before saved worlds are recompressed (AMBER_IDLE_COMPACT_MS overrides). */
export const IDLE_COMPACT_MS = 5000;

/** The idle delay: AMBER_IDLE_COMPACT_MS when it is a whole number of milliseconds, else the default. */
export function idleCompactDelay(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.AMBER_IDLE_COMPACT_MS;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : IDLE_COMPACT_MS;
}

interface CompactData {
  amberCompact: { file: string };
}
type CompactReply = { ok: true; digest: string; size: number } | { ok: false; message: string };

/** True in a worker started by the idle compactor (bin.ts then calls `serveCompact`). */
export function isCompactWorker(): boolean {
  return parentPort !== null && typeof (workerData as Partial<CompactData> | null)?.amberCompact === "object";
}

/** The worker's side: recompresses one file in place (temporary file, fsync, rename) and answers. */
export function serveCompact(): void {
  const { file } = (workerData as CompactData).amberCompact;
  let reply: CompactReply;
  try {
    const { digest, size } = compactCheckpointFile(file, { sections: SECTION_SPECS });
    reply = { ok: true, digest, size };
  } catch (e) {
    reply = { ok: false, message: (e as Error).message };
  }
  parentPort!.postMessage(reply);
}

/** What the compactor needs of the world store: the files still stored with a fast codec. */
export interface CompactTargets {
  /** Saved worlds (name, file) whose pages are stored with a fast codec, oldest first. */
  fastWorlds(): { name: string; file: string }[];
}

/**
 * Save fast, compress later: once the REPL has been idle for `delayMs` (no line typed, the
 * guest waiting, no monitor command running), recompresses the saved worlds written with a
 * fast codec to zstd, one file at a time, keeping each digest. The work runs in a worker
 * thread of the bundled program, so the console never waits for it; run from TypeScript
 * sources (tests), where no worker can load this module, each file is compacted on the
 * main thread between events instead (the console waits for that one file).
 *
 * `busy()` marks activity and returns once the file in flight (if any) is whole, so a
 * monitor command (`:save`, `:restore`, `:compact`) never meets a half-compacted world;
 * `stop()` (quitting) ends the worker at once: the rename is atomic, so a world is either
 * as saved or compacted, and a temporary file left behind is ignored and removed by the
 * next write of that world.
 */
export class IdleCompactor {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private worker: Worker | undefined;
  private stopped = false;
  /** Nothing was left to compact at the last pass: no new pass until something is saved. */
  private drained = false;
  /** Files a pass failed on (damaged, unreadable): not tried again this session. */
  private readonly failed = new Set<string>();
  /** The bundled program (a worker runs it), or undefined when running from sources. */
  private readonly entry: string | undefined;

  constructor(
    private readonly targets: CompactTargets,
    public delayMs: number,
    /** Whether the guest and the monitor are idle right now. */
    private readonly quiet: () => boolean,
    /** Talk (one line per file compacted). */
    private readonly say: (text: string) => void,
    public enabled = true,
  ) {
    this.entry = programEntry();
  }

  /** Whether files run in a worker thread (false: on the main thread, from sources). */
  get threaded(): boolean {
    return this.entry !== undefined;
  }

  /** Something happened (a line typed, a command run): the idle clock starts again. */
  poke(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A world may have been saved: the next idle pass looks again. */
  saved(): void {
    this.drained = false;
  }

  /** The REPL looks idle: starts the clock (the pass begins if it is still idle then). */
  idle(): void {
    if (!this.enabled || this.stopped || this.drained || this.timer !== undefined || this.inFlight) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.next();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Marks activity and waits for the file in flight, if any, to be whole. */
  async busy(): Promise<void> {
    this.poke();
    while (this.inFlight !== undefined) await this.inFlight;
  }

  /** Quitting: the worker ends at once; no new pass starts. */
  stop(): void {
    this.stopped = true;
    this.poke();
    void this.worker?.terminate();
  }

  /** Compacts the next fast world, then the one after while the REPL stays idle. */
  private next(): void {
    if (!this.enabled || this.stopped || this.inFlight || !this.quiet()) return;
    let target: { name: string; file: string } | undefined;
    try {
      target = this.targets.fastWorlds().find((w) => !this.failed.has(w.file));
    } catch {
      target = undefined;
    }
    if (target === undefined) {
      this.drained = true;
      return;
    }
    const { name, file } = target;
    this.inFlight = this.compact(file)
      .then(
        (r) => {
          if (r.ok) this.say(`compacted ${name} in the background (zstd, digest kept)\n`);
          else if (!this.stopped) {
            this.failed.add(file);
            this.say(`background compaction of ${name} failed: ${r.message}\n`);
          }
        },
        () => {
          this.failed.add(file);
        },
      )
      .finally(() => {
        this.inFlight = undefined;
        this.worker = undefined;
        // Still idle: the next file after a breath (the timer is cleared by any activity).
        if (!this.stopped && this.timer === undefined) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.next();
          }, 0);
          this.timer.unref();
        }
      });
  }

  private compact(file: string): Promise<CompactReply> {
    if (this.entry === undefined) {
      return new Promise((resolve) =>
        setImmediate(() => {
          try {
            const { digest, size } = compactCheckpointFile(file, { sections: SECTION_SPECS });
            resolve({ ok: true, digest, size });
          } catch (e) {
            resolve({ ok: false, message: (e as Error).message });
          }
        }),
      );
    }
    return new Promise((resolve) => {
      const data: CompactData = { amberCompact: { file } };
      const worker = new Worker(this.entry!, { workerData: data, argv: [PROGRAM_WORKER_ARG] });
      this.worker = worker;
      worker.unref();
      let answered = false;
      worker.on("message", (r: CompactReply) => {
        answered = true;
        resolve(r);
      });
      worker.on("error", (e) => {
        answered = true;
        resolve({ ok: false, message: e.message });
      });
      worker.on("exit", () => {
        if (!answered) resolve({ ok: false, message: "its thread ended before it finished" });
      });
    });
  }
}
