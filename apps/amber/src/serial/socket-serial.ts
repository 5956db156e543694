import type { HostIo } from "@amber/machine";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";
import { createRingBuffer, RING_CONNECTED, RING_FAILED, RingReader } from "./input-ring.js";
import type { SerialSpec } from "./serial-spec.js";
import { serialText } from "./serial-spec.js";
import { socketWorkerMain } from "./socket-worker.js";

/** A console back end the CLI opened: guest I/O, and `close()` once the run is over. */
export interface SerialPort extends HostIo {
  close(): void;
}

/**
 * The guest's console on a socket (`--serial tcp:…|unix:…[,server]`). A worker thread
 * owns the socket, so the machine never waits for it: input comes through a ring of
 * shared memory the UART polls, output is posted to the worker. Opening waits for the
 * connection (a server waits for its first client, as QEMU does), telling on stderr
 * where it listens. The peer going away is end of input; output after it is dropped.
 */
export function openSocketSerial(
  spec: Extract<SerialSpec, { kind: "tcp" | "unix" }>,
  talk: (line: string) => void,
): SerialPort {
  // node:worker_threads on demand: loading it was several ms of every `amber` start.
  const { MessageChannel, receiveMessageOnPort, Worker } = process.getBuiltinModule("node:worker_threads");
  const buffer = createRingBuffer();
  const ring = new RingReader(buffer);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(`(${socketWorkerMain.toString()})()`, {
    eval: true,
    workerData: { buffer, spec, status: port2 },
    transferList: [port2],
  });
  const messages = (): void => {
    for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) {
      const msg = m.message as { listening?: string; error?: string; note?: string };
      if (msg.listening !== undefined) talk(`serial: waiting for a connection on ${msg.listening}`);
      if (msg.error !== undefined) error = msg.error;
    }
  };
  let error: string | undefined;
  // Connected (or failed) before the machine starts, as QEMU's -serial waits.
  while ((ring.state & (RING_CONNECTED | RING_FAILED)) === 0) {
    ring.wait(100);
    messages();
  }
  messages();
  if ((ring.state & RING_FAILED) !== 0) {
    void worker.terminate();
    throw new UserError(`--serial ${serialText(spec)}: ${error ?? "failed"}`, ExitCode.Failure);
  }
  talk(`serial: connected on ${serialText(spec)}`);
  let closed = false;
  return {
    stdout: (data) => {
      if (!closed) worker.postMessage(data.slice());
    },
    stderr: (data) => {
      process.stderr.write(data);
    },
    stdin: (max) => ring.read(max),
    waitForInput: (ms) => ring.wait(ms),
    close: () => {
      if (closed) return;
      closed = true;
      // The worker flushes what was posted, closes the socket and ends.
      worker.postMessage("close");
      port1.close();
    },
  };
}
