import type { AddressSpace } from "@amber/memory";
import type { GuestClock } from "./guest-clock.js";
import type { HostIo } from "./host-io.js";

/** Operation numbers of the RISC-V semihosting spec (shared with Arm's). */
export const SemihostOp = {
  OPEN: 0x01,
  CLOSE: 0x02,
  WRITEC: 0x03,
  WRITE0: 0x04,
  WRITE: 0x05,
  READ: 0x06,
  READC: 0x07,
  ISERROR: 0x08,
  ISTTY: 0x09,
  SEEK: 0x0a,
  FLEN: 0x0c,
  TMPNAM: 0x0d,
  REMOVE: 0x0e,
  RENAME: 0x0f,
  CLOCK: 0x10,
  TIME: 0x11,
  SYSTEM: 0x12,
  ERRNO: 0x13,
  GET_CMDLINE: 0x15,
  HEAPINFO: 0x16,
  EXIT: 0x18,
  EXIT_EXTENDED: 0x20,
  ELAPSED: 0x30,
  TICKFREQ: 0x31,
} as const;

const ADP_STOPPED_APPLICATION_EXIT = 0x20026;
const ENOENT = 2;
const EBADF = 9;
const EINVAL = 22;
const ESPIPE = 29;
const ENOSYS = 38;
/** Contents of the special file ":semihosting-features": magic "SHFB" and the feature byte. */
const FEATURES = Uint8Array.of(0x53, 0x48, 0x46, 0x42, 0x03); // EXIT_EXTENDED | STDOUT_STDERR
const TICK_HZ = 1_000_000;

type Handle = { kind: "stdin" } | { kind: "stdout" } | { kind: "stderr" } | { kind: "features"; pos: number };

export interface SemihostingState {
  handles: { id: number; kind: string; pos: number }[];
  nextHandle: number;
  errno: number;
  /** The guest has asked for its command line (SYS_GET_CMDLINE): changing it now would go unseen. */
  cmdlineRead: boolean;
}

/** Where the heap and stack may go, as SYS_HEAPINFO reports it. */
export interface HeapInfo {
  heapBase: number;
  heapLimit: number;
  stackBase: number;
  stackLimit: number;
}

export interface SemihostingHost {
  bus: AddressSpace;
  io: HostIo;
  clock: GuestClock;
  cmdline: string;
  heapInfo(): HeapInfo;
  /** The guest asked to exit with `code`. */
  exit(code: number): void;
}

/**
 * Services semihosting calls: a0 holds the operation, a1 its argument (usually a
 * pointer to a block of 32-bit words); the result goes back in a0. Host files other
 * than the console and ":semihosting-features" are not reachable from the guest.
 */
export class Semihosting {
  private handles = new Map<number, Handle>();
  private nextHandle = 1;
  private errno = 0;
  /** Whether the guest has called SYS_GET_CMDLINE. */
  cmdlineRead = false;

  constructor(private readonly host: SemihostingHost) {}

  /** Replaces the command line SYS_GET_CMDLINE gives (argv[0] and the arguments, space-separated). */
  setCommandLine(text: string): void {
    this.host.cmdline = text;
  }

  /** The open handles, the next handle number and errno, for a checkpoint. */
  saveState(): SemihostingState {
    const handles = [...this.handles].map(([id, h]) => ({
      id,
      kind: h.kind,
      pos: h.kind === "features" ? h.pos : 0,
    }));
    return { handles, nextHandle: this.nextHandle, errno: this.errno, cmdlineRead: this.cmdlineRead };
  }

  /** Puts back what `saveState` gave. */
  loadState(s: SemihostingState): void {
    this.handles = new Map(
      s.handles.map((h): [number, Handle] => {
        if (h.kind === "features") return [h.id, { kind: "features", pos: h.pos }];
        if (h.kind === "stdin" || h.kind === "stdout" || h.kind === "stderr") return [h.id, { kind: h.kind }];
        throw new Error(`semihosting handle ${h.id}: unknown kind "${h.kind}"`);
      }),
    );
    this.nextHandle = s.nextHandle;
    this.errno = s.errno;
    this.cmdlineRead = s.cmdlineRead;
  }

  private word(addr: number): number {
    return this.host.bus.load(addr >>> 0, 4) >>> 0;
  }

  private setWord(addr: number, value: number): void {
    this.host.bus.store(addr >>> 0, 4, value >>> 0);
  }

  private bytes(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.host.bus.load((addr + i) >>> 0, 1);
    return out;
  }

  private putBytes(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.host.bus.store((addr + i) >>> 0, 1, data[i]!);
  }

  private cString(addr: number, max = 4096): Uint8Array {
    const out: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.host.bus.load((addr + i) >>> 0, 1);
      if (b === 0 || Number.isNaN(b)) break;
      out.push(b);
    }
    return Uint8Array.from(out);
  }

  private fail(errno: number): number {
    this.errno = errno;
    return -1;
  }

  /** Performs operation `op` with argument `arg`; returns the value for a0. */
  call(op: number, arg: number): number {
    const io = this.host.io;
    switch (op) {
      case SemihostOp.OPEN: {
        const name = new TextDecoder().decode(this.bytes(this.word(arg), this.word(arg + 8)));
        const mode = this.word(arg + 4);
        let handle: Handle;
        if (name === ":tt")
          handle = mode < 4 ? { kind: "stdin" } : mode < 8 ? { kind: "stdout" } : { kind: "stderr" };
        else if (name === ":semihosting-features") handle = { kind: "features", pos: 0 };
        else return this.fail(ENOENT);
        const id = this.nextHandle++;
        this.handles.set(id, handle);
        return id;
      }
      case SemihostOp.CLOSE:
        return this.handles.delete(this.word(arg)) ? 0 : this.fail(EBADF);
      case SemihostOp.WRITEC:
        io.stdout(this.bytes(arg, 1));
        return 0;
      case SemihostOp.WRITE0:
        io.stdout(this.cString(arg, 1 << 20));
        return 0;
      case SemihostOp.WRITE: {
        const handle = this.handles.get(this.word(arg));
        const length = this.word(arg + 8);
        if (handle === undefined || handle.kind === "stdin" || handle.kind === "features") {
          this.errno = EBADF;
          return length;
        }
        const data = this.bytes(this.word(arg + 4), length);
        if (handle.kind === "stdout") io.stdout(data);
        else io.stderr(data);
        return 0;
      }
      case SemihostOp.READ: {
        const handle = this.handles.get(this.word(arg));
        const buffer = this.word(arg + 4);
        const length = this.word(arg + 8);
        if (handle === undefined || handle.kind === "stdout" || handle.kind === "stderr") {
          this.errno = EBADF;
          return length;
        }
        if (handle.kind === "features") {
          const chunk = FEATURES.subarray(handle.pos, handle.pos + length);
          this.putBytes(buffer, chunk);
          handle.pos += chunk.length;
          return length - chunk.length;
        }
        const chunk = io.stdin(length);
        if (chunk === null) return length;
        this.putBytes(buffer, chunk);
        return length - chunk.length;
      }
      case SemihostOp.READC: {
        const chunk = io.stdin(1);
        return chunk === null || chunk.length === 0 ? -1 : chunk[0]!;
      }
      case SemihostOp.ISERROR:
        return (this.word(arg) | 0) < 0 ? 1 : 0;
      case SemihostOp.ISTTY: {
        const handle = this.handles.get(this.word(arg));
        if (handle === undefined) return this.fail(EBADF);
        return handle.kind === "features" ? 0 : 1;
      }
      case SemihostOp.SEEK: {
        const handle = this.handles.get(this.word(arg));
        if (handle === undefined) return this.fail(EBADF);
        if (handle.kind !== "features") return this.fail(ESPIPE);
        handle.pos = Math.min(this.word(arg + 4), FEATURES.length);
        return 0;
      }
      case SemihostOp.FLEN: {
        const handle = this.handles.get(this.word(arg));
        if (handle === undefined) return this.fail(EBADF);
        return handle.kind === "features" ? FEATURES.length : 0;
      }
      case SemihostOp.CLOCK:
        return Math.floor(this.host.clock.seconds() * 100) | 0;
      case SemihostOp.TIME:
        return Math.floor(this.host.clock.epochSeconds + this.host.clock.seconds()) | 0;
      case SemihostOp.ERRNO:
        return this.errno;
      case SemihostOp.GET_CMDLINE: {
        this.cmdlineRead = true;
        const buffer = this.word(arg);
        const size = this.word(arg + 4);
        const text = new TextEncoder().encode(this.host.cmdline);
        if (text.length + 1 > size) return this.fail(EINVAL);
        this.putBytes(buffer, text);
        this.host.bus.store((buffer + text.length) >>> 0, 1, 0);
        this.setWord(arg + 4, text.length);
        return 0;
      }
      case SemihostOp.HEAPINFO: {
        const block = this.word(arg);
        const info = this.host.heapInfo();
        this.setWord(block, info.heapBase);
        this.setWord(block + 4, info.heapLimit);
        this.setWord(block + 8, info.stackBase);
        this.setWord(block + 12, info.stackLimit);
        return 0;
      }
      case SemihostOp.EXIT:
        // On a 32-bit target the argument is the reason code itself.
        this.host.exit(arg === ADP_STOPPED_APPLICATION_EXIT ? 0 : 1);
        return 0;
      case SemihostOp.EXIT_EXTENDED: {
        const reason = this.word(arg);
        const code = this.word(arg + 4) | 0;
        this.host.exit(reason === ADP_STOPPED_APPLICATION_EXIT ? code : 1);
        return 0;
      }
      case SemihostOp.ELAPSED: {
        const ticks = this.host.clock.ticks(TICK_HZ);
        this.setWord(arg, ticks % 0x1_0000_0000);
        this.setWord(arg + 4, Math.floor(ticks / 0x1_0000_0000));
        return 0;
      }
      case SemihostOp.TICKFREQ:
        return TICK_HZ;
      case SemihostOp.TMPNAM:
      case SemihostOp.REMOVE:
      case SemihostOp.RENAME:
      case SemihostOp.SYSTEM:
        return this.fail(ENOSYS);
      default:
        return this.fail(ENOSYS);
    }
  }
}
