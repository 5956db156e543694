import type * as net from "node:net";
import {
  Debugger,
  type GdbEnd,
  GdbServer,
  IdlePacer,
  type InputLog,
  type Machine,
  type RunOutcome,
  TimeLine,
} from "@amber/machine";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/** `[HOST:]PORT` of `--gdb`: where the gdb server listens (default host 127.0.0.1). */
export function parseGdbAddress(spec: string, what = "--gdb"): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(spec);
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError(`${what}: cannot read "${spec}" as [HOST:]PORT (a port 0-65535)`, ExitCode.Usage);
  }
  return { host: m[1] === undefined || m[1] === "" ? "127.0.0.1" : m[1], port };
}

/** Steps per slice while the guest runs with no client attached. */
const FREE_SLICE = 1 << 21;
/**
 * How often a guest waiting for input under gdb's `continue` looks for it (console input
 * read from stdin, which has no event to wake on; the REPL's lines and gdb's Ctrl-C wake it at once).
 */
const IDLE_POLL_MS = 50;

/**
 * Serves the gdb remote protocol for `machine` on a TCP port (one client at a time) and
 * resolves with how the run ended. Everything runs on the event loop in slices: the guest
 * (free, or under the debugger), the socket, Ctrl-C. With `wait`, the guest does not start
 * before a client attaches (as QEMU's -S); otherwise it runs, and stops when one attaches.
 * A client that detaches lets the guest run on; one that kills it ends the run.
 */
export function serveGdb(
  env: CliEnv,
  machine: Machine,
  input: InputLog,
  address: { host: string; port: number },
  options: { wait: boolean; maxSteps: number; onListening?: (port: number) => void },
): Promise<RunOutcome | { kind: "killed" }> {
  // Without endOnDetach and control, a serving ends only by a kill or by the run's end.
  return listenGdb(env, machine, input, address, options) as Promise<RunOutcome | { kind: "killed" }>;
}

/** How a `listenGdb` serving ended: the run's end, a kill, a detach (`endOnDetach`), or `stop()`. */
export type GdbServing = RunOutcome | { kind: "killed" } | { kind: "detached" } | { kind: "stopped" };

/** `serveGdb` with the REPL's options (`:gdb`): see there. */
export function listenGdb(
  env: Pick<CliEnv, "stderr">,
  machine: Machine,
  input: InputLog,
  address: { host: string; port: number },
  options: {
    wait: boolean;
    maxSteps: number;
    onListening?: (port: number) => void;
    /** The REPL's `:gdb`: a detach ends the serving (the machine goes back to the REPL). */
    endOnDetach?: boolean;
    /**
     * The REPL's `:gdb`: a guest waiting for input with no client attached idles (until
     * `wake`) instead of ending the run.
     */
    idleWhenStuck?: boolean;
    /** Gets the handles to wake an idle guest (input came) and to stop serving. */
    control?: (handles: { wake(): void; stop(): void }) => void;
    /** How errors name the option (default `--gdb`). */
    what?: string;
  },
): Promise<GdbServing> {
  const timeline = new TimeLine(machine, input);
  const debug = new Debugger(machine, timeline);
  // Waiting for input must not block the event loop (gdb's socket, its Ctrl-C): the guest
  // is reported stuck instead, and a continue waits for input by polling (see IDLE_POLL_MS).
  const waitForInput = input.waitForInput;
  input.waitForInput = undefined;
  return new Promise((resolve, reject) => {
    let client: { socket: net.Socket; server: GdbServer } | undefined;
    // Under gdb's continue, a guest idle until its timer waits for it in wall time (see
    // IdlePacer) rather than running tick after tick; replayed history runs as it ran.
    const pacer = new IdlePacer(
      machine,
      () => client?.server.running === true && machine.hart.steps >= timeline.frontier,
    );
    // (The REPL's own pacing, if any, comes back when gdb is done.)
    const hostGate = machine.idleGate;
    machine.idleGate = pacer.gate;
    let freeRunning = !options.wait;
    let scheduled = false;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let finished = false;

    const finish = (outcome: GdbServing): void => {
      if (finished) return;
      finished = true;
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      machine.idleGate = hostGate;
      // A skip to the timer still deferred is made now, before anyone saves the machine.
      if (machine.timerHeld) machine.run(0);
      input.waitForInput = waitForInput;
      timeline.dispose();
      client?.socket.destroy();
      listener.close();
      resolve(outcome);
    };

    const pump = (): void => {
      scheduled = false;
      idleTimer = undefined;
      if (finished) return;
      if (client !== undefined) {
        const server = client.server;
        if (!server.tick()) return;
        // Waiting for input or for its timer: look again after a pause (input or Ctrl-C
        // wakes it sooner), or when the timer is due.
        if (server.idle) {
          const ms = Math.min(IDLE_POLL_MS, Math.ceil(pacer.msLeft()));
          idleTimer ??= setTimeout(pump, ms);
        } else schedule();
        return;
      }
      if (!freeRunning) return;
      const left = options.maxSteps - machine.hart.steps;
      const outcome = timeline.run(Math.min(FREE_SLICE, left));
      if (outcome.kind === "stuck" && options.idleWhenStuck) return;
      if (outcome.kind !== "budget" || left <= FREE_SLICE) {
        finish(outcome);
        return;
      }
      schedule();
    };
    const schedule = (): void => {
      if (idleTimer !== undefined) {
        clearTimeout(idleTimer);
        idleTimer = undefined;
      }
      if (scheduled) return;
      scheduled = true;
      setImmediate(pump);
    };

    // node:net on demand: loading it was a few ms of every `amber run` and `amber resume`.
    const listener = process.getBuiltinModule("node:net").createServer((socket) => {
      if (client !== undefined) {
        socket.end();
        return;
      }
      socket.setNoDelay(true);
      env.stderr(`amber: gdb attached from ${socket.remoteAddress}:${socket.remotePort}\n`);
      const server = new GdbServer(
        debug,
        (bytes) => socket.write(bytes),
        (how: GdbEnd) => {
          if (how === "kill") {
            finish({ kind: "killed" });
            return;
          }
          client = undefined;
          socket.end();
          if (options.endOnDetach) {
            finish({ kind: "detached" });
            return;
          }
          freeRunning = true;
          schedule();
        },
      );
      client = { socket, server };
      socket.on("data", (data) => {
        server.receive(new Uint8Array(data.buffer, data.byteOffset, data.length));
        if (server.running) schedule();
      });
      socket.on("close", () => {
        if (client?.socket !== socket) return;
        client = undefined;
        // The guest ended under gdb (it saw W): so does the run.
        const code = machine.exited;
        if (code !== undefined) {
          finish({ kind: "exited", code });
          return;
        }
        // A client gone without detaching: the guest stays stopped for the next one.
        freeRunning = false;
      });
      socket.on("error", () => {});
    });
    listener.on("error", (e) => {
      reject(
        new UserError(
          `${options.what ?? "--gdb"} ${address.host}:${address.port}: cannot listen: ${(e as Error).message}`,
          ExitCode.Failure,
        ),
      );
    });
    listener.listen(address.port, address.host, () => {
      const port = (listener.address() as net.AddressInfo).port;
      env.stderr(`amber: gdb server listening on ${address.host}:${port}\n`);
      options.onListening?.(port);
      options.control?.({ wake: schedule, stop: () => finish({ kind: "stopped" }) });
      schedule();
    });
  });
}
