/*
 * priv-paging: Sv32 translation from S- and U-mode.
 *
 * Page tables (built at run time, all in this program's .bss):
 *   root[0x200]  VA 0x80000000: identity 4 MiB superpage, RWX A D (U=0; U=1 while U runs)
 *   root[0x300]  VA 0xc0000000: alias superpage of the same 4 MiB, RWX A D
 *   root[0x101]  VA 0x40400000: misaligned superpage (PPN[0] != 0) -> page fault
 *   root[0x102]  VA 0x40800000: invalid (V=0)
 *   root[0x100]  VA 0x40000000: -> l0, 4 KiB pages:
 *     0x40000000 P0 RW  (A=D=0)          0x40006000 W without R (reserved)
 *     0x40001000 P1 R   (A=0)            0x40007000 P3 R (no X)
 *     0x40002000 P2 RW U                 0x40008000 P4 / P5 (sfence.vma test)
 *     0x40003000 code page X (A=0)       0x40009000 non-leaf PTE at level 0
 *     0x40004000 code page RX U          0x4000a000 P0 RW (A=1, D=0)
 *     0x40005000 invalid (V=0)           0x4000b000 code page X U
 * Checks loads, stores and fetches through 4 KiB pages and superpages, page faults 12/13/15
 * with stval = VA (taken in M, and once delegated to S), A and D set by the hardware (PTE
 * flags printed), SUM, MXR, S fetching a U page, U touching S pages, sfence.vma making a
 * changed PTE visible, satp = 0 from S (bare: the alias becomes an access fault), and
 * mstatus.MPRV with MPP = S translating M-mode loads and stores.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/priv.h"
#include "include/privcheck.h"
#include "include/privops.h"

#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_X 0x08u
#define PTE_U 0x10u
#define PTE_A 0x40u
#define PTE_D 0x80u

static uint32_t root[1024] __attribute__((aligned(4096)));
static uint32_t l0[1024] __attribute__((aligned(4096)));
static volatile uint32_t phys[6][1024] __attribute__((aligned(4096)));
static volatile uint32_t alias_word = 0x0a11a5edu;

/* The code page: cp_fn (offset 0) returns 42, cp_data (offset 16) is a data word. */
extern char codepage[];
__asm__(
	".pushsection .text.priv_codepage, \"ax\", @progbits\n"
	".option push\n.option norvc\n.option norelax\n"
	".balign 4096\n"
	".globl codepage\n"
	"codepage:\n"
	"	li a0, 42\n"
	"	ret\n"
	".balign 16\n"
	"	.word 0xc0de0001\n"
	".option pop\n"
	".popsection\n");
#define CP_FN   0u
#define CP_DATA 16u

#define VA(n) (0x40000000u + (n) * 0x1000u)

static uint32_t pte(const volatile void *pa, uint32_t flags)
{
	return (((uint32_t)pa >> 12) << 10) | flags;
}

static void sfence_all(void)
{
	__asm__ volatile("sfence.vma zero, zero" ::: "memory");
}

static void build_tables(void)
{
	for (int i = 0; i < 1024; i++)
		root[i] = l0[i] = 0;
	for (int p = 0; p < 6; p++)
		for (int i = 0; i < 1024; i++)
			phys[p][i] = 0x11111111u * (uint32_t)p + (uint32_t)i;
	root[0x200] = pte((void *)0x80000000u, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	root[0x300] = pte((void *)0x80000000u, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	root[0x101] = pte((void *)0x80001000u, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	root[0x102] = 0;
	root[0x100] = pte(l0, PTE_V);
	l0[0] = pte(phys[0], PTE_V | PTE_R | PTE_W);
	l0[1] = pte(phys[1], PTE_V | PTE_R);
	l0[2] = pte(phys[2], PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
	l0[3] = pte(codepage, PTE_V | PTE_X);
	l0[4] = pte(codepage, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
	l0[5] = pte(phys[3], PTE_R | PTE_W);	/* V = 0 */
	l0[6] = pte(phys[3], PTE_V | PTE_W | PTE_A | PTE_D);
	l0[7] = pte(phys[3], PTE_V | PTE_R | PTE_A);
	l0[8] = pte(phys[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
	l0[9] = pte(phys[3], PTE_V);
	l0[10] = pte(phys[0], PTE_V | PTE_R | PTE_W | PTE_A);
	l0[11] = pte(codepage, PTE_V | PTE_X | PTE_U | PTE_A);
}

static uint32_t satp_on(void)
{
	return 0x80000000u | ((uint32_t)root >> 12);
}

static void print_flags(const char *what, uint32_t pte)
{
	uint32_t f = pte & 0xffu;
	printf("%s: PTE flags 0x%02lx (%s%s%s%s%s%s%s)\n", what, (unsigned long)f,
	       f & PTE_D ? "D" : "-", f & PTE_A ? "A" : "-", f & PTE_U ? "U" : "-",
	       f & PTE_X ? "X" : "-", f & PTE_W ? "W" : "-", f & PTE_R ? "R" : "-",
	       f & PTE_V ? "V" : "-");
}

static uint32_t alias(const volatile void *p)
{
	return (uint32_t)p - 0x80000000u + 0xc0000000u;
}

static void s_mode_accesses(void)
{
	CSR_CLEAR(mstatus, MSTATUS_SUM | MSTATUS_MXR);

	/* 4 KiB pages and both superpages. */
	LW(VA(0), phys[0][0]);
	SW(VA(0) + 4, 0xaaaa5555u);
	LW(VA(0) + 4, 0xaaaa5555u);
	LW(VA(1) + 8, phys[1][2]);
	SW_FAULT(VA(1) + 8, CAUSE_STORE_PAGE);
	LW(VA(10) + 12, phys[0][3]);
	SW(VA(10) + 12, 0x0a0a0a0au);
	LW(alias(&alias_word), 0x0a11a5edu);
	SW(alias(&alias_word), 0x5a5a5a5au);
	LW((uint32_t)&alias_word, 0x5a5a5a5au);
	CALL(alias(codepage) + CP_FN, 42);
	CALL(VA(3) + CP_FN, 42);
	/* X-only page: not readable unless MXR. */
	LW_FAULT(VA(3) + CP_DATA, CAUSE_LOAD_PAGE);
	op(OP_SSTATUS_SET, 0, MSTATUS_MXR, 0, 0);
	LW(VA(3) + CP_DATA, 0xc0de0001u);
	SW_FAULT(VA(3) + CP_DATA, CAUSE_STORE_PAGE);
	op(OP_SSTATUS_CLR, 0, MSTATUS_MXR, 0, 0);
	/* U page from S: only with SUM; never executable from S. */
	LW_FAULT(VA(2), CAUSE_LOAD_PAGE);
	SW_FAULT(VA(2), CAUSE_STORE_PAGE);
	op(OP_SSTATUS_SET, 0, MSTATUS_SUM, 0, 0);
	LW(VA(2), phys[2][0]);
	SW(VA(2) + 4, 0x22225555u);
	LW(VA(2) + 4, 0x22225555u);
	CALL_FAULT(VA(4) + CP_FN, CAUSE_FETCH_PAGE);
	op(OP_SSTATUS_CLR, 0, MSTATUS_SUM, 0, 0);
	CALL_FAULT(VA(4) + CP_FN, CAUSE_FETCH_PAGE);
	/* Invalid, reserved and malformed PTEs. */
	LW_FAULT(VA(5) + 0x10, CAUSE_LOAD_PAGE);
	SW_FAULT(VA(5) + 0x10, CAUSE_STORE_PAGE);
	CALL_FAULT(VA(5) + 0x10, CAUSE_FETCH_PAGE);
	LW_FAULT(VA(6) + 0x20, CAUSE_LOAD_PAGE);
	SW_FAULT(VA(6) + 0x20, CAUSE_STORE_PAGE);
	CALL_FAULT(VA(7), CAUSE_FETCH_PAGE);
	LW(VA(7) + 4, phys[3][1]);
	LW_FAULT(VA(9), CAUSE_LOAD_PAGE);
	LW_FAULT(0x40400008u, CAUSE_LOAD_PAGE);
	SW_FAULT(0x40400008u, CAUSE_STORE_PAGE);
	CALL_FAULT(0x40400000u, CAUSE_FETCH_PAGE);
	LW_FAULT(0x40800000u, CAUSE_LOAD_PAGE);
	LW_FAULT(0x00001000u, CAUSE_LOAD_PAGE);
	run(PRV_S, "S", BY_M);
	CHECK_EQ("S store through VA 0x40000004 reached P0", phys[0][1], 0xaaaa5555u);
	CHECK_EQ("S store through VA 0x4000a00c reached P0", phys[0][3], 0x0a0a0a0au);
	CHECK_EQ("S store through the alias superpage", alias_word, 0x5a5a5a5au);
	CHECK_EQ("S store through VA 0x40002004 (SUM) reached P2", phys[2][1], 0x22225555u);
	CHECK_EQ("faulting store to VA 0x40001008 did not write", phys[1][2], 0x11111111u + 2);
	CHECK_EQ("faulting store to VA 0x40006020 did not write", phys[3][8], 0x33333333u + 8);
}

static void access_dirty(void)
{
	/* Fresh PTEs with A = D = 0 for P0 (RW) and P1 (R) and the X-only code page. */
	l0[0] = pte(phys[0], PTE_V | PTE_R | PTE_W);
	l0[1] = pte(phys[1], PTE_V | PTE_R);
	l0[3] = pte(codepage, PTE_V | PTE_X);
	l0[10] = pte(phys[0], PTE_V | PTE_R | PTE_W | PTE_A);
	sfence_all();
	print_flags("VA 0x40000000 before any access", l0[0]);
	LW(VA(0), phys[0][0]);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x40000000 after a load", l0[0]);
	CHECK_EQ("A set by a load, D not", l0[0] & (PTE_A | PTE_D), PTE_A);
	SW(VA(0) + 16, 1);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x40000000 after a store", l0[0]);
	CHECK_EQ("A and D set by a store", l0[0] & (PTE_A | PTE_D), PTE_A | PTE_D);

	print_flags("VA 0x40001000 (read-only) before", l0[1]);
	SW_FAULT(VA(1), CAUSE_STORE_PAGE);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x40001000 after a faulting store", l0[1]);
	CHECK_EQ("faulting store sets neither A nor D", l0[1] & (PTE_A | PTE_D), 0);
	LW(VA(1), phys[1][0]);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x40001000 after a load", l0[1]);

	print_flags("VA 0x4000a000 (A=1, D=0) before", l0[10]);
	LW(VA(10), phys[0][0]);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x4000a000 after a load", l0[10]);
	SW(VA(10) + 20, 2);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x4000a000 after a store", l0[10]);
	CHECK_EQ("D set by a store when A was already set", l0[10] & (PTE_A | PTE_D), PTE_A | PTE_D);

	print_flags("VA 0x40003000 (X only) before", l0[3]);
	CALL(VA(3) + CP_FN, 42);
	run(PRV_S, "S", BY_M);
	print_flags("VA 0x40003000 after a fetch", l0[3]);
	CHECK_EQ("A set by a fetch", l0[3] & (PTE_A | PTE_D), PTE_A);
}

static void u_mode_accesses(void)
{
	/* U-mode runs its code and stack from the identity superpage: make it a U page. */
	root[0x200] |= PTE_U;
	sfence_all();
	CSR_CLEAR(mstatus, MSTATUS_SUM | MSTATUS_MXR);
	LW(VA(2), phys[2][0]);
	SW(VA(2) + 8, 0x2222aaaau);
	LW(VA(2) + 8, 0x2222aaaau);
	LW_FAULT(VA(0), CAUSE_LOAD_PAGE);
	SW_FAULT(VA(0), CAUSE_STORE_PAGE);
	CALL(VA(4) + CP_FN, 42);
	LW(VA(4) + CP_DATA, 0xc0de0001u);
	CALL_FAULT(VA(3) + CP_FN, CAUSE_FETCH_PAGE);
	CALL(VA(11) + CP_FN, 42);
	LW_FAULT(VA(11) + CP_DATA, CAUSE_LOAD_PAGE);
	LW_FAULT(alias(&alias_word), CAUSE_LOAD_PAGE);
	run(PRV_U, "U", BY_M);
	CHECK_EQ("U store reached P2", phys[2][2], 0x2222aaaau);

	/* MXR (set by M) also applies to U. */
	CSR_SET(mstatus, MSTATUS_MXR);
	LW(VA(11) + CP_DATA, 0xc0de0001u);
	run(PRV_U, "U with MXR", BY_M);
	/* SUM does not let U reach S pages. */
	CSR_WRITE(mstatus, (CSR_READ(mstatus) & ~MSTATUS_MXR) | MSTATUS_SUM);
	LW_FAULT(VA(0), CAUSE_LOAD_PAGE);
	run(PRV_U, "U with SUM", BY_M);
	CSR_CLEAR(mstatus, MSTATUS_SUM | MSTATUS_MXR);
	root[0x200] &= ~PTE_U;
	sfence_all();
}

static void delegated_faults(void)
{
	CSR_WRITE(medeleg, (1u << CAUSE_FETCH_PAGE) | (1u << CAUSE_LOAD_PAGE) | (1u << CAUSE_STORE_PAGE));
	LW_FAULT(VA(5) + 0x44, CAUSE_LOAD_PAGE);
	SW_FAULT(VA(1) + 0x48, CAUSE_STORE_PAGE);
	CALL_FAULT(VA(7) + 0x40, CAUSE_FETCH_PAGE);
	run(PRV_S, "S (page faults delegated)", BY_S);
	CSR_WRITE(medeleg, 0);
}

static void sfence(void)
{
	LW(VA(8), phys[4][0]);
	run(PRV_S, "S sfence", BY_M);
	/* M changes the PTE (no sfence); S runs sfence.vma VA before the next access. */
	l0[8] = pte(phys[5], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
	op(OP_SFENCE_VA, VA(8), 0, 0, 0);
	LW(VA(8), phys[5][0]);
	run(PRV_S, "S after PTE -> P5 and sfence.vma va", BY_M);
	l0[8] = pte(phys[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
	op(OP_SFENCE_ALL, 0, 0, 0, 0);
	LW(VA(8), phys[4][0]);
	run(PRV_S, "S after PTE -> P4 and sfence.vma", BY_M);
	l0[8] = 0;
	op(OP_SFENCE_ALL, 0, 0, 0, 0);
	LW_FAULT(VA(8), CAUSE_LOAD_PAGE);
	run(PRV_S, "S after PTE -> invalid and sfence.vma", BY_M);
	l0[8] = pte(phys[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
	sfence_all();
}

static void bare(void)
{
	/* S writes satp = 0: no translation, the alias address is beyond RAM. */
	LW(alias(&alias_word), alias_word);
	op(OP_SATP, 0, 0, 0, 0);
	LW((uint32_t)&alias_word, alias_word);
	LW_FAULT(alias(&alias_word), CAUSE_LOAD_ACCESS);
	run(PRV_S, "S", BY_M);
	CHECK_EQ("satp after S wrote 0", CSR_READ(satp), 0);
	CSR_WRITE(satp, satp_on());
	sfence_all();
}

static void mprv(void)
{
	uint32_t at, val = 0xdeadbeefu;
	phys[0][5] = 0x50505050u;
	/* MPRV = 1, MPP = S: M-mode loads and stores are translated as S. */
	CSR_CLEAR(mstatus, MSTATUS_MPP);
	CSR_SET(mstatus, MSTATUS_MPP_S);
	tlog_reset();
	__asm__ volatile(".option push\n.option norvc\n.option arch, +zicsr\n"
			 "la t0, 2f\n\tsw t0, 0(%[r])\n\tla %[at], 1f\n"
			 "li t1, 0x20000\n\tcsrs mstatus, t1\n"
			 "1:\tlw %[v], 0(%[va])\n"
			 "\tsw %[v], 4(%[va])\n"
			 "2:\tcsrc mstatus, t1\n.option pop"
			 : [at] "=&r"(at), [v] "+r"(val)
			 : [r] "r"(&resume), [va] "r"(VA(0) + 20)
			 : "t0", "t1", "memory");
	resume = 0;
	check_count("MPRV (MPP=S) load and store", 0);
	CHECK_EQ("MPRV load through VA 0x40000014", val, 0x50505050u);
	CHECK_EQ("MPRV store through VA 0x40000018", phys[0][6], 0x50505050u);
	printf("M with MPRV, MPP=S: lw 0x40000014: 0x%08lx\n", (unsigned long)val);

	/* A page fault under MPRV is taken in M with mtval = VA. */
	CSR_SET(mstatus, MSTATUS_MPP_S);
	tlog_reset();
	__asm__ volatile(".option push\n.option norvc\n.option arch, +zicsr\n"
			 "la t0, 2f\n\tsw t0, 0(%[r])\n\tla %[at], 1f\n"
			 "li t1, 0x20000\n\tcsrs mstatus, t1\n"
			 "1:\tlw %[v], 0(%[va])\n"
			 "2:\tcsrc mstatus, t1\n.option pop"
			 : [at] "=&r"(at), [v] "+r"(val)
			 : [r] "r"(&resume), [va] "r"(VA(5))
			 : "t0", "t1", "memory");
	resume = 0;
	check_count("MPRV load from invalid page", 1);
	check_rec("MPRV load from VA 0x40005000", 0, BY_M, CAUSE_LOAD_PAGE, at, VA(5));
	check_status("MPRV fault: MPP = M", 0, MSTATUS_MPP, MSTATUS_MPP_M);
	check_status("MPRV fault: MPRV still set in the handler", 0, MSTATUS_MPRV, MSTATUS_MPRV);
	print_log("M with MPRV, MPP=S: lw 0x40005000");

	/* Without MPRV, M is never translated: VA 0x40000000 is not RAM (PCIe window) and
	   the identity-mapped address works. */
	CHECK_EQ("M without MPRV: physical access", *(volatile uint32_t *)&phys[0][5], 0x50505050u);
	CHECK_EQ("MPRV clear", CSR_READ(mstatus) & MSTATUS_MPRV, 0);
}

int main(void)
{
	uint32_t mtvec0 = CSR_READ(mtvec);
	priv_init(1);
	build_tables();
	CSR_WRITE(satp, satp_on());
	sfence_all();
	CHECK_EQ("satp read back", CSR_READ(satp), satp_on());
	printf("satp: MODE=%lu\n", (unsigned long)(CSR_READ(satp) >> 31));

	s_mode_accesses();
	access_dirty();
	u_mode_accesses();
	delegated_faults();
	sfence();
	bare();
	mprv();

	CSR_WRITE(satp, 0);
	sfence_all();
	CSR_WRITE(mtvec, mtvec0);
	return check_done("priv-paging");
}
