/*
 * clint-regs: the CLINT's registers as the guest sees them, with interrupts masked:
 * msip's writable bits and mip.MSIP, mtimecmp read back and MTIP as each half is
 * written, mtime written (high word; the low word keeps counting), other harts'
 * registers, and byte/halfword accesses (which trap or not).  Host time never shows:
 * only values the program wrote, booleans with wide margins, and trap kinds are printed.
 * Values read back stay below 2^53: Amber saturates mtime and mtimecmp there (QEMU keeps
 * 64 bits), so for 0xffffffff in the high word only MTIP is printed.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/riscv.h"
#include "include/trap.h"

#define MTIMECMP_LO CLINT_MTIMECMP_LO
#define MTIMECMP_HI CLINT_MTIMECMP_HI

static int mtip(void) { return !!(CSR_READ(mip) & MIP_MTIP); }
static int msip(void) { return !!(CSR_READ(mip) & MIP_MSIP); }

static void access(const char *what, uintptr_t a, int size, int store)
{
	uint32_t at, v = 0xdeadbeef;
	switch (size * 2 + store) {
	case 2: TRAP_EXPECT(at, "lbu t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(a), [v] "r"(&v)); break;
	case 3: TRAP_EXPECT(at, "li t1, 1\n\tsb t1, 0(%[a])", [a] "r"(a)); break;
	case 4: TRAP_EXPECT(at, "lhu t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(a), [v] "r"(&v)); break;
	default: TRAP_EXPECT(at, "li t1, 1\n\tsh t1, 0(%[a])", [a] "r"(a)); break;
	}
	(void)at;
	if (trap.count)
		printf("%-28s trap %lu, mtval %s\n", what, (unsigned long)trap.cause,
		       trap.tval == (uint32_t)a ? "= address" : "other");
	else if (!store)
		printf("%-28s 0x%lx\n", what, (unsigned long)v);
	else
		printf("%-28s no trap\n", what);
}

int main(void)
{
	CSR_WRITE(mie, 0);
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	trap_install_direct();

	printf("reset: msip %lu mtimecmp 0x%08lx%08lx MTIP %d MSIP %d\n", (unsigned long)*CLINT_MSIP,
	       (unsigned long)*MTIMECMP_HI, (unsigned long)*MTIMECMP_LO, mtip(), msip());

	puts("-- msip");
	*CLINT_MSIP = 0xffffffffu;
	printf("msip = 0xffffffff          -> %lu, MSIP %d\n", (unsigned long)*CLINT_MSIP, msip());
	*CLINT_MSIP = 2;
	printf("msip = 2                   -> %lu, MSIP %d\n", (unsigned long)*CLINT_MSIP, msip());
	*CLINT_MSIP = 1;
	printf("msip = 1                   -> %lu, MSIP %d\n", (unsigned long)*CLINT_MSIP, msip());
	*CLINT_MSIP = 0;
	printf("msip = 0                   -> %lu, MSIP %d\n", (unsigned long)*CLINT_MSIP, msip());
	printf("hart 1 msip (0x2000004)    -> %lu\n", (unsigned long)*(volatile uint32_t *)0x02000004u);

	puts("-- mtimecmp");
	*MTIMECMP_HI = 0xffffffffu;
	printf("hi = 0xffffffff            -> MTIP %d\n", mtip());
	*MTIMECMP_LO = 0xffffffffu;
	printf("lo = 0xffffffff            -> MTIP %d\n", mtip());
	*MTIMECMP_HI = 0;
	printf("hi = 0 (lo 0xffffffff)     -> MTIP %d\n", mtip());
	*MTIMECMP_LO = 0;
	printf("lo = 0                     -> MTIP %d\n", mtip());
	*MTIMECMP_HI = 1;
	printf("hi = 1                     -> 0x%08lx%08lx MTIP %d\n", (unsigned long)*MTIMECMP_HI,
	       (unsigned long)*MTIMECMP_LO, mtip());
	*MTIMECMP_HI = 0x001fffffu;
	printf("hi = 0x001fffff            -> 0x%08lx%08lx MTIP %d\n", (unsigned long)*MTIMECMP_HI,
	       (unsigned long)*MTIMECMP_LO, mtip());
	printf("hart 1 mtimecmp (0x2004008) -> %lu\n", (unsigned long)*(volatile uint32_t *)0x02004008u);

	puts("-- mtime");
	*CLINT_MTIME_LO = 0;
	*CLINT_MTIME_HI = 0x00123456u;
	printf("mtime hi = 0x00123456      -> hi 0x%08lx\n", (unsigned long)*CLINT_MTIME_HI);
	*MTIMECMP_LO = 0;
	*MTIMECMP_HI = 0x00123457u;
	printf("mtimecmp = 0x00123457_00000000 -> MTIP %d\n", mtip());
	*MTIMECMP_HI = 0x00123456u;
	printf("mtimecmp = 0x00123456_00000000 -> MTIP %d\n", mtip());
	*CLINT_MTIME_HI = 0x00123455u;
	printf("mtime hi = 0x00123455      -> MTIP %d\n", mtip());
	*CLINT_MTIME_LO = 0;
	*CLINT_MTIME_HI = 0;
	printf("mtime = 0                  -> hi 0x%08lx MTIP %d\n", (unsigned long)*CLINT_MTIME_HI, mtip());
	*MTIMECMP_HI = 0xffffffffu;
	*MTIMECMP_LO = 0xffffffffu;

	puts("-- byte and halfword accesses");
	access("lbu msip", 0x02000000u, 1, 0);
	access("sb msip", 0x02000000u, 1, 1);
	access("lhu msip", 0x02000000u, 2, 0);
	access("sh msip", 0x02000000u, 2, 1);
	access("lbu mtimecmp", 0x02004000u, 1, 0);
	access("sh mtimecmp+2", 0x02004002u, 2, 1);
	access("lhu mtime+2", 0x0200bffau, 2, 0);
	printf("msip %lu, MTIP %d\n", (unsigned long)*CLINT_MSIP, mtip());
	*CLINT_MSIP = 0;

	puts("clint-regs: done");
	return 0;
}
