/*
 * The console: the NS16550A UART at 0x10000000 (both directions), and power-off through
 * the SiFive test finisher at 0x100000.
 *
 * Waiting for input must not spin: an emulator (Amber, QEMU) sees a hart that executes
 * `wfi` with nothing that could wake it as idle, which is how Amber's REPL knows the
 * guest waits for a line. So the UART's receive interrupt is routed through the PLIC to
 * the hart (mie.MEIE) but mstatus.MIE stays 0: the interrupt only ends the `wfi`, no trap
 * is taken and no trap handler is needed.
 */
#include "lisp.h"

#define UART_BASE 0x10000000u
#define UART(off) (*(volatile uint8_t *)(UART_BASE + (off)))
#define RBR_THR 0
#define IER 1
#define LSR 5
#define IER_RDI 0x01  /* interrupt when received data is available */
#define LSR_DR 0x01   /* a received byte is waiting in RBR */
#define LSR_THRE 0x20 /* the transmitter can take a byte */

#define PLIC_BASE 0x0c000000u
#define PLIC_PRIORITY(src) (*(volatile uint32_t *)(PLIC_BASE + 4u * (src)))
#define PLIC_ENABLE_CTX0 (*(volatile uint32_t *)(PLIC_BASE + 0x2000u))
#define PLIC_THRESHOLD_CTX0 (*(volatile uint32_t *)(PLIC_BASE + 0x200000u))
#define PLIC_CLAIM_CTX0 (*(volatile uint32_t *)(PLIC_BASE + 0x200004u))
#define UART_IRQ 10 /* the UART's PLIC source on virt; context 0 is hart 0 in M-mode */

#define FINISHER (*(volatile uint32_t *)0x00100000u)
#define FINISHER_PASS 0x3333 /* (code << 16) | 0x3333: exit with that code */

#define MIE_MEIE (1u << 11)

void console_init(void)
{
	/* The FIFO is left as it is: resetting it could drop bytes the host already sent. */
	UART(IER) = IER_RDI;
	PLIC_PRIORITY(UART_IRQ) = 1;
	PLIC_ENABLE_CTX0 |= 1u << UART_IRQ;
	PLIC_THRESHOLD_CTX0 = 0;
	__asm__ volatile(".option push\n\t.option arch, +zicsr\n\t"
			 "csrs mie, %0\n\t.option pop" ::"r"(MIE_MEIE)
			 : "memory");
}

/* The next byte from the UART, sleeping in wfi while there is none. */
static int uart_getc(void)
{
	for (;;) {
		if (UART(LSR) & LSR_DR)
			return UART(RBR_THR);
		__asm__ volatile("wfi" ::: "memory");
		/*
		 * Woken by the UART's interrupt (or spuriously): claim and complete it at the
		 * PLIC, so that its pending bit follows the line again; the loop then reads the
		 * byte (reading RBR lowers the line).
		 */
		uint32_t id = PLIC_CLAIM_CTX0;
		if (id != 0)
			PLIC_CLAIM_CTX0 = id;
	}
}

/*
 * Bytes read while waiting for the host's reply (console_await_reply) that were not
 * part of it: the host's earlier input, handed to console_getc afterwards in order.
 */
#define STASH_SIZE 8192
static uint8_t stash[STASH_SIZE];
static uint32_t stash_head, stash_count;

static int raw_getc(void)
{
	if (stash_count > 0) {
		int c = stash[stash_head];
		stash_head = (stash_head + 1) % STASH_SIZE;
		stash_count--;
		return c;
	}
	return uart_getc();
}

int console_await_reply(void)
{
	for (;;) {
		int c = uart_getc();
		if (c == HOST_ESCAPE)
			return uart_getc();
		if (stash_count == STASH_SIZE)
			return -1; /* the host sent too much without answering */
		stash[(stash_head + stash_count++) % STASH_SIZE] = (uint8_t)c;
	}
}

size_t console_reply_line(char *buf, size_t max)
{
	size_t n = 0;
	for (int c; (c = uart_getc()) != '\n';)
		if (n + 1 < max)
			buf[n++] = (char)c;
	buf[n] = '\0';
	return n;
}

/*
 * Line ends: a terminal sends \r, a file \n, some hosts \r\n. All three become one '\n'.
 * A \n right after a \r is dropped when it comes, never waited for, so a lone \r is
 * acted on at once.
 */
int console_getc(void)
{
	static bool after_cr;
	for (;;) {
		int c = raw_getc();
		if (c == '\n' && after_cr) {
			after_cr = false;
			continue;
		}
		after_cr = c == '\r';
		return after_cr ? '\n' : c;
	}
}

static bool at_line_start = true;

void console_putc(char c)
{
	while (!(UART(LSR) & LSR_THRE))
		;
	UART(RBR_THR) = (uint8_t)c;
	at_line_start = c == '\n';
}

void console_fresh_line(void)
{
	if (!at_line_start)
		console_putc('\n');
}

/*
 * The prompt goes on a line of its own. After it the cursor counts as being at the
 * start of a line: the user's input, shown by the host, ends with a line end.
 */
void console_prompt(void)
{
	console_fresh_line();
	console_puts(PROMPT);
	at_line_start = true;
}

/* A message to the host: the escape byte, "amber ", the message, a newline. The host
 * shows none of it, so the cursor is where it was. */
void console_control(const char *message)
{
	bool was = at_line_start;
	console_putc(HOST_ESCAPE);
	console_puts("amber ");
	console_puts(message);
	console_putc('\n');
	at_line_start = was;
}

void console_write(const char *s, size_t n)
{
	while (n--)
		console_putc(*s++);
}

void console_puts(const char *s)
{
	while (*s)
		console_putc(*s++);
}

void power_off(int code)
{
	FINISHER = ((uint32_t)code << 16) | FINISHER_PASS;
	for (;;) /* the write above ends the machine; never reached */
		__asm__ volatile("wfi");
}
