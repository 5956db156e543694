import type { MessagePort, Worker } from "node:worker_threads";
import { RegistryError } from "../errors.js";
import type { HttpRequest, HttpResponse, NetworkFailure, SyncTransport } from "../http.js";

/**
 * The worker: performs one `fetch` per message and posts the answer on the reply port,
 * then wakes the waiting thread. Plain JavaScript (it is evaluated, not imported), and it
 * knows nothing of registries: every decision stays in the client's generators.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { port, signal } = workerData;
parentPort.on("message", async (req) => {
  let out;
  try {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, redirect: "follow" });
    const body = req.method === "HEAD" ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
    const headers = {};
    res.headers.forEach((v, k) => { headers[k.toLowerCase()] = v; });
    out = { status: res.status, headers, body, url: res.url || req.url };
  } catch (e) {
    const c = e && e.cause;
    out = { networkError: (c && (c.code || c.message)) || String(e && e.message) };
  }
  port.postMessage(out);
  const s = new Int32Array(signal);
  Atomics.store(s, 0, 1);
  Atomics.notify(s, 0);
});
`;

/**
 * A blocking HTTP transport for `runSync`: a worker thread runs `fetch` while this thread
 * waits on an Atomics flag. It is what a page fault on a remote world costs: the emulator
 * waits for the chunk as it waits for a disk read; the worker is unreferenced so it never
 * keeps the process alive. node:worker_threads is loaded with the first request (a CLI
 * that opens no remote world never pays for it).
 */
export class WorkerTransport implements SyncTransport {
  private worker: Worker | undefined;
  /** The port the worker answers on (this thread's end). */
  private replies: MessagePort | undefined;
  private readonly signal = new SharedArrayBuffer(4);
  private readonly flag = new Int32Array(this.signal);

  constructor(private readonly timeoutMs = 120_000) {}

  private start(): Worker {
    if (this.worker === undefined) {
      const { MessageChannel, Worker } = process.getBuiltinModule("node:worker_threads");
      const { port1, port2 } = new MessageChannel();
      this.worker = new Worker(WORKER, {
        eval: true,
        workerData: { port: port2, signal: this.signal },
        transferList: [port2],
      });
      this.worker.unref();
      port1.unref();
      this.replies = port1;
    }
    return this.worker;
  }

  exchange(req: HttpRequest): HttpResponse | NetworkFailure {
    const w = this.start();
    Atomics.store(this.flag, 0, 0);
    w.postMessage(req);
    if (Atomics.wait(this.flag, 0, 0, this.timeoutMs) === "timed-out")
      throw new RegistryError(
        "NETWORK",
        `no answer from ${new URL(req.url).host} in ${this.timeoutMs / 1000} s`,
      );
    const msg = process.getBuiltinModule("node:worker_threads").receiveMessageOnPort(this.replies!);
    if (msg === undefined)
      throw new RegistryError("NETWORK", `the fetch worker answered nothing for ${req.url}`);
    return msg.message as HttpResponse | NetworkFailure;
  }

  sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.replies?.close();
    this.replies = undefined;
  }
}
