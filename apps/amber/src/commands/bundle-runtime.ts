/**
 * What runs inside a bundle (`amber bundle`): opens the world held in the payload, checks
 * it (its digest against the manifest, every hash in it, each disk's base against the
 * fingerprint the world recorded) and runs it on, in slices, so the host stays responsive.
 * No Node API: the same code runs in Node (see bundle-terminal.ts) and in browsers.
 */
import { CheckpointReader, initCheckpoint, MemoryBlockFile } from "@amber/checkpoint";
import { type Image, MemoryImageHost, openImage } from "@amber/image";
import { SEMIHOST_POST, SEMIHOST_PRE } from "@amber/isa";
import { type HostIo, Machine, SECTION_SPECS } from "@amber/machine";
import { GuestControlIo } from "@amber/monitor";
import { BundleError, openBundle } from "./bundle-container.js";
import { describeOutcome } from "./bundle-outcome.js";

/** Section in which `amber repl` keeps the console's unfinished last line (repl/world-session.ts). */
const CONSOLE_SECTION = "repl-console";
/** Wall time aimed at for one slice of guest run. */
const SLICE_MS = 15;

/** How a bundle talks to its host. */
export interface BundleStartOptions {
  /** Guest console (and semihosting stdout) bytes. Default: nothing is shown. */
  stdout?: (bytes: Uint8Array) => void;
  /** Semihosting stderr bytes. Default: `stdout`. */
  stderr?: (bytes: Uint8Array) => void;
  /**
   * The arguments after the bundle's name. A semihosting program (its RAM holds the
   * semihosting call sequence and it has not set the UART up for input) that has not asked
   * for its command line yet (saved before its SYS_GET_CMDLINE) gets them there, after the
   * argv[0] it was run with; any other world gets them typed into the console, joined by
   * spaces, as one line, before any other input.
   */
  args?: readonly string[];
  /** Compile hot guest code to JavaScript (default true). */
  jit?: boolean;
}

/** How a bundled world ended. */
export interface BundleExit {
  /** The guest's exit status, or 126 when it stopped on a trap or waits for input that cannot come. */
  code: number;
  /** Why, when the guest did not power off itself. */
  message?: string;
}

/** A world running from a bundle. */
export interface RunningBundle {
  /** The world's name, digest and instruction count, as the manifest gives them. */
  readonly name: string;
  readonly digest: string;
  /** Guest instructions executed so far. */
  readonly instructions: number;
  /** Sends console input. */
  type(input: string | Uint8Array): void;
  /** No more input: once the guest has read what is queued it sees end of input. */
  endInput(): void;
  /** Stops running (the promise `exited` then never settles). */
  stop(): void;
  readonly exited: Promise<BundleExit>;
}

/** Whether the guest has set the UART up to interrupt it on input: its console is the UART. */
function readsUart(reader: CheckpointReader): boolean {
  const ier = reader.section("uart0").fields.ier;
  return typeof ier === "number" && (ier & 1) !== 0;
}

/**
 * Whether the world's RAM holds the semihosting call sequence (`slli x0,x0,0x1f; ebreak;
 * srai x0,x0,7`, at any 2-byte boundary): its program asks the host for things, its command line
 * among them. Reads every page present in the world.
 */
function callsSemihosting(reader: CheckpointReader): boolean {
  const ram = reader.findSegment("ram");
  if (ram === undefined) return false;
  let previous: Uint8Array | undefined;
  let previousPage = -2;
  for (const p of ram.presentPages()) {
    const page = ram.readPage(p);
    // The sequence may start in the last 8 bytes of the page before.
    const bytes =
      previous !== undefined && previousPage === p - 1
        ? concat(previous.subarray(previous.length - 8), page)
        : page;
    const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at + 12 <= bytes.length; at += 2) {
      if (
        words.getUint32(at, true) === SEMIHOST_PRE &&
        words.getUint32(at + 4, true) === EBREAK &&
        words.getUint32(at + 8, true) === SEMIHOST_POST
      )
        return true;
    }
    previous = page;
    previousPage = p;
  }
  return false;
}

const EBREAK = 0x00100073;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Yields to the host's event loop (setImmediate in Node, a message port in browsers). */
function yieldToHost(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === "function") return new Promise((r) => g.setImmediate!(r));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}

/** Console input queued by the host; empty means "nothing yet" until `end()`. */
class InputQueue {
  private queue = new Uint8Array(0);
  private ended = false;
  private waiter: (() => void) | undefined;

  push(bytes: Uint8Array): void {
    const next = new Uint8Array(this.queue.length + bytes.length);
    next.set(this.queue);
    next.set(bytes, this.queue.length);
    this.queue = next;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  read(max: number): Uint8Array | null {
    if (this.queue.length === 0) return this.ended ? null : new Uint8Array(0);
    const chunk = this.queue.slice(0, max);
    this.queue = this.queue.subarray(chunk.length);
    return chunk;
  }

  get pending(): number {
    return this.queue.length;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Resolves when input arrives or ends. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/**
 * Opens and checks the world of a payload (already checked against its SHA-256 by the
 * loader) and starts it. A world that does not match its manifest, or whose image or disks
 * fail their checks, is a BundleError (one line) and nothing runs.
 */
export async function startBundle(
  payload: Uint8Array,
  options: BundleStartOptions = {},
): Promise<RunningBundle> {
  await initCheckpoint();
  const bundle = openBundle(payload);
  const m = bundle.manifest;
  const file = new MemoryBlockFile(bundle.part("world"), m.name, false);
  let reader: CheckpointReader;
  let images: Image[] = [];
  let machine: Machine;
  const input = new InputQueue();
  const stdout = options.stdout ?? (() => {});
  const hostIo: HostIo = {
    stdout,
    stderr: options.stderr ?? stdout,
    stdin: (max) => input.read(max),
  };
  // The guest's control channel: a bundle cannot save, so (save-world ...) is refused at
  // once; a world Lisp saved itself is told it is the resumed one (set once opened).
  let io: HostIo = hostIo;
  try {
    reader = CheckpointReader.open(file, { sections: SECTION_SPECS });
    if (reader.digest !== m.digest) {
      throw new BundleError(`the world's digest is ${reader.digest}, the manifest says ${m.digest}`);
    }
    reader.verify();
    const host = new MemoryImageHost();
    images = m.disks.map((d) => {
      host.add(d.source, bundle.part(d.part));
      return openImage(host, d.source, { format: "amber" });
    });
    const disks: (Image | undefined)[] = [];
    for (const [i, d] of m.disks.entries()) disks[d.slot] = images[i];
    const fields = reader.hasSection(CONSOLE_SECTION) ? reader.section(CONSOLE_SECTION).fields : {};
    io = new GuestControlIo(
      hostIo,
      () => "a bundle runs its world and cannot save another (save it with amber repl)",
      fields.awaits === "save-world",
    );
    machine = Machine.fromCheckpoint(reader, {
      io,
      jit: options.jit,
      baselineBytes: 0,
      disks: disks.map((image, slot) =>
        image === undefined
          ? undefined
          : { backend: image, source: m.disks.find((d) => d.slot === slot)?.source },
      ),
    });
  } catch (e) {
    for (const i of images) i.close();
    if (e instanceof BundleError) throw e;
    throw new BundleError((e as Error).message);
  }
  if (reader.hasSection(CONSOLE_SECTION)) {
    const tail = reader.section(CONSOLE_SECTION).fields.tail;
    if (typeof tail === "string" && tail !== "") stdout(new TextEncoder().encode(tail));
  }
  if (options.args !== undefined && options.args.length > 0) {
    if (!machine.commandLineRead && !readsUart(reader) && callsSemihosting(reader)) {
      const argv0 = machine.commandLine.split(" ")[0] ?? "";
      machine.setCommandLine([argv0, ...options.args].join(" "));
    } else input.push(new TextEncoder().encode(`${options.args.join(" ")}\n`));
  }

  let stopped = false;
  const run = async (): Promise<BundleExit> => {
    let slice = 1 << 18;
    for (;;) {
      await yieldToHost();
      if (stopped) return new Promise<BundleExit>(() => {});
      const started = performance.now();
      const outcome = machine.run(slice);
      const ms = performance.now() - started;
      if (outcome.kind === "budget") {
        const scaled = ms > 0.5 ? Math.round((slice * SLICE_MS) / ms) : slice * 4;
        slice = Math.max(1 << 12, Math.min(1 << 26, scaled));
        continue;
      }
      if (outcome.kind === "stuck" && !input.closed) {
        // Idle in wfi with nothing to wake it but input: wait for some.
        if (input.pending === 0) await input.next();
        continue;
      }
      for (const i of images) i.close();
      return describeOutcome(outcome, machine.hart.steps);
    }
  };
  return {
    name: m.name,
    digest: m.digest,
    get instructions() {
      return machine.hart.steps;
    },
    type: (text) => input.push(typeof text === "string" ? new TextEncoder().encode(text) : text),
    endInput: () => input.end(),
    stop: () => {
      stopped = true;
    },
    exited: run(),
  };
}
