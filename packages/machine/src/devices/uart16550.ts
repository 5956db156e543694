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

/**
 * A 16550A UART as QEMU's `virt` has at 0x1000_0000 (registers one byte apart).
 * Transmit goes to `output` at once (the host is infinitely fast); receive reads
 * from `input`, polled when the guest looks at LSR or RBR. `irq` reports the level
 * of the interrupt line for the interrupt controller.
 */
export class Uart16550 implements MmioDevice {
  readonly name = "uart0";
  readonly size = 0x100;
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private fcr = 0;
  private thrEmptyPending = true;
  private rx: number[] = [];

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

  private pollInput(): void {
    if (this.rx.length > 0) return;
    const chunk = this.input(16);
    if (chunk !== null) for (const b of chunk) this.rx.push(b);
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
    this.pollInput();
    this.updateIrq();
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 1) return 0;
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
        if (id === IIR_THRI) this.thrEmptyPending = false; // reading IIR clears THRE
        this.updateIrq();
        return id | (this.fcr & 1 ? IIR_FIFO_ENABLED : 0);
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR:
        this.pollInput();
        return LSR_THRE | LSR_TEMT | (this.rx.length > 0 ? LSR_DR : 0);
      case MSR:
        return 0xb0; // DCD, DSR, CTS asserted
      case SCR:
        return this.scr;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): boolean {
    if (size !== 1) return true;
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) this.dll = v;
        else {
          this.output(v);
          this.thrEmptyPending = true;
        }
        break;
      case IER_DLM:
        if (dlab) this.dlm = v;
        else {
          this.ier = v & 0x0f;
          if (this.ier & IER_THRI) this.thrEmptyPending = true;
        }
        break;
      case IIR_FCR:
        this.fcr = v;
        if (v & 0x02) this.rx = [];
        break;
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
    this.updateIrq();
    return true;
  }
}
