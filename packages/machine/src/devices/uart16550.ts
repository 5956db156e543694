import type { MmioDevice } from "@amber/memory";

const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const LCR_DLAB = 0x80;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IIR_NONE = 0x01;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_FIFO_ENABLED = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const FCR_CLEAR_TX = 0x04;
/** The FCR bits QEMU keeps (enable, DMA mode, trigger level). */
const FCR_KEPT = 0xc9;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
/** MSR with nothing attached: DCD, DSR and CTS asserted, as QEMU's. */
const MSR_IDLE = 0xb0;

export interface UartState {
  ier: number;
  lcr: number;
  mcr: number;
  scr: number;
  dll: number;
  dlm: number;
  fcr: number;
  thrEmptyPending: boolean;
  rx: Uint8Array;
}

/** Bytes the receive FIFO holds when enabled (FCR bit 0), as the 16550A's. */
const RX_FIFO_SIZE = 16;

/**
 * A 16550A UART as QEMU's `virt` has at 0x1000_0000 (registers one byte apart).
 * Transmit goes to `output` at once (the host is infinitely fast); receive reads
 * from `input`, polled when the guest looks at LSR or RBR (and when the board offers
 * input, see `receive`). Flow control instead of overrun, as QEMU's character back
 * ends: `input` is only asked for what the receive buffer can take (16 bytes with the
 * FIFO enabled, 1 without), so bytes the guest is not ready for wait on the host's side
 * and nothing is dropped but what the guest itself clears from the FIFO. `irq` reports
 * the level of the interrupt line for the interrupt controller, at the moments QEMU's
 * `serial_update_irq` does (a THR write, an IER write that changes it, an FCR write, an
 * RBR read, an IIR read that reports THR empty, bytes arriving) and never otherwise:
 * the PLIC latches every report of a high line, so when the line is reported matters.
 * Reset values are QEMU's: LCR 0, MCR OUT2, no THR-empty interrupt pending.
 */
export class Uart16550 implements MmioDevice {
  readonly name = "uart0";
  readonly size = 0x100;
  private ier = 0;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private fcr = 0;
  private thrEmptyPending = false;
  private rx: number[] = [];
  private ended = false;

  constructor(
    private readonly output: (byte: number) => void,
    private readonly input: (max: number) => Uint8Array | null = () => null,
    private readonly irq: (level: boolean) => void = () => {},
  ) {}

  /** Every register and the receive FIFO, for a checkpoint. */
  saveState(): UartState {
    return {
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      fcr: this.fcr,
      thrEmptyPending: this.thrEmptyPending,
      rx: Uint8Array.from(this.rx),
    };
  }

  /** Puts back what `saveState` gave, without touching the interrupt line. */
  loadState(s: UartState): void {
    this.ier = s.ier;
    this.lcr = s.lcr;
    this.mcr = s.mcr;
    this.scr = s.scr;
    this.dll = s.dll;
    this.dlm = s.dlm;
    this.fcr = s.fcr;
    this.thrEmptyPending = s.thrEmptyPending;
    this.rx = Array.from(s.rx);
  }

  /** The host's last answer was end of input (stdin gave null). */
  get inputEnded(): boolean {
    return this.ended;
  }

  /** Whether the guest enabled the received-data interrupt (it waits for input by interrupt). */
  get receiveInterruptEnabled(): boolean {
    return (this.ier & IER_RDI) !== 0;
  }

  /** Takes what the host has for the receive buffer; whether any byte arrived. */
  private pollInput(): boolean {
    const room = (this.fcr & FCR_ENABLE ? RX_FIFO_SIZE : 1) - this.rx.length;
    if (room <= 0) return false;
    const chunk = this.input(room);
    this.ended = chunk === null;
    if (chunk === null) return false;
    const before = this.rx.length;
    for (let i = 0; i < chunk.length && i < room; i++) this.rx.push(chunk[i]!);
    return this.rx.length > before;
  }

  private interruptId(): number {
    if (this.ier & IER_RDI && this.rx.length > 0) return IIR_RDI;
    if (this.ier & IER_THRI && this.thrEmptyPending) return IIR_THRI;
    return IIR_NONE;
  }

  private updateIrq(): void {
    this.irq(this.interruptId() !== IIR_NONE);
  }

  /** Offers received bytes to the guest (called by the board when host input arrives). */
  receive(): void {
    if (this.pollInput()) this.updateIrq();
  }

  /**
   * Offers host input to a guest that waits for it by interrupt (IER's received-data bit
   * set), as a character back end delivers bytes while the guest runs. A guest that
   * polls gets its input when it reads LSR or RBR.
   */
  offerInput(): void {
    if ((this.ier & IER_RDI) === 0) return;
    if (this.pollInput()) this.updateIrq();
  }

  /** In loopback mode a transmitted byte is received instead (QEMU's `serial_receive1`). */
  private loopBack(byte: number): void {
    if (this.fcr & FCR_ENABLE) {
      if (this.rx.length < RX_FIFO_SIZE) this.rx.push(byte);
    } else this.rx = [byte]; // no FIFO: the receive buffer is overwritten
  }

  /**
   * Halfword and word accesses reach the one register at their (aligned) address, as
   * QEMU's `serial_mm_read`/`serial_mm_write` do: loads zero-extend its byte, stores write
   * the low byte. Misaligned ones are access faults (QEMU's differ, see the README).
   */
  read(offset: number, size: 1 | 2 | 4): number {
    if ((offset & (size - 1)) !== 0) return Number.NaN;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL: {
        if (dlab) return this.dll;
        this.pollInput();
        const b = this.rx.shift() ?? 0;
        this.updateIrq();
        return b;
      }
      case IER_DLM:
        return dlab ? this.dlm : this.ier;
      case IIR_FCR: {
        const id = this.interruptId();
        if (id === IIR_THRI) {
          this.thrEmptyPending = false; // reading IIR that reports THR empty clears it
          this.updateIrq();
        }
        return id | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR:
        if (this.pollInput()) this.updateIrq();
        return LSR_THRE | LSR_TEMT | (this.rx.length > 0 ? LSR_DR : 0);
      case MSR: {
        const m = this.mcr;
        // Loopback: DTR, RTS, OUT1, OUT2 come back as DSR, CTS, RI, DCD.
        return m & MCR_LOOP ? ((m & 0x0c) << 4) | ((m & 0x02) << 3) | ((m & 0x01) << 5) : MSR_IDLE;
      }
      case SCR:
        return this.scr;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if ((offset & (size - 1)) !== 0) return false;
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) this.dll = v;
        else {
          if (this.mcr & MCR_LOOP) this.loopBack(v);
          else this.output(v);
          this.thrEmptyPending = true; // sent at once: THR is empty again
          this.updateIrq();
        }
        break;
      case IER_DLM:
        if (dlab) this.dlm = v;
        else {
          const changed = (this.ier ^ v) & 0x0f;
          this.ier = v & 0x0f;
          // Enabling the THR-empty interrupt while THR is empty raises it (QEMU, Bochs);
          // disabling it forgets it. Other IER writes leave it alone.
          if (changed & IER_THRI) this.thrEmptyPending = (this.ier & IER_THRI) !== 0;
          if (changed !== 0) this.updateIrq();
        }
        break;
      case IIR_FCR: {
        // Turning the FIFOs on or off clears both; clearing the transmit FIFO empties THR.
        const f = (v ^ this.fcr) & FCR_ENABLE ? v | FCR_CLEAR_RX | FCR_CLEAR_TX : v;
        if (f & FCR_CLEAR_RX) this.rx = [];
        if (f & FCR_CLEAR_TX) this.thrEmptyPending = true;
        this.fcr = f & FCR_KEPT;
        this.updateIrq();
        break;
      }
      case LCR:
        this.lcr = v;
        break;
      case MCR:
        this.mcr = v & 0x1f;
        break;
      case SCR:
        this.scr = v;
        break;
      default:
        break;
    }
    return true;
  }
}
