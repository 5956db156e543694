/*
 * plic: the PLIC's gateway, pending bits, claim/complete, priorities and threshold,
 * driven by a real level-triggered source: the UART's THR-empty interrupt (source 10),
 * raised by setting IER.ETBEI while THR is empty and lowered by reading IIR (or by
 * clearing IER.ETBEI).  Everything runs with interrupts masked (mstatus.MIE = 0, mie = 0):
 * the PLIC's outputs are read from mip (MEIP = context 0, SEIP = context 1).
 *
 * Prints what it sees, one line per step, and checks nothing: the golden output is
 * QEMU's, so every line records QEMU's behaviour.
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
#define SCR 7
#define IER_THRI 0x02

#define PLIC(off) (*(volatile uint32_t *)(0x0c000000u + (off)))
#define PRIORITY(s) PLIC(4 * (s))
#define PENDING0 PLIC(0x1000)
#define ENABLE(ctx, w) PLIC(0x2000 + 0x80 * (ctx) + 4 * (w))
#define THRESHOLD(ctx) PLIC(0x200000 + 0x1000 * (ctx))
#define CLAIM(ctx) PLIC(0x200004 + 0x1000 * (ctx))
#define MIP_SEIP (1u << 9)
#define UART_IRQ 10

static void show(const char *step)
{
	uint32_t mip = CSR_READ(mip);
	printf("%-44s pending %d  meip %d  seip %d\n", step, (int)((PENDING0 >> UART_IRQ) & 1),
	       !!(mip & MIP_MEIP), !!(mip & MIP_SEIP));
}

static uint32_t claim(int ctx, const char *step)
{
	uint32_t id = CLAIM(ctx);
	printf("%-44s claim(%d) = %lu\n", step, ctx, (unsigned long)id);
	return id;
}

static void complete(int ctx, uint32_t id, const char *step)
{
	CLAIM(ctx) = id;
	show(step);
}

/*
 * Writes a context's enable word, then has the PLIC re-evaluate its outputs by writing
 * context 0's threshold with its own value.  QEMU 7.2 does not update MEIP/SEIP on an
 * enable write (only at the next claim, completion, priority or threshold write or line
 * report); Amber updates at once.  The rewrite makes both show the same thing.
 */
static void set_enable(int ctx, uint32_t bits)
{
	ENABLE(ctx, 0) = bits;
	THRESHOLD(0) = THRESHOLD(0);
}

/* Raises the UART's line: ETBEI from 0 to 1 while THR is empty. */
static void raise_thri(void)
{
	UART(IER) = 0;
	UART(IER) = IER_THRI;
}

static void drain(void)
{
	/* Back to a known state: line low, source 10 neither pending nor claimed. */
	uint32_t prio = PRIORITY(UART_IRQ), thr = THRESHOLD(0), en = ENABLE(0, 0);
	UART(IER) = 0;
	PRIORITY(UART_IRQ) = 1;
	THRESHOLD(0) = 0;
	ENABLE(0, 0) = 1u << UART_IRQ;
	CLAIM(0) = UART_IRQ;		/* ends a claim by either context */
	uint32_t id = CLAIM(0);		/* takes a latched request */
	if (id != 0)
		CLAIM(0) = id;
	PRIORITY(UART_IRQ) = prio;
	ENABLE(0, 0) = en;
	THRESHOLD(0) = thr;
}

int main(void)
{
	CSR_WRITE(mie, 0);
	CSR_CLEAR(mstatus, MSTATUS_MIE);

	/* Reset values the guest sees before touching anything. */
	printf("reset: lcr 0x%02x mcr 0x%02x ier 0x%02x iir 0x%02x lsr 0x%02x msr 0x%02x\n",
	       UART(LCR), UART(MCR), UART(IER), UART(IIR), UART(LSR), UART(6));
	printf("reset: priority[10] %lu threshold %lu %lu enable %08lx %08lx\n",
	       (unsigned long)PRIORITY(10), (unsigned long)THRESHOLD(0), (unsigned long)THRESHOLD(1),
	       (unsigned long)ENABLE(0, 0), (unsigned long)ENABLE(1, 0));

	UART(LCR) = 0x03;
	UART(FCR) = 0x00;
	UART(IER) = 0;
	PRIORITY(UART_IRQ) = 1;
	ENABLE(0, 0) = 1u << UART_IRQ;
	ENABLE(1, 0) = 0;
	THRESHOLD(0) = 0;
	show("setup, IER = 0");

	puts("-- 1. the line falls before the claim (IIR read)");
	raise_thri();
	show("IER.ETBEI 0 -> 1");
	printf("%-44s 0x%02x\n", "IIR", UART(IIR));
	show("after the IIR read");
	printf("%-44s 0x%02x\n", "IIR again", UART(IIR));
	if (claim(0, "claim") != 0)
		complete(0, UART_IRQ, "complete(10)");
	drain();

	puts("-- 2. the line falls before the claim (ETBEI cleared)");
	raise_thri();
	UART(IER) = 0;
	show("ETBEI 0 -> 1 -> 0");
	if (claim(0, "claim") != 0)
		complete(0, UART_IRQ, "complete(10)");
	drain();

	puts("-- 3. the line is still high at completion");
	raise_thri();
	claim(0, "claim");
	show("claimed, line high");
	claim(0, "second claim while claimed");
	complete(0, UART_IRQ, "complete(10), line still high");
	UART(SCR) = 0x11;
	show("after a SCR write");
	(void)UART(LSR);
	show("after a LSR read");
	UART(LCR) = 0x03;
	show("after a LCR write");
	UART(IER) = IER_THRI;
	show("after IER = ETBEI again (no change)");
	UART(THR) = '\n';	/* a whole line on the UART (the tests merge lines) */
	show("after a THR write");
	claim(0, "claim");
	complete(0, UART_IRQ, "complete(10)");
	drain();

	puts("-- 4. the line falls and rises again while claimed");
	raise_thri();
	claim(0, "claim");
	(void)UART(IIR);
	show("claimed, IIR read (line low)");
	raise_thri();
	show("claimed, line high again");
	complete(0, UART_IRQ, "complete(10)");
	claim(0, "claim");
	complete(0, UART_IRQ, "complete(10)");
	(void)UART(IIR);
	show("IIR read");
	drain();

	puts("-- 5. the line falls while claimed, then completion");
	raise_thri();
	claim(0, "claim");
	UART(IER) = 0;
	show("claimed, ETBEI cleared");
	complete(0, UART_IRQ, "complete(10)");
	claim(0, "claim");
	drain();

	puts("-- 6. completion with another source's id");
	raise_thri();
	claim(0, "claim");
	complete(0, 11, "complete(11)");
	claim(0, "claim");
	complete(0, 0, "complete(0)");
	claim(0, "claim");
	complete(0, 1000, "complete(1000)");
	claim(0, "claim");
	complete(1, UART_IRQ, "complete(10) on context 1");
	claim(0, "claim");
	complete(0, UART_IRQ, "complete(10) on context 0");
	drain();

	puts("-- 7. priorities and threshold");
	PRIORITY(UART_IRQ) = 0;
	raise_thri();
	show("priority 0, line high");
	claim(0, "claim");
	PRIORITY(UART_IRQ) = 3;
	THRESHOLD(0) = 3;
	show("priority 3, threshold 3");
	claim(0, "claim");
	THRESHOLD(0) = 2;
	show("threshold 2");
	THRESHOLD(0) = 7;
	show("threshold 7");
	PRIORITY(UART_IRQ) = 7;
	show("priority 7, threshold 7");
	THRESHOLD(0) = 6;
	show("threshold 6");
	claim(0, "claim");
	THRESHOLD(0) = 7;
	complete(0, UART_IRQ, "threshold 7, complete(10)");
	THRESHOLD(0) = 0;
	show("threshold 0");
	claim(0, "claim");
	raise_thri();
	show("line raised again");
	claim(0, "claim");
	complete(0, UART_IRQ, "complete(10)");
	raise_thri();
	set_enable(0, 0);
	show("disabled on context 0");
	claim(0, "claim (disabled)");
	set_enable(1, 1u << UART_IRQ);
	show("enabled on context 1");
	claim(1, "claim");
	complete(1, UART_IRQ, "complete(10) on context 1");
	raise_thri();
	set_enable(0, 1u << UART_IRQ);
	show("raised, enabled on both");
	claim(1, "claim");
	show("claimed by context 1");
	claim(0, "claim");
	UART(THR) = '\n';	/* a whole line on the UART (the tests merge lines) */
	show("claimed by context 1, THR written");
	claim(0, "claim");
	complete(0, UART_IRQ, "complete(10) on context 0 (claimed by 1)");
	claim(0, "claim");
	UART(THR) = '\n';	/* a whole line on the UART (the tests merge lines) */
	show("THR written");
	claim(0, "claim");
	complete(0, UART_IRQ, "complete(10)");
	set_enable(1, 0);
	drain();

	puts("-- 8. register write masks");
	PRIORITY(UART_IRQ) = 8;
	printf("priority = 8           -> %lu\n", (unsigned long)PRIORITY(UART_IRQ));
	PRIORITY(UART_IRQ) = 0xffffffffu;
	printf("priority = 0xffffffff  -> %lu\n", (unsigned long)PRIORITY(UART_IRQ));
	PRIORITY(UART_IRQ) = 13;
	printf("priority = 13          -> %lu\n", (unsigned long)PRIORITY(UART_IRQ));
	THRESHOLD(0) = 9;
	printf("threshold = 9          -> %lu\n", (unsigned long)THRESHOLD(0));
	THRESHOLD(0) = 0xffffffffu;
	printf("threshold = 0xffffffff -> %lu\n", (unsigned long)THRESHOLD(0));
	THRESHOLD(0) = 0;
	PRIORITY(0) = 5;
	printf("priority[0] = 5        -> %lu\n", (unsigned long)PRIORITY(0));
	PRIORITY(95) = 5;
	printf("priority[95] = 5       -> %lu\n", (unsigned long)PRIORITY(95));
	PRIORITY(0) = 0;
	PRIORITY(95) = 0;
	ENABLE(0, 0) = 0xffffffffu;
	printf("enable[0][0] = ~0      -> %08lx\n", (unsigned long)ENABLE(0, 0));
	ENABLE(0, 2) = 0xffffffffu;
	printf("enable[0][2] = ~0      -> %08lx\n", (unsigned long)ENABLE(0, 2));
	ENABLE(0, 3) = 0xffffffffu;
	printf("enable[0][3] = ~0      -> %08lx\n", (unsigned long)ENABLE(0, 3));
	ENABLE(0, 0) = 0;
	ENABLE(0, 2) = 0;
	printf("pending words          -> %08lx %08lx %08lx\n", (unsigned long)PENDING0,
	       (unsigned long)PLIC(0x1004), (unsigned long)PLIC(0x1008));
	printf("context 2 threshold    -> %lu\n", (unsigned long)PLIC(0x202000));

	puts("plic: done");
	return 0;
}
