import { Privilege, TRIGGER_COUNT } from "@amber/isa";
import type { Debugger, Resume, Slice, StopEvent, WatchKind } from "./debugger.js";
import { RspFraming } from "./rsp-framing.js";
import {
  FIRST_CSR_REGNUM,
  GPR_COUNT,
  implementedCsrs,
  PRIV_REGNUM,
  targetDescription,
} from "./target-description.js";

/** How a gdb session ended: the client killed the machine, or detached and let it run on. */
export type GdbEnd = "kill" | "detach";

const SUPPORTED = [
  "PacketSize=4000",
  "qXfer:features:read+",
  "QStartNoAckMode+",
  "ReverseStep+",
  "ReverseContinue+",
  "vContSupported+",
].join(";");

/** The longest range one trigger watches (an mcontrol6 of "any" size: 8 bytes). */
const MAX_WATCH_LENGTH = 8;

const WATCH_KINDS: Record<string, WatchKind> = { "2": "write", "3": "read", "4": "access" };
const WATCH_PREFIX: Record<WatchKind, string> = { write: "watch", read: "rwatch", access: "awatch" };

/** A 32-bit value as gdb's little-endian hex. */
function le32(v: number): string {
  const u = v >>> 0;
  let s = "";
  for (let i = 0; i < 4; i++) s += ((u >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  return s;
}

function parseLe32(hex: string): number {
  let v = 0;
  for (let i = 3; i >= 0; i--) v = (v << 8) | Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return v | 0;
}

function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A gdb remote serial protocol server for one client, transport-agnostic: feed it the
 * bytes the client sends (`receive`), it sends its replies through `send`; while the
 * machine runs (continue, reverse-continue), call `tick()` from the event loop until it
 * returns false — each call runs one slice, so the transport (and Ctrl-C) stay live.
 *
 * Registers: x0..x31 and pc (the `g` packet), the CSRs at gdb's numbers (65 + csr) and
 * `priv`, named by the target description. Memory reads and writes use virtual addresses
 * (translated without side effects). Breakpoints (Z0/Z1) and watchpoints (Z2/Z3/Z4) are
 * kept by the debugger, never written into guest memory. Reverse step and continue
 * (`bs`/`bc`) go through the time line.
 */
export class GdbServer {
  private readonly framing: RspFraming;
  private readonly csrs: number[];
  private readonly xml: string;
  private operation: Generator<Slice, StopEvent> | undefined;
  private waiting = false;
  private lastStop = "T05thread:1;";
  /** Software (Z0) and hardware (Z1) breakpoints; the debugger stops at either. */
  private readonly software = new Set<number>();
  private readonly hardware = new Set<number>();
  /** Set when the client killed or detached. */
  ended: GdbEnd | undefined;

  constructor(
    readonly debug: Debugger,
    send: (bytes: Uint8Array) => void,
    private readonly onEnd: (how: GdbEnd) => void = () => {},
  ) {
    this.framing = new RspFraming(send);
    this.csrs = implementedCsrs(debug.machine.hart.csr);
    this.xml = targetDescription(this.csrs);
  }

  /** Whether an operation (continue, reverse-continue) is in progress: call `tick()`. */
  get running(): boolean {
    return this.operation !== undefined;
  }

  receive(bytes: Uint8Array): void {
    for (const input of this.framing.receive(bytes)) {
      if (this.ended !== undefined) return;
      if (input.kind === "interrupt") {
        if (this.operation !== undefined) this.debug.interrupt();
        continue;
      }
      // While running, gdb sends nothing but the interrupt byte; anything else waits.
      if (this.operation !== undefined) continue;
      const reply = this.handle(input.data);
      if (reply !== undefined) this.framing.packet(reply);
    }
  }

  /**
   * Whether the operation in progress waits: the guest idles in `wfi` until input (or gdb's
   * interrupt) comes. Call `tick()` again on input, on the client's bytes, or after a pause
   * (polling), not at once: nothing would have changed.
   */
  get idle(): boolean {
    return this.operation !== undefined && this.waiting;
  }

  /** Runs the operation in progress for one slice; false once it has stopped (its stop reply sent). */
  tick(): boolean {
    const op = this.operation;
    if (op === undefined) return false;
    const r = op.next();
    if (!r.done) {
      this.waiting = r.value === "idle";
      return true;
    }
    this.waiting = false;
    this.operation = undefined;
    this.stopped(r.value);
    return false;
  }

  private start(how: Resume): undefined {
    this.operation = this.debug.resume(how);
    return undefined;
  }

  private stopped(event: StopEvent): void {
    this.lastStop = this.stopReply(event);
    this.framing.packet(this.lastStop);
  }

  private stopReply(e: StopEvent): string {
    switch (e.kind) {
      case "exited":
        return `W${(e.code & 0xff).toString(16).padStart(2, "0")}`;
      case "interrupted":
        return "T02thread:1;";
      case "watchpoint":
        return `T05${WATCH_PREFIX[e.watch.kind]}:${(e.address >>> 0).toString(16)};thread:1;`;
      case "history-start":
        return "T05replaylog:begin;thread:1;";
      case "history-end":
        return "T05replaylog:end;thread:1;";
      case "unhandled-trap":
        return "T0bthread:1;";
      default:
        return "T05thread:1;";
    }
  }

  /** The reply to one packet (undefined: none, e.g. an operation started). */
  private handle(p: string): string | undefined {
    const hart = this.debug.machine.hart;
    switch (p[0]) {
      case "?":
        return this.lastStop;
      case "g": {
        let s = "";
        for (let i = 0; i < 32; i++) s += le32(hart.x[i]!);
        return s + le32(hart.pc);
      }
      case "G": {
        for (let i = 1; i < GPR_COUNT && (i + 1) * 8 <= p.length - 1; i++) {
          this.writeRegister(i, parseLe32(p.slice(1 + i * 8, 9 + i * 8)));
        }
        return "OK";
      }
      case "p": {
        const v = this.readRegister(Number.parseInt(p.slice(1), 16));
        return v === undefined ? "E01" : le32(v);
      }
      case "P": {
        const [n, v] = p.slice(1).split("=");
        if (n === undefined || v === undefined || v.length < 8) return "E01";
        return this.writeRegister(Number.parseInt(n, 16), parseLe32(v)) ? "OK" : "E01";
      }
      case "m": {
        const [a, l] = p.slice(1).split(",");
        const address = Number.parseInt(a ?? "", 16);
        const length = Math.min(Number.parseInt(l ?? "", 16), 0x1000);
        if (!Number.isFinite(address) || !Number.isFinite(length)) return "E01";
        const bytes = this.debug.memory.read(address, length);
        return bytes.length === 0 && length > 0 ? "E14" : toHex(bytes);
      }
      case "M": {
        const m = /^M([0-9a-fA-F]+),([0-9a-fA-F]+):([0-9a-fA-F]*)$/.exec(p);
        const data = m === null ? undefined : fromHex(m[3]!);
        if (m === null || data === undefined) return "E01";
        if (!this.debug.memory.write(Number.parseInt(m[1]!, 16), data)) return "E14";
        this.debug.timeline.rebase();
        return "OK";
      }
      case "Z":
      case "z":
        return this.breakpoint(p[0] === "Z", p.slice(1));
      case "c":
        return this.start("continue");
      case "s":
        return this.start("step");
      case "b":
        if (p !== "bc" && p !== "bs") return "";
        return this.start(p === "bc" ? "reverse-continue" : "reverse-step");
      case "v":
        return this.vPacket(p);
      case "q":
      case "Q":
        return this.query(p);
      case "H":
        return "OK";
      case "T":
        return "OK";
      case "k":
        this.end("kill");
        return undefined;
      case "D":
        this.framing.packet("OK");
        this.end("detach");
        return undefined;
      default:
        return "";
    }
  }

  private end(how: GdbEnd): void {
    this.ended = how;
    this.onEnd(how);
  }

  private vPacket(p: string): string | undefined {
    if (p === "vCont?") return "vCont;c;C;s;S";
    if (p.startsWith("vCont;")) {
      // The first action applies to our one thread; signals are not delivered.
      const action = p.slice(6).split(";")[0]!.split(":")[0]!;
      if (action.startsWith("s") || action.startsWith("S")) return this.start("step");
      if (action.startsWith("c") || action.startsWith("C")) return this.start("continue");
      return "E01";
    }
    if (p.startsWith("vKill")) {
      this.framing.packet("OK");
      this.end("kill");
      return undefined;
    }
    return "";
  }

  private query(p: string): string | undefined {
    if (p.startsWith("qSupported")) return SUPPORTED;
    if (p === "QStartNoAckMode") {
      this.framing.packet("OK");
      this.framing.noAck = true;
      return undefined;
    }
    if (p.startsWith("qXfer:features:read:target.xml:")) {
      const [off, len] = p.slice("qXfer:features:read:target.xml:".length).split(",");
      const offset = Number.parseInt(off ?? "", 16);
      const length = Number.parseInt(len ?? "", 16);
      if (!Number.isFinite(offset) || !Number.isFinite(length)) return "E01";
      const chunk = this.xml.slice(offset, offset + length);
      return (offset + length >= this.xml.length ? "l" : "m") + chunk;
    }
    if (p.startsWith("qXfer:")) return "E00";
    if (p === "qAttached" || p.startsWith("qAttached:")) return "1";
    if (p === "qC") return "QC1";
    if (p === "qfThreadInfo") return "m1";
    if (p === "qsThreadInfo") return "l";
    if (p.startsWith("qSymbol")) return "OK";
    return "";
  }

  private breakpoint(insert: boolean, args: string): string {
    const [type, a, k] = args.split(",");
    const address = Number.parseInt(a ?? "", 16) >>> 0;
    const length = Number.parseInt(k ?? "", 16);
    if (!Number.isFinite(address) || !Number.isFinite(length)) return "E01";
    const d = this.debug;
    // Hardware breakpoints and watchpoints share the hart's trigger count (two, as QEMU's
    // virt CPU has) and a watch covers at most what one trigger can: a third, or a longer
    // range, is refused and gdb says so. They are the debugger's own, never the guest's
    // triggers (as QEMU's gdbstub keeps its own), so the guest's tdata registers stay its.
    const hardwareUsed = this.hardware.size + d.watchpoints.length;
    if (type === "0" || type === "1") {
      const set = type === "0" ? this.software : this.hardware;
      if (insert && type === "1" && !set.has(address) && hardwareUsed >= TRIGGER_COUNT) return "E01";
      if (insert) set.add(address);
      else set.delete(address);
      d.breakpoints.clear();
      for (const a of this.software) d.breakpoints.add(a);
      for (const a of this.hardware) d.breakpoints.add(a);
      return "OK";
    }
    const kind = WATCH_KINDS[type ?? ""];
    if (kind === undefined) return "";
    const i = d.watchpoints.findIndex((w) => w.kind === kind && w.address === address && w.length === length);
    if (insert && i < 0 && (hardwareUsed >= TRIGGER_COUNT || length > MAX_WATCH_LENGTH)) return "E01";
    if (insert && i < 0) d.watchpoints.push({ kind, address, length: Math.max(1, length) });
    if (!insert && i >= 0) d.watchpoints.splice(i, 1);
    return "OK";
  }

  private readRegister(n: number): number | undefined {
    const hart = this.debug.machine.hart;
    if (n >= 0 && n < 32) return hart.x[n]!;
    if (n === 32) return hart.pc;
    if (n === PRIV_REGNUM) return hart.csr.priv;
    const csr = n - FIRST_CSR_REGNUM;
    if (!this.csrs.includes(csr)) return undefined;
    const c = hart.csr;
    const priv = c.priv;
    c.priv = Privilege.Machine;
    try {
      return c.read(csr);
    } finally {
      c.priv = priv;
    }
  }

  private writeRegister(n: number, v: number): boolean {
    const hart = this.debug.machine.hart;
    if (n === 0) return true;
    if (n > 0 && n < 32) hart.x[n] = v;
    else if (n === 32) hart.pc = v;
    else {
      const csr = n - FIRST_CSR_REGNUM;
      if (!this.csrs.includes(csr)) return false;
      const c = hart.csr;
      const priv = c.priv;
      c.priv = Privilege.Machine;
      try {
        if (!c.write(csr, v)) return false;
      } finally {
        c.priv = priv;
      }
    }
    // The past no longer leads to this state: history starts again here.
    this.debug.timeline.rebase();
    return true;
  }
}
