/** What arrives from a gdb remote serial protocol peer. */
export type RspInput = { kind: "packet"; data: string } | { kind: "interrupt" };

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;

/**
 * The gdb remote serial protocol's framing: `$data#cs` packets with a modulo-256 checksum,
 * `+`/`-` acknowledgements (until no-ack mode), the 0x03 interrupt byte, `}` escapes and
 * `*` run-length encoding on input. Bytes in, decoded inputs and bytes to send out.
 */
export class RspFraming {
  private buffer: number[] = [];
  private inPacket = false;
  private checksumLeft = -1;
  private sum = 0;
  private checksum = "";
  /** After QStartNoAckMode: no `+` is sent or expected. */
  noAck = false;

  constructor(private readonly send: (bytes: Uint8Array) => void) {}

  /** Decodes `bytes`; packets are acknowledged as they complete. */
  receive(bytes: Uint8Array): RspInput[] {
    const out: RspInput[] = [];
    for (const b of bytes) {
      if (this.checksumLeft > 0) {
        this.checksum += String.fromCharCode(b);
        if (--this.checksumLeft === 0) {
          this.checksumLeft = -1;
          const ok = Number.parseInt(this.checksum, 16) === (this.sum & 0xff);
          if (!this.noAck) this.send(new Uint8Array([ok ? 0x2b : 0x2d]));
          if (ok) out.push({ kind: "packet", data: this.decode(this.buffer) });
          this.buffer = [];
        }
        continue;
      }
      if (this.inPacket) {
        if (b === HASH) {
          this.inPacket = false;
          this.checksumLeft = 2;
          this.checksum = "";
        } else {
          this.sum += b;
          this.buffer.push(b);
        }
        continue;
      }
      if (b === DOLLAR) {
        this.inPacket = true;
        this.sum = 0;
        this.buffer = [];
      } else if (b === 0x03) out.push({ kind: "interrupt" });
      // `+` and `-` from the peer: we never resend (the transport is reliable).
    }
    return out;
  }

  /** Frames and sends one packet (binary-safe: `$`, `#`, `}` and `*` are escaped). */
  packet(data: string): void {
    const bytes: number[] = [DOLLAR];
    let sum = 0;
    for (let i = 0; i < data.length; i++) {
      const c = data.charCodeAt(i) & 0xff;
      if (c === DOLLAR || c === HASH || c === ESCAPE || c === STAR) {
        bytes.push(ESCAPE, c ^ 0x20);
        sum += ESCAPE + (c ^ 0x20);
      } else {
        bytes.push(c);
        sum += c;
      }
    }
    const cs = (sum & 0xff).toString(16).padStart(2, "0");
    bytes.push(HASH, cs.charCodeAt(0), cs.charCodeAt(1));
    this.send(Uint8Array.from(bytes));
  }

  /** Packet bytes as a binary string, `}` escapes and run-lengths expanded. */
  private decode(raw: number[]): string {
    let s = "";
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === ESCAPE && i + 1 < raw.length) s += String.fromCharCode(raw[++i]! ^ 0x20);
      else if (c === STAR && i + 1 < raw.length && s.length > 0) {
        const n = raw[++i]! - 29;
        s += s[s.length - 1]!.repeat(Math.max(0, n));
      } else s += String.fromCharCode(c);
    }
    return s;
  }
}
