import type { Server, Socket } from "node:net";

/**
 * The body of the thread that owns a socket back end (see socket-serial.ts). It runs as
 * the source text of this function (`new Worker(..., { eval: true })`), so it uses
 * nothing from outside it: its modules come through `process.getBuiltinModule` (a
 * bundler rewrites `require`), the ring's layout is
 * repeated as numbers (input-ring.ts: written 0, read 1, state 2, changes 3; flags
 * connected 1, ended 2, failed 4; 16 header bytes).
 *
 * It connects (or listens and takes the first client, as QEMU's `server`), copies what the
 * peer sends into the ring as far as it has room (pausing the socket otherwise: flow
 * control, nothing dropped), writes what the machine's thread posts to the peer, and
 * marks end of input when the peer goes away. Status lines go to the main thread on
 * `status` (read there with receiveMessageOnPort while it waits).
 */
type WaitAsync = (
  a: Int32Array,
  i: number,
  v: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

export function socketWorkerMain(): void {
  const { workerData, parentPort } = process.getBuiltinModule("node:worker_threads");
  const net = process.getBuiltinModule("node:net");
  const fs = process.getBuiltinModule("node:fs");
  const { buffer, spec, status } = workerData as {
    buffer: SharedArrayBuffer;
    spec:
      | { kind: "tcp"; host: string; port: number; server: boolean }
      | { kind: "unix"; path: string; server: boolean };
    status: { postMessage(m: unknown): void };
  };
  const ctrl = new Int32Array(buffer, 0, 4);
  const data = new Uint8Array(buffer, 16);
  const mask = data.length - 1;
  const pending: Uint8Array[] = [];
  let socket: Socket | null = null;
  let server: Server | null = null;
  let paused = false;
  /** The peer sends no more (end of input); it may still read until `closed`. */
  let peerGone = false;
  let closed = false;
  let closing = false;

  const changed = (): void => {
    Atomics.add(ctrl, 3, 1);
    Atomics.notify(ctrl, 3);
  };
  const flag = (f: number): void => {
    Atomics.or(ctrl, 2, f);
    changed();
  };
  const fail = (message: string): void => {
    status.postMessage({ error: message });
    flag(4);
  };

  const pump = (): void => {
    while (pending.length > 0) {
      const w = Atomics.load(ctrl, 0);
      const room = data.length - ((w - Atomics.load(ctrl, 1)) | 0);
      if (room <= 0) break;
      const chunk = pending[0]!;
      const n = Math.min(room, chunk.length);
      for (let i = 0; i < n; i++) data[(w + i) & mask] = chunk[i]!;
      Atomics.store(ctrl, 0, (w + n) | 0);
      if (n === chunk.length) pending.shift();
      else pending[0] = chunk.subarray(n);
      changed();
    }
    if (pending.length > 0) {
      // Full: hold the peer back until the machine's thread has read some.
      if (!paused && socket !== null) {
        socket.pause();
        paused = true;
      }
      // Atomics.waitAsync (Node ≥ 16; not in this TypeScript lib yet).
      const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
      const waiting = waitAsync(ctrl, 1, Atomics.load(ctrl, 1));
      if (waiting.async) waiting.value.then(pump);
      else setImmediate(pump);
      return;
    }
    if (paused && socket !== null && !peerGone) {
      paused = false;
      socket.resume();
    }
    if (peerGone) flag(2);
  };

  const attach = (s: Socket): void => {
    socket = s;
    s.on("data", (chunk: Uint8Array) => {
      pending.push(new Uint8Array(chunk));
      pump();
    });
    const gone = (): void => {
      if (peerGone) return;
      peerGone = true;
      status.postMessage({ note: "disconnected" });
      pump();
      if (server !== null) server.close();
    };
    s.on("end", gone);
    s.on("close", () => {
      closed = true;
      gone();
    });
    s.on("error", () => {
      closed = true;
      gone();
    });
    flag(1);
  };

  const where = spec.kind === "unix" ? `unix:${spec.path}` : `tcp:${spec.host}:${spec.port}`;
  try {
    open();
  } catch (e) {
    fail(`cannot open ${where}: ${(e as Error).message}`);
  }

  function open(): void {
    if (spec.server) {
      const listener = net.createServer({ allowHalfOpen: true });
      server = listener;
      listener.on("connection", (s: Socket) => {
        if (socket !== null) {
          s.destroy(); // one client at a time, as QEMU
          return;
        }
        attach(s);
      });
      listener.on("error", (e: Error) => fail(`cannot listen on ${where}: ${e.message}`));
      const listening = (): void => {
        const a = listener.address();
        const at = typeof a === "string" ? `unix:${a}` : `tcp:${a?.address}:${a?.port}`;
        status.postMessage({ listening: at });
        changed();
      };
      if (spec.kind === "unix") {
        // A socket file left by an earlier run is replaced, as QEMU does.
        try {
          if (fs.statSync(spec.path).isSocket()) fs.unlinkSync(spec.path);
        } catch {}
        listener.listen(spec.path, listening);
      } else listener.listen(spec.port, spec.host, listening);
    } else {
      const s =
        spec.kind === "unix"
          ? net.connect({ path: spec.path, allowHalfOpen: true })
          : net.connect({ host: spec.host, port: spec.port, allowHalfOpen: true });
      const refused = (e: Error): void => fail(`cannot connect to ${where}: ${e.message}`);
      s.once("error", refused);
      s.once("connect", () => {
        s.off("error", refused);
        attach(s);
      });
    }
  }

  parentPort?.on("message", (m: Uint8Array | "close") => {
    if (m === "close") {
      if (closing) return;
      closing = true;
      const done = (): void => {
        if (server !== null) server.close();
        if (spec.kind === "unix" && spec.server) {
          try {
            fs.unlinkSync(spec.path);
          } catch {}
        }
        process.exit(0);
      };
      if (socket !== null && !closed) socket.end(done);
      else done();
      return;
    }
    if (socket !== null && !closed) socket.write(m);
  });
}
