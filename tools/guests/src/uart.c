/*
 * uart: the board's NS16550A console at 0x10000000, driven directly (no semihosting
 * for these bytes).  With -nographic QEMU writes them to its stdout; build.sh stores
 * that stream as uart.host-stdout next to the semihosting output (uart.stdout).
 *
 * Checks the scratch register, the line status bits of an idle transmitter, the
 * divisor latch (DLAB) round trip, and writes text polling LSR.THRE.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"

#define UART_BASE 0x10000000u
#define REG(off) (*(volatile uint8_t *)(UART_BASE + (off)))
#define RBR_THR 0	/* receive buffer / transmit holding (DLAB=0) */
#define IER     1
#define FCR     2	/* write: FIFO control; read: IIR */
#define LCR     3
#define MCR     4
#define LSR     5
#define SCR     7
#define DLL     0	/* DLAB=1 */
#define DLM     1

#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static void uart_putc(char c)
{
	while (!(REG(LSR) & LSR_THRE))
		;
	REG(RBR_THR) = (uint8_t)c;
}

static void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

int main(void)
{
	/* Scratch register round trip. */
	REG(SCR) = 0xa5;
	CHECK_EQ("scratch 0xa5", REG(SCR), 0xa5);
	REG(SCR) = 0x5a;
	CHECK_EQ("scratch 0x5a", REG(SCR), 0x5a);

	/* Divisor latch: set DLAB, write 115200 baud divisor (1 at 1.8432 MHz / 16), read back. */
	REG(LCR) = 0x80;
	REG(DLL) = 0x01;
	REG(DLM) = 0x00;
	CHECK_EQ("DLL", REG(DLL), 0x01);
	CHECK_EQ("DLM", REG(DLM), 0x00);
	REG(LCR) = 0x03;		/* 8N1, DLAB=0 */
	CHECK_EQ("LCR", REG(LCR), 0x03);
	REG(FCR) = 0x07;		/* enable and clear FIFOs */
	REG(IER) = 0x00;		/* no interrupts */

	/* An idle transmitter: THR empty and transmitter empty. */
	CHECK_EQ("LSR idle", REG(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);

	uart_puts("Hello from the Amber UART!\n");
	for (int i = 0; i < 3; i++) {
		uart_puts("line ");
		uart_putc((char)('0' + i));
		uart_putc('\n');
	}
	uart_puts("bytes: \x01\x7f\xff\t|\r\n");

	printf("uart: wrote 5 lines to the UART\n");
	return check_done("uart");
}
