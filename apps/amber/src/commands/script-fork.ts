/**
 * `Session.fork` for `amber script`: each copy is a `Session` resumed in a worker thread
 * from the same image, driven by messages. The worker runs this very program (the bundled
 * CLI), which sees `workerData.amberFork` and serves the session instead of parsing a
 * command line (bin.ts).
 */
import { fileURLToPath } from "node:url";
import { parentPort, Worker, workerData } from "node:worker_threads";
import {
  type ExpectOptions,
  type ForkedSession,
  type Forker,
  Session,
  type SessionOptions,
} from "@amber/machine";
import { PROGRAM_WORKER_ARG, programEntry } from "../program-entry.js";

/** What a forked worker is started with. */
interface ForkData {
  amberFork: { image: Uint8Array; index: number; jit?: boolean; pending?: string; name: string };
}

type Pattern = string | { source: string; flags: string };

interface Request {
  id: number;
  method: "expect" | "expectExit" | "type" | "save" | "restore" | "transcript" | "instructions" | "close";
  args: unknown[];
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/** True in a worker started by `forker` (bin.ts then calls `serveFork`). */
export function isForkWorker(): boolean {
  return parentPort !== null && typeof (workerData as Partial<ForkData> | null)?.amberFork === "object";
}

/** The worker's side: resumes the image and answers requests until `close`. */
export async function serveFork(): Promise<void> {
  const { image, index, jit, pending, name } = (workerData as ForkData).amberFork;
  const port = parentPort!;
  const session = await Session.resume(image, { jit, pending, name: `${name}#${index}` });
  port.on("message", async (r: Request) => {
    let reply: Reply;
    try {
      reply = { id: r.id, ok: true, value: await perform(session, r) };
    } catch (e) {
      reply = { id: r.id, ok: false, message: (e as Error).message };
    }
    port.postMessage(reply);
    if (r.method === "close") port.close();
  });
}

async function perform(s: Session, r: Request): Promise<unknown> {
  switch (r.method) {
    case "expect": {
      const p = r.args[0] as Pattern;
      return s.expect(typeof p === "string" ? p : new RegExp(p.source, p.flags), r.args[1] as ExpectOptions);
    }
    case "expectExit":
      return s.expectExit(r.args[0] as ExpectOptions);
    case "type":
      return s.type(r.args[0] as string);
    case "save":
      return s.save(r.args[0] as string);
    case "restore":
      return s.restore(r.args[0] as string);
    case "transcript":
      return s.transcript;
    case "instructions":
      return s.instructions;
    case "close":
      return s.close();
  }
}

/** A forker whose copies run in worker threads of this program; `workers` collects them so they can be ended. */
export function workerForker(workers: Set<Worker>): Forker {
  // The bundle's entry (its chunks are modules, not programs); this file from sources.
  const entry = programEntry() ?? fileURLToPath(import.meta.url);
  return async (image: Uint8Array, n: number, options: SessionOptions) =>
    Array.from({ length: n }, (_, index) => {
      const data: ForkData = {
        amberFork: {
          image,
          index,
          jit: options.jit,
          pending: options.pending,
          name: options.name ?? "world",
        },
      };
      const worker = new Worker(entry, { workerData: data, argv: [PROGRAM_WORKER_ARG] });
      workers.add(worker);
      return remote(worker, index, () => workers.delete(worker));
    });
}

function remote(worker: Worker, index: number, ended: () => void): ForkedSession {
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let failure: Error | undefined;
  worker.on("message", (r: Reply) => {
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    if (r.ok) w?.resolve(r.value);
    else w?.reject(new Error(r.message));
  });
  const fail = (e: Error) => {
    failure = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", () => {
    ended();
    fail(new Error(`fork #${index}: its thread has ended`));
  });
  const call = <T>(method: Request["method"], ...args: unknown[]): Promise<T> => {
    if (failure !== undefined) return Promise.reject(failure);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies Request);
    });
  };
  return {
    index,
    expect: (pattern, options) =>
      call(
        "expect",
        typeof pattern === "string" ? pattern : { source: pattern.source, flags: pattern.flags },
        options,
      ),
    expectExit: (options) => call("expectExit", options),
    type: (text) => call("type", text),
    save: (name) => call("save", name),
    restore: (name) => call("restore", name),
    transcript: () => call("transcript"),
    instructions: () => call("instructions"),
    close: async () => {
      await call("close");
      await worker.terminate();
    },
  };
}
