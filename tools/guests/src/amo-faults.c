/*
 * amo-faults: every AMO (amoswap/add/xor/and/or/min/max/minu/maxu.w) at misaligned
 * addresses, at unmapped addresses, on the boot ROM and on device registers; lr.w and
 * sc.w next to them.
 *
 * A misaligned AMO must raise an address-misaligned exception and an AMO to nothing an
 * access fault, with mtval = the address, rd and memory untouched.  The ISA says
 * store/AMO (causes 6 and 7); QEMU 7.2 reports the load causes (4 and 5), fixed in QEMU
 * 9.2 ("target/riscv: AMO operations always raise store/AMO fault").  Amber raises 6 and
 * 7, so this program prints the kind of exception, not its number (lr.w's, a load, is
 * printed).  Misaligned sc.w is left out: QEMU 7.2 fails it without trapping, the ISA
 * (and Amber) trap.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/riscv.h"
#include "include/trap.h"

static volatile uint32_t words[4] __attribute__((aligned(16))) = {
	0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00,
};

/* One function per AMO: t1 = 5 is the operand, rd (t2) starts as 0x5a5a5a5a and is stored to *rd if no trap. */
#define DEF_AMO(fn, insn) \
	static void fn(uintptr_t a, uint32_t *rd) \
	{ \
		uint32_t at; \
		TRAP_EXPECT(at, "li t1, 5\n\tli t2, 0x5a5a5a5a\n\t" insn " t2, t1, (%[a])\n\tsw t2, 0(%[r])", \
			    [a] "r"(a), [r] "r"(rd)); \
		(void)at; \
	}
DEF_AMO(amoswap, "amoswap.w")
DEF_AMO(amoadd, "amoadd.w")
DEF_AMO(amoxor, "amoxor.w")
DEF_AMO(amoand, "amoand.w.aq")
DEF_AMO(amoor, "amoor.w.rl")
DEF_AMO(amomin, "amomin.w.aqrl")
DEF_AMO(amomax, "amomax.w")
DEF_AMO(amominu, "amominu.w")
DEF_AMO(amomaxu, "amomaxu.w")

static const struct {
	const char *name;
	void (*run)(uintptr_t, uint32_t *);
} amos[] = {
	{ "amoswap.w", amoswap }, { "amoadd.w", amoadd }, { "amoxor.w", amoxor },
	{ "amoand.w", amoand }, { "amoor.w", amoor }, { "amomin.w", amomin },
	{ "amomax.w", amomax }, { "amominu.w", amominu }, { "amomaxu.w", amomaxu },
};
#define N_AMOS (sizeof amos / sizeof amos[0])

static const char *kind(uint32_t cause)
{
	switch (cause) {
	case CAUSE_MISALIGNED_LOAD:
	case CAUSE_MISALIGNED_STORE:
		return "address misaligned";
	case CAUSE_LOAD_ACCESS:
	case CAUSE_STORE_ACCESS:
		return "access fault";
	default:
		return "OTHER";
	}
}

/* Runs AMO i at a; prints the trap (kind, mtval) or what rd got. */
static void report(unsigned i, uintptr_t a, const char *where)
{
	uint32_t rd = 0xdeadbeef;
	amos[i].run(a, &rd);
	if (trap.count)
		printf("%-10s %-14s: %s, mtval %s, rd not written: %s\n", amos[i].name, where,
		       kind(trap.cause), trap.tval == (uint32_t)a ? "= address" : "WRONG",
		       rd == 0xdeadbeef ? "yes" : "no");
	else
		printf("%-10s %-14s: no trap, rd 0x%08lx\n", amos[i].name, where, (unsigned long)rd);
}

static void lr_sc(uintptr_t a, const char *where)
{
	uint32_t at, rd = 0xdeadbeef;
	TRAP_EXPECT(at, "li t2, 0x5a5a5a5a\n\tlr.w t2, (%[a])\n\tsw t2, 0(%[r])", [a] "r"(a), [r] "r"(&rd));
	if (trap.count)
		printf("%-10s %-14s: cause %lu, mtval %s\n", "lr.w", where, (unsigned long)trap.cause,
		       trap.tval == (uint32_t)a ? "= address" : "WRONG");
	else
		printf("%-10s %-14s: no trap, rd 0x%08lx\n", "lr.w", where, (unsigned long)rd);
}

int main(void)
{
	trap_install_direct();
	uintptr_t w = (uintptr_t)words;
	char where[16];

	puts("-- misaligned");
	for (int off = 1; off < 4; off++) {
		snprintf(where, sizeof where, "words+%d", off);
		for (unsigned i = 0; i < N_AMOS; i++)
			report(i, w + off, where);
		lr_sc(w + off, where);
	}
	printf("memory untouched: %s\n",
	       words[0] == 0x11223344 && words[1] == 0x55667788 && words[2] == 0x99aabbcc ? "yes" : "no");

	puts("-- unmapped");
	for (unsigned i = 0; i < N_AMOS; i++) {
		report(i, 0x88000000u, "0x88000000");
		report(i, 0x00000800u, "0x00000800");
	}
	lr_sc(0x88000000u, "0x88000000");
	{
		uint32_t at, rd = 0xdeadbeef;
		TRAP_EXPECT(at, "li t1, 5\n\tsc.w t2, t1, (%[a])\n\tsw t2, 0(%[r])", [a] "r"(0x88000000u), [r] "r"(&rd));
		printf("%-10s %-14s: trap %lu, rd %lu\n", "sc.w", "0x88000000", (unsigned long)trap.count,
		       (unsigned long)rd);
	}

	puts("-- aligned, in RAM");
	for (unsigned i = 0; i < N_AMOS; i++) {
		words[3] = 0xfffffff0u;
		report(i, (uintptr_t)&words[3], "words[3]");
		printf("%-10s %-14s  memory now 0x%08lx\n", "", "", (unsigned long)words[3]);
	}

	puts("-- devices and ROM");
	volatile uint32_t *msip = (volatile uint32_t *)0x02000000u;
	volatile uint32_t *prio10 = (volatile uint32_t *)(0x0c000000u + 4 * 10);
	volatile uint32_t *rom = (volatile uint32_t *)0x00001000u;
	report(4, (uintptr_t)msip, "CLINT msip");
	printf("%-10s %-14s  msip now %lu, mip.MSIP %d\n", "", "", (unsigned long)*msip,
	       !!(CSR_READ(mip) & MIP_MSIP));
	report(0, (uintptr_t)msip, "CLINT msip");
	printf("%-10s %-14s  msip now %lu\n", "", "", (unsigned long)*msip);
	*msip = 0;
	*prio10 = 2;
	report(1, (uintptr_t)prio10, "PLIC prio[10]");
	printf("%-10s %-14s  priority now %lu\n", "", "", (unsigned long)*prio10);
	*prio10 = 0;
	report(1, (uintptr_t)rom, "ROM 0x1000");
	printf("%-10s %-14s  ROM word now 0x%08lx\n", "", "", (unsigned long)*rom);
	lr_sc((uintptr_t)rom, "ROM 0x1000");

	puts("amo-faults: done");
	return 0;
}
