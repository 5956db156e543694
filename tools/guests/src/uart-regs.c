/*
 * uart-regs: the NS16550A's interrupt identification as the guest sees it, and when
 * the UART reports its interrupt line to the PLIC (source 10), which latches every
 * report of a high line: IER writes that change or do not change ETBEI, FCR writes
 * (FIFO enable, transmit FIFO reset), IIR reads, THR writes, register reads that do not
 * touch the line, and loopback (MCR bit 4: transmitted bytes are received, MSR mirrors
 * MCR).  Interrupts stay masked (mstatus.MIE = 0, mie = 0).
 *
 * Prints what it sees, one line per step; the golden output is QEMU's.  UART output is
 * whole lines ("\n" alone), so that tests can merge the UART and console streams.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/riscv.h"

#define UART(off) (*(volatile uint8_t *)(0x10000000u + (off)))
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define IER_RDI 0x01
#define IER_THRI 0x02

#define PLIC(off) (*(volatile uint32_t *)(0x0c000000u + (off)))
#define UART_IRQ 10

/* Whether source 10 is pending in the PLIC; then claims and completes it (clears the latch). */
static int latched(void)
{
	int p = (int)((PLIC(0x1000) >> UART_IRQ) & 1);
	if (p) {
		uint32_t id = PLIC(0x200004);
		PLIC(0x200004) = id;
	}
	return p;
}

static void step(const char *what)
{
	printf("%-40s latched %d\n", what, latched());
}

static void iir(const char *what)
{
	uint8_t v = UART(IIR);
	printf("%-40s IIR 0x%02x, latched %d\n", what, v, latched());
}

int main(void)
{
	CSR_WRITE(mie, 0);
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	PLIC(4 * UART_IRQ) = 1;
	PLIC(0x2000) = 1u << UART_IRQ;
	PLIC(0x200000) = 0;

	printf("reset: LCR 0x%02x MCR 0x%02x IER 0x%02x LSR 0x%02x MSR 0x%02x SCR 0x%02x\n",
	       UART(LCR), UART(MCR), UART(IER), UART(LSR), UART(MSR), UART(SCR));
	UART(LCR) = 0x80;
	printf("reset: divisor 0x%02x%02x\n", UART(1), UART(0));
	UART(LCR) = 0x03;
	step("start");
	iir("IIR, IER = 0");

	puts("-- IER");
	UART(IER) = IER_THRI;
	step("IER = ETBEI");
	UART(IER) = IER_THRI;
	step("IER = ETBEI again");
	iir("IIR");
	iir("IIR again");
	UART(IER) = IER_THRI;
	step("IER = ETBEI again");
	iir("IIR");
	UART(IER) = IER_THRI | IER_RDI;
	step("IER = ETBEI | ERBFI");
	iir("IIR");
	UART(IER) = IER_RDI;
	step("IER = ERBFI");
	UART(IER) = IER_THRI | IER_RDI;
	step("IER = ETBEI | ERBFI");
	iir("IIR");
	UART(IER) = 0xff;
	printf("%-40s IER 0x%02x\n", "IER = 0xff", UART(IER));
	step("after IER = 0xff");
	iir("IIR");

	puts("-- THR");
	UART(IER) = IER_THRI;
	(void)latched();
	(void)UART(IIR);
	step("THR empty interrupt taken");
	UART(THR) = '\n';
	step("THR written");
	iir("IIR");
	UART(IER) = 0;
	UART(THR) = '\n';
	step("THR written with IER = 0");
	UART(IER) = IER_THRI;
	step("IER = ETBEI after that");
	iir("IIR");

	puts("-- register accesses that leave the line alone");
	UART(IER) = 0;
	UART(IER) = IER_THRI;
	(void)latched();
	UART(SCR) = 0x5a;
	step("SCR written (line high)");
	UART(LCR) = 0x03;
	step("LCR written");
	UART(MCR) = 0x08;
	step("MCR written");
	(void)UART(LSR);
	(void)UART(MSR);
	(void)UART(SCR);
	(void)UART(LCR);
	(void)UART(MCR);
	(void)UART(IER);
	step("LSR MSR SCR LCR MCR IER read");
	(void)UART(THR);
	step("RBR read (empty)");
	iir("IIR");

	puts("-- FCR");
	UART(IER) = IER_THRI;
	(void)latched();
	UART(FCR) = 0x00;
	step("FCR = 0 (no change, ETBEI, THR empty)");
	iir("IIR");
	UART(FCR) = 0x04;
	step("FCR = clear transmit FIFO");
	iir("IIR");
	UART(FCR) = 0x01;
	step("FCR = enable FIFOs");
	iir("IIR (FIFOs on)");
	UART(FCR) = 0x01;
	step("FCR = enable FIFOs again");
	iir("IIR");
	UART(FCR) = 0x03;
	step("FCR = enable | clear receive FIFO");
	iir("IIR");
	UART(FCR) = 0xc7;
	step("FCR = 0xc7");
	iir("IIR");
	UART(FCR) = 0x00;
	step("FCR = 0 (FIFOs off)");
	iir("IIR (FIFOs off)");
	UART(IER) = 0;
	UART(FCR) = 0x07;
	step("FCR = 7 with IER = 0");
	UART(IER) = IER_THRI;
	step("IER = ETBEI");
	iir("IIR");
	UART(IER) = 0;
	UART(FCR) = 0;
	(void)latched();

	puts("-- loopback (MCR bit 4)");
	UART(MCR) = 0x10 | 0x0a;
	printf("%-40s MSR 0x%02x\n", "MCR = LOOP | RTS | OUT2", UART(MSR));
	UART(MCR) = 0x10 | 0x05;
	printf("%-40s MSR 0x%02x\n", "MCR = LOOP | DTR | OUT1", UART(MSR));
	UART(IER) = IER_RDI;
	UART(THR) = 'A';
	printf("%-40s LSR 0x%02x\n", "THR = 'A'", UART(LSR));
	iir("IIR");
	printf("%-40s RBR 0x%02x, LSR 0x%02x\n", "RBR", UART(THR), UART(LSR));
	step("after the RBR read");
	UART(FCR) = 0x07;
	UART(THR) = 'B';
	UART(THR) = 'C';
	printf("%-40s LSR 0x%02x\n", "FIFOs on, THR = 'B', 'C'", UART(LSR));
	printf("%-40s RBR 0x%02x\n", "RBR", UART(THR));
	printf("%-40s RBR 0x%02x, LSR 0x%02x\n", "RBR", UART(THR), UART(LSR));
	UART(FCR) = 0;
	UART(IER) = 0;
	UART(MCR) = 0x08;
	printf("%-40s MSR 0x%02x\n", "MCR = OUT2", UART(MSR));
	(void)latched();

	puts("uart-regs: done");
	return 0;
}
