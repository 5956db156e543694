/**
 * Compiles WebAssembly modules on a worker thread, for the wasm back end's regions
 * (`wasm-cache.ts`): `new WebAssembly.Module` runs there instead of on the thread running
 * the guest, and the module comes back through a message port (V8 shares a module's
 * compiled code between the threads of a process: nothing is compiled twice). The run
 * loop is synchronous, so finished modules are picked up by polling the port
 * (`receiveMessageOnPort`, Node's, which never waits) between region entries; meanwhile
 * the interpreter runs the region's code, which computes the same thing.
 *
 * One worker per process, started when first asked for, shared by every cache of every
 * hart, and `unref`'d so that it never keeps a process alive. Until it has started (tens
 * of milliseconds of its own), callers compile synchronously, as they do where there is
 * no `worker_threads` (browsers, Deno without it, a host that refuses the worker): then
 * `backgroundCompiler()` is undefined.
 */
export interface BackgroundCompiler {
  /** Whether the worker has started: until then, compile synchronously. */
  readonly ready: boolean;
  /** Requests not answered yet. */
  readonly pending: number;
  /** Modules delivered so far (for statistics and tests). */
  readonly delivered: number;
  /**
   * Compiles `bytes` on the worker; `done` gets the module (undefined if it failed to
   * compile) from a later `poll()`, never before `request` returns.
   */
  request(bytes: Uint8Array, done: (module: WebAssembly.Module | undefined) => void): void;
  /** Delivers every finished compile (calls its `done`); never waits. */
  poll(): void;
}

interface Port {
  postMessage(message: unknown): void;
}

interface WorkerThreads {
  MessageChannel: new () => { port1: Port; port2: Port };
  Worker: new (
    code: string,
    options: { eval: true; workerData: unknown; transferList: unknown[] },
  ) => { unref(): void; on(event: string, listener: () => void): unknown };
  receiveMessageOnPort(port: Port): { message: unknown } | undefined;
}

/** The worker's program (CommonJS, run with `eval`): compile what comes, send it back. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const port = workerData.port;
port.on("message", (m) => {
  let module;
  try {
    module = new WebAssembly.Module(m.bytes);
  } catch {
    module = undefined;
  }
  port.postMessage({ id: m.id, module });
});
port.postMessage({ id: -1 });
`;

/** The id of the worker's first message, saying it has started. */
const READY = -1;

interface Reply {
  id: number;
  module: WebAssembly.Module | undefined;
}

class WorkerCompiler implements BackgroundCompiler {
  ready = false;
  /** Set when the worker failed or exited: nothing more is asked of it (callers compile themselves). */
  failed = false;
  delivered = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, (module: WebAssembly.Module | undefined) => void>();

  constructor(
    private readonly threads: WorkerThreads,
    private readonly port: Port,
  ) {}

  get pending(): number {
    return this.waiting.size;
  }

  request(bytes: Uint8Array, done: (module: WebAssembly.Module | undefined) => void): void {
    const id = this.nextId++;
    this.waiting.set(id, done);
    this.port.postMessage({ id, bytes });
  }

  poll(): void {
    for (;;) {
      const received = this.threads.receiveMessageOnPort(this.port);
      if (received === undefined) return;
      const { id, module } = received.message as Reply;
      if (id === READY) {
        this.ready = !this.failed;
        continue;
      }
      const done = this.waiting.get(id);
      if (done === undefined) continue;
      this.waiting.delete(id);
      this.delivered++;
      done(module instanceof WebAssembly.Module ? module : undefined);
    }
  }
}

/** undefined before the first call; null where no worker can be started. */
let shared: WorkerCompiler | null | undefined;

/** The process's background compiler (started now if need be), or undefined where there is none. */
export function backgroundCompiler(): BackgroundCompiler | undefined {
  if (shared === undefined) shared = startWorker();
  shared?.poll();
  return shared ?? undefined;
}

function startWorker(): WorkerCompiler | null {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (typeof get !== "function" || typeof WebAssembly !== "object") return null;
  try {
    const threads = get("node:worker_threads") as WorkerThreads | undefined;
    if (threads === undefined) return null;
    const { port1, port2 } = new threads.MessageChannel();
    const worker = new threads.Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: port2 },
      transferList: [port2],
    });
    const compiler = new WorkerCompiler(threads, port1);
    // (Heard only when the event loop turns; requests it left unanswered are then
    // compiled by their callers, see WasmBlockCache.)
    const stop = (): void => {
      compiler.failed = true;
      compiler.ready = false;
    };
    worker.on("error", stop);
    worker.on("exit", stop);
    worker.unref();
    (port1 as unknown as { unref?: () => void }).unref?.();
    return compiler;
  } catch {
    return null;
  }
}
