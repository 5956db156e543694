/*
 * traps: machine-mode traps and the CSRs around them.
 *
 * - machine information CSRs: misa (printed: QEMU's value is the oracle), mhartid,
 *   mvendorid, marchid/mimpid readable;
 * - mscratch round trip with every Zicsr form (csrrw/s/c and the immediate forms);
 * - mtvec direct mode: ecall (cause 11), ebreak and c.ebreak (cause 3),
 *   illegal instructions (cause 2, mtval = instruction bits), writes to read-only
 *   CSRs, unknown CSRs, load/store/fetch access faults (causes 5/7/1, mtval = address);
 * - mstatus MIE/MPIE/MPP across a trap and mret; an explicit mret; a round trip to
 *   U-mode (privileged CSR -> illegal instruction; ecall from U = cause 8);
 * - mtvec vectored mode: synchronous exceptions still go to BASE; a machine timer
 *   interrupt (mtimecmp = 0 is pending from reset) goes to BASE + 4*7, a machine
 *   software interrupt (CLINT msip) to BASE + 4*3; wfi with a pending, enabled
 *   interrupt and mstatus.MIE = 0 falls through;
 * - cycle / instret / time readable and monotonic (only booleans are printed).
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/riscv.h"
#include "include/trap.h"

static void check_trap(const char *what, uint32_t count, uint32_t cause, uint32_t epc, uint32_t tval)
{
	char buf[96];
	snprintf(buf, sizeof buf, "%s: trap count", what);
	CHECK_EQ(buf, trap.count, count);
	snprintf(buf, sizeof buf, "%s: mcause", what);
	CHECK_EQ(buf, trap.cause, cause);
	snprintf(buf, sizeof buf, "%s: mepc", what);
	CHECK_EQ(buf, trap.epc, epc);
	snprintf(buf, sizeof buf, "%s: mtval", what);
	CHECK_EQ(buf, trap.tval, tval);
}

static void info_csrs(void)
{
	uint32_t misa = CSR_READ(misa);
	char ext[27];
	int n = 0;
	for (int i = 0; i < 26; i++)
		if (misa & (1u << i))
			ext[n++] = (char)('A' + i);
	ext[n] = 0;
	printf("misa: 0x%08lx (MXL=%lu, extensions %s)\n", (unsigned long)misa,
	       (unsigned long)(misa >> 30), ext);
	CHECK_EQ("misa.MXL", misa >> 30, 1);
	CHECK("misa has I" && (misa & (1u << 8)));
	CHECK("misa has M" && (misa & (1u << 12)));
	CHECK("misa has A" && (misa & (1u << 0)));
	CHECK("misa has U" && (misa & (1u << 20)));
	CHECK_EQ("mhartid", CSR_READ(mhartid), 0);
	CHECK_EQ("mvendorid", CSR_READ(mvendorid), 0);
	/* marchid/mimpid encode QEMU's version: only check they are readable. */
	(void)CSR_READ(marchid);
	(void)CSR_READ(mimpid);
	uint32_t mstatus = CSR_READ(mstatus);
	printf("mstatus at main: 0x%08lx\n", (unsigned long)mstatus);
	printf("mie at main: 0x%08lx\n", (unsigned long)CSR_READ(mie));
	printf("mip.MTIP at main (mtimecmp = 0 since reset): %d\n", (CSR_READ(mip) & MIP_MTIP) != 0);
}

static void scratch(void)
{
	uint32_t old, v;

	CSR_WRITE(mscratch, 0x12345678u);
	CHECK_EQ("mscratch write/read", CSR_READ(mscratch), 0x12345678u);
	old = CSR_SWAP(mscratch, 0xcafef00du);
	CHECK_EQ("csrrw old value", old, 0x12345678u);
	CHECK_EQ("csrrw new value", CSR_READ(mscratch), 0xcafef00du);

	__asm__ volatile(ASM_ZICSR("csrrs %0, mscratch, %1") : "=r"(old) : "r"(0x0000000fu));
	CHECK_EQ("csrrs old", old, 0xcafef00du);
	CHECK_EQ("csrrs new", CSR_READ(mscratch), 0xcafef00fu);
	__asm__ volatile(ASM_ZICSR("csrrc %0, mscratch, %1") : "=r"(old) : "r"(0xff000000u));
	CHECK_EQ("csrrc old", old, 0xcafef00fu);
	CHECK_EQ("csrrc new", CSR_READ(mscratch), 0x00fef00fu);

	__asm__ volatile(ASM_ZICSR("csrrwi %0, mscratch, 31") : "=r"(old));
	CHECK_EQ("csrrwi old", old, 0x00fef00fu);
	CHECK_EQ("csrrwi new", CSR_READ(mscratch), 31);
	__asm__ volatile(ASM_ZICSR("csrrci %0, mscratch, 0x15") : "=r"(old));
	CHECK_EQ("csrrci old", old, 31);
	CHECK_EQ("csrrci new", CSR_READ(mscratch), 0x0a);
	__asm__ volatile(ASM_ZICSR("csrrsi %0, mscratch, 0x10") : "=r"(old));
	CHECK_EQ("csrrsi old", old, 0x0a);
	CHECK_EQ("csrrsi new", CSR_READ(mscratch), 0x1a);
	/* csrrs/csrrc with x0 / zero immediate: read only. */
	__asm__ volatile(ASM_ZICSR("csrrs %0, mscratch, zero") : "=r"(v));
	CHECK_EQ("csrrs x0 reads", v, 0x1a);
	__asm__ volatile(ASM_ZICSR("csrrci %0, mscratch, 0") : "=r"(v));
	CHECK_EQ("csrrci 0 reads", v, 0x1a);
	CSR_WRITE(mscratch, 0);
}

static void direct_mode(void)
{
	uint32_t at, v;

	trap_install_direct();
	CHECK_EQ("mtvec direct", CSR_READ(mtvec), (uint32_t)&trap_direct);

	/* ecall: cause 11, mepc = the ecall, the handler skips 4 bytes. */
	trap_reset();
	__asm__ volatile("la %0, 1f\n1:\tecall" : "=&r"(at) :: "memory");
	check_trap("ecall", 1, CAUSE_ECALL_M, at, 0);
	CHECK_EQ("ecall: slot", trap.slot, TRAP_SLOT_DIRECT);

	/* ebreak that is not a semihosting sequence. */
	trap_reset();
	__asm__ volatile(".option push\n.option norvc\nla %0, 1f\n1:\tebreak\n.option pop" : "=&r"(at) :: "memory");
	CHECK_EQ("ebreak: trap count", trap.count, 1);
	CHECK_EQ("ebreak: mcause", trap.cause, CAUSE_BREAKPOINT);
	CHECK_EQ("ebreak: mepc", trap.epc, at);
	printf("ebreak: mtval = 0x%08lx%s\n", (unsigned long)trap.tval,
	       trap.tval == at ? " (the pc)" : "");
#ifdef __riscv_compressed
	trap_reset();
	__asm__ volatile(".option push\n.option rvc\nla %0, 1f\n1:\tc.ebreak\n.option pop" : "=&r"(at) :: "memory");
	CHECK_EQ("c.ebreak: trap count", trap.count, 1);
	CHECK_EQ("c.ebreak: mcause", trap.cause, CAUSE_BREAKPOINT);
	CHECK_EQ("c.ebreak: mepc", trap.epc, at);
	printf("c.ebreak: mtval = 0x%08lx%s\n", (unsigned long)trap.tval,
	       trap.tval == at ? " (the pc)" : "");
#endif

	/* Illegal instructions: mtval = the instruction bits. */
	TRAP_EXPECT(at, ".word 0xffffffff");
	check_trap("illegal .word 0xffffffff", 1, CAUSE_ILLEGAL, at, 0xffffffffu);
	/* All-zero bits are illegal whether read as 16 or 32 bits. */
	TRAP_EXPECT(at, ".word 0");
	check_trap("illegal .word 0", 1, CAUSE_ILLEGAL, at, 0);
	/* "uret" (the N extension's user-mode return) is not implemented. */
	TRAP_EXPECT(at, ".word 0x00200073");
	check_trap("illegal uret", 1, CAUSE_ILLEGAL, at, 0x00200073u);

	/* CSRs: writing a read-only CSR is illegal, reading it is not. */
	TRAP_EXPECT(at, "csrrw zero, mvendorid, zero");
	check_trap("csrrw zero, mvendorid, zero", 1, CAUSE_ILLEGAL, at, 0xf1101073u);
	TRAP_EXPECT(at, "li t1, 1\n\tcsrrs zero, mhartid, t1");
	check_trap("csrrs zero, mhartid, t1 (t1 != 0)", 1, CAUSE_ILLEGAL, at + 4, 0xf1432073u);
	TRAP_EXPECT(at, "csrrs t1, mvendorid, zero");
	CHECK_EQ("csrrs t1, mvendorid, zero: no trap", trap.count, 0);
	TRAP_EXPECT(at, "csrrci t1, marchid, 0");
	CHECK_EQ("csrrci t1, marchid, 0: no trap", trap.count, 0);
	TRAP_EXPECT(at, "csrw cycle, zero");
	check_trap("csrw cycle (read-only)", 1, CAUSE_ILLEGAL, at, 0xc0001073u);
	TRAP_EXPECT(at, "csrr t1, 0x7c0");
	check_trap("csrr unknown CSR 0x7c0", 1, CAUSE_ILLEGAL, at, 0x7c002373u);
	TRAP_EXPECT(at, "csrwi 0x8ff, 1");
	check_trap("csrwi unknown CSR 0x8ff", 1, CAUSE_ILLEGAL, at, 0x8ff0d073u);

	/* Access faults: nothing is mapped at 0x0-0xfff or above the end of RAM. */
	TRAP_EXPECT(at, "li t1, 0\n\tlw t1, 0(t1)");
	check_trap("lw from 0x00000000", 1, CAUSE_LOAD_ACCESS, at + 4, 0);
	TRAP_EXPECT(at, "li t1, 0x90000000\n\tlbu t1, 3(t1)");
	check_trap("lbu from 0x90000003", 1, CAUSE_LOAD_ACCESS, at + 4, 0x90000003u);
	TRAP_EXPECT(at, "li t1, 0x1000\n\tlh t1, -8(t1)");
	check_trap("lh from 0x00000ff8", 1, CAUSE_LOAD_ACCESS, at + 4, 0x00000ff8u);
	TRAP_EXPECT(at, "li t1, 0\n\tsw t1, 0(t1)");
	check_trap("sw to 0x00000000", 1, CAUSE_STORE_ACCESS, at + 4, 0);
	TRAP_EXPECT(at, "li t1, 0x90000000\n\tsb t1, 1(t1)");
	check_trap("sb to 0x90000001", 1, CAUSE_STORE_ACCESS, at + 4, 0x90000001u);
	TRAP_EXPECT(at, "li t1, 0x90000000\n\tjalr zero, 0(t1)");
	check_trap("jump to 0x90000000", 1, CAUSE_FETCH_ACCESS, 0x90000000u, 0x90000000u);
	TRAP_EXPECT(at, "jalr zero, 0(zero)");
	check_trap("jump to 0x00000000", 1, CAUSE_FETCH_ACCESS, 0, 0);

	/* fence.i and wfi-less system instructions do not trap in M-mode. */
	TRAP_EXPECT(at, "fence.i\n\tfence\n\tfence.tso");
	CHECK_EQ("fence.i/fence/fence.tso: no trap", trap.count, 0);
	(void)v;
}

static void mstatus_stack(void)
{
	uint32_t at, ms;

	/* MIE=1 (no interrupt is enabled in mie), MPIE=0, MPP=U before the trap. */
	CSR_WRITE(mie, 0);
	CSR_CLEAR(mstatus, MSTATUS_MPIE | MSTATUS_MPP);
	CSR_SET(mstatus, MSTATUS_MIE);
	TRAP_EXPECT(at, "ecall");
	ms = trap.mstatus;
	CHECK_EQ("trap with MIE=1: MIE in handler", ms & MSTATUS_MIE, 0);
	CHECK_EQ("trap with MIE=1: MPIE in handler", ms & MSTATUS_MPIE, MSTATUS_MPIE);
	CHECK_EQ("trap with MIE=1: MPP in handler", ms & MSTATUS_MPP, MSTATUS_MPP_M);
	ms = CSR_READ(mstatus);
	CHECK_EQ("after mret: MIE = old MPIE", ms & MSTATUS_MIE, MSTATUS_MIE);
	CHECK_EQ("after mret: MPIE = 1", ms & MSTATUS_MPIE, MSTATUS_MPIE);
	CHECK_EQ("after mret: MPP = U", ms & MSTATUS_MPP, 0);

	/* MIE=0 before the trap. */
	CSR_CLEAR(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
	TRAP_EXPECT(at, "ecall");
	ms = trap.mstatus;
	CHECK_EQ("trap with MIE=0: MIE in handler", ms & MSTATUS_MIE, 0);
	CHECK_EQ("trap with MIE=0: MPIE in handler", ms & MSTATUS_MPIE, 0);
	CHECK_EQ("trap with MIE=0: MPP in handler", ms & MSTATUS_MPP, MSTATUS_MPP_M);
	ms = CSR_READ(mstatus);
	CHECK_EQ("after mret: MIE = 0", ms & MSTATUS_MIE, 0);
	CHECK_EQ("after mret: MPIE = 1", ms & MSTATUS_MPIE, MSTATUS_MPIE);

	/* An explicit mret to M-mode: MIE <- MPIE, MPIE <- 1, MPP <- U, pc <- mepc. */
	CSR_SET(mstatus, MSTATUS_MPP_M);
	CSR_CLEAR(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
	TRAP_EXPECT(at, "la t1, 1f\n\tcsrw mepc, t1\n\tmret\n\tebreak\n1:");
	CHECK_EQ("explicit mret: no trap", trap.count, 0);
	ms = CSR_READ(mstatus);
	CHECK_EQ("explicit mret: MIE = old MPIE = 0", ms & MSTATUS_MIE, 0);
	CHECK_EQ("explicit mret: MPIE = 1", ms & MSTATUS_MPIE, MSTATUS_MPIE);
	CHECK_EQ("explicit mret: MPP = U", ms & MSTATUS_MPP, 0);
	CHECK_EQ("explicit mret: mepc unchanged", CSR_READ(mepc), at + 8 + 4 + 4 + 4);
	CSR_CLEAR(mstatus, MSTATUS_MPIE);

	/*
	 * A round trip through U-mode: mret with MPP=U; in U-mode reading mstatus is an
	 * illegal instruction; then a load works and ecall (cause 8) brings us back to M.
	 */
	static volatile uint32_t cell = 0x600dcafeu;
	uint32_t loaded = 0;
	/*
	 * QEMU implements PMP: with no PMP entry U-mode may access nothing, and QEMU 7.2
	 * then refuses the mret to U-mode (illegal instruction).  One NAPOT entry covering
	 * the whole address space with R/W/X lets U-mode run.
	 */
	CSR_WRITE(pmpaddr0, 0xffffffffu);
	CSR_WRITE(pmpcfg0, 0x1fu);	/* A=NAPOT, X, W, R */
	CSR_CLEAR(mstatus, MSTATUS_MPP);
	trap_reset();
	__asm__ volatile(
		".option push\n\t.option norvc\n\t.option arch, +zicsr\n\t"
		"la t0, 1f\n\t"
		"csrw mepc, t0\n\t"
		"mret\n"
		"1:\tcsrr t0, mstatus\n\t"		/* U-mode: illegal, skipped */
		"lw %0, 0(%1)\n\t"
		"ecall\n\t"				/* back to M */
		".option pop"
		: "=&r"(loaded) : "r"(&cell) : "t0", "memory");
	CHECK_EQ("U-mode: trap count", trap.count, 2);
	CHECK_EQ("U-mode: csrr mstatus -> illegal", trap.hist_cause[0], CAUSE_ILLEGAL);
	CHECK_EQ("U-mode: csrr mstatus -> mtval", trap.hist_tval[0], 0x300022f3u);
	CHECK_EQ("U-mode: MPP = U on the illegal trap", trap.hist_mstatus[0] & MSTATUS_MPP, 0);
	CHECK_EQ("U-mode: ecall from U -> cause 8", trap.hist_cause[1], CAUSE_ECALL_U);
	CHECK_EQ("U-mode: MPP = U on the ecall", trap.hist_mstatus[1] & MSTATUS_MPP, 0);
	CHECK_EQ("U-mode: load in U-mode", loaded, 0x600dcafeu);
	CHECK_EQ("U-mode: back in M (mstatus readable, MPP = U after mret)",
		 CSR_READ(mstatus) & MSTATUS_MPP, 0);
}

static void vectored_mode(void)
{
	uint32_t at, before, after;

	trap_install_vectored();
	CHECK_EQ("mtvec vectored", CSR_READ(mtvec), (uint32_t)trap_vectors | 1u);

	/* Synchronous exceptions always go to BASE. */
	TRAP_EXPECT(at, "ecall");
	check_trap("vectored ecall", 1, CAUSE_ECALL_M, at, 0);
	CHECK_EQ("vectored ecall: slot", trap.slot, 0);
	TRAP_EXPECT(at, ".word 0xffffffff");
	check_trap("vectored illegal", 1, CAUSE_ILLEGAL, at, 0xffffffffu);
	CHECK_EQ("vectored illegal: slot", trap.slot, 0);
	TRAP_EXPECT(at, "li t1, 0\n\tlw t1, 0(t1)");
	CHECK_EQ("vectored load fault: slot", trap.slot, 0);

	/* Machine timer interrupt: mtimecmp = 0 <= mtime, so MTIP is pending. */
	*CLINT_MTIMECMP_HI = 0;
	*CLINT_MTIMECMP_LO = 0;
	CHECK_EQ("mtimecmp=0: mip.MTIP", CSR_READ(mip) & MIP_MTIP, MIP_MTIP);
	trap_reset();
	CSR_WRITE(mie, MIP_MTIP);
	__asm__ volatile(ASM_ZICSR("la %0, 1f\n1:\tcsrs mstatus, %2\n\tnop\n\tnop\n\tla %1, 2f\n2:")
			 : "=&r"(before), "=&r"(after) : "r"(MSTATUS_MIE) : "memory");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	CHECK_EQ("timer interrupt: taken once", trap.count, 1);
	CHECK_EQ("timer interrupt: mcause", trap.cause, CAUSE_INTERRUPT | 7);
	CHECK_EQ("timer interrupt: slot 7", trap.slot, 7);
	CHECK_EQ("timer interrupt: mtval", trap.tval, 0);
	CHECK("timer interrupt: mepc in the window" && trap.epc >= before && trap.epc <= after);
	CHECK_EQ("timer interrupt: MPIE in handler", trap.mstatus & MSTATUS_MPIE, MSTATUS_MPIE);
	CHECK_EQ("timer interrupt: MIE in handler", trap.mstatus & MSTATUS_MIE, 0);
	*CLINT_MTIMECMP_HI = 0xffffffffu;
	*CLINT_MTIMECMP_LO = 0xffffffffu;
	CHECK_EQ("mtimecmp=max: mip.MTIP", CSR_READ(mip) & MIP_MTIP, 0);

	/* Machine software interrupt through the CLINT's msip. */
	CHECK_EQ("msip=0: mip.MSIP", CSR_READ(mip) & MIP_MSIP, 0);
	*CLINT_MSIP = 1;
	CHECK_EQ("msip read back", *CLINT_MSIP, 1);
	CHECK_EQ("msip=1: mip.MSIP", CSR_READ(mip) & MIP_MSIP, MIP_MSIP);
	trap_reset();
	CSR_WRITE(mie, MIP_MSIP);
	CSR_SET(mstatus, MSTATUS_MIE);
	__asm__ volatile("nop\n\tnop");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	CHECK_EQ("software interrupt: taken once", trap.count, 1);
	CHECK_EQ("software interrupt: mcause", trap.cause, CAUSE_INTERRUPT | 3);
	CHECK_EQ("software interrupt: slot 3", trap.slot, 3);

	/* wfi with an enabled pending interrupt and mstatus.MIE = 0: falls through. */
	CSR_WRITE(mie, MIP_MSIP);
	TRAP_EXPECT(at, "wfi");
	CHECK_EQ("wfi with pending msip, MIE=0: no trap", trap.count, 0);
	CSR_WRITE(mie, 0);
	*CLINT_MSIP = 0;
	CHECK_EQ("msip=0 again: mip.MSIP", CSR_READ(mip) & MIP_MSIP, 0);
}

static uint64_t read64(int which)
{
	uint32_t hi, lo, hi2;
	do {
		switch (which) {
		case 0:
			hi = CSR_READ(cycleh); lo = CSR_READ(cycle); hi2 = CSR_READ(cycleh);
			break;
		case 1:
			hi = CSR_READ(instreth); lo = CSR_READ(instret); hi2 = CSR_READ(instreth);
			break;
		default:
			hi = CSR_READ(timeh); lo = CSR_READ(time); hi2 = CSR_READ(timeh);
			break;
		}
	} while (hi != hi2);
	return ((uint64_t)hi << 32) | lo;
}

static void counters(void)
{
	static volatile uint32_t sink;
	uint64_t c0 = read64(0), i0 = read64(1), t0 = read64(2);
	uint32_t mc0 = CSR_READ(mcycle), mi0 = CSR_READ(minstret);
	for (int i = 0; i < 10000; i++)
		sink += (uint32_t)i;
	uint64_t c1 = read64(0), i1 = read64(1), t1 = read64(2);
	uint32_t mc1 = CSR_READ(mcycle), mi1 = CSR_READ(minstret);
	CHECK("cycle increases" && c1 > c0);
	CHECK("instret increases by at least 1000" && i1 >= i0 + 1000);
	CHECK("time does not go back" && t1 >= t0);
	CHECK("mcycle increases" && mc1 != mc0);
	CHECK("minstret increases" && mi1 != mi0);
	printf("counters: cycle, instret, time, mcycle, minstret readable and monotonic\n");
}

int main(void)
{
	uint32_t mtvec0 = CSR_READ(mtvec);
	printf("traps: mtvec at main = 0x%08lx\n", (unsigned long)mtvec0);

	info_csrs();
	scratch();
	direct_mode();
	mstatus_stack();
	vectored_mode();
	counters();

	CSR_WRITE(mtvec, mtvec0);
	return check_done("traps");
}
