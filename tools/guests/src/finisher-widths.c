/*
 * finisher-widths: the SiFive test device at 0x100000 with other widths than a word:
 * byte loads and stores (access faults on QEMU), a halfword load, a halfword store of a
 * value it ignores, then a halfword store of 0x3333 ("fail" with code 0), which ends
 * the program with exit status 0 although main would return 5.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/riscv.h"
#include "include/trap.h"

#define FINISHER 0x100000u

static void report(const char *what)
{
	if (trap.count)
		printf("%-24s trap %lu, mtval %s\n", what, (unsigned long)trap.cause,
		       trap.tval == FINISHER ? "= address" : "other");
	else
		printf("%-24s no trap\n", what);
}

int main(void)
{
	trap_install_direct();
	uint32_t at, v = 0xdeadbeef;
	TRAP_EXPECT(at, "lbu t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(FINISHER), [v] "r"(&v));
	report("lbu");
	TRAP_EXPECT(at, "li t1, 0x55\n\tsb t1, 0(%[a])", [a] "r"(FINISHER));
	report("sb 0x55");
	TRAP_EXPECT(at, "lhu t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(FINISHER), [v] "r"(&v));
	report("lhu");
	printf("%-24s 0x%08lx\n", "lhu read", (unsigned long)v);
	TRAP_EXPECT(at, "li t1, 0x1234\n\tsh t1, 0(%[a])", [a] "r"(FINISHER));
	report("sh 0x1234 (ignored)");
	TRAP_EXPECT(at, "li t1, 0x3333\n\tsh t1, 2(%[a])", [a] "r"(FINISHER));
	report("sh 0x3333 at +2");
	puts("sh 0x3333 at +0: the finisher ends the program with status 0");
	TRAP_EXPECT(at, "li t1, 0x3333\n\tsh t1, 0(%[a])", [a] "r"(FINISHER));
	(void)at;
	puts("finisher-widths: still running (wrong)");
	return 5;
}
