/*
 * priv-mprv-trap: a trap from M into M while mstatus.MPRV = 1 and MPP != M.
 *
 * With MPRV = 1, M-mode loads and stores are translated and checked as MPP's mode. A trap
 * taken in M sets MPP to M, so the handler's own loads and stores are M-mode (physical)
 * accesses again, although MPRV stays 1 and the privilege does not change; mret to M then
 * leaves MPP = U, and the accesses after it are U-mode ones.
 *
 * The page table maps the 4 MiB superpage at VA 0x80000000 (this program) onto the next
 * 4 MiB of RAM (PA 0x80400000), readable and writable from S, not from U. So a translated
 * access to a variable reaches its alias 4 MiB higher, a physical one the variable itself:
 *  - before the trap (MPRV = 1, MPP = S) a load from page A reads its alias;
 *  - the handler (entered by ecall, M -> M) loads from and stores to page B: physically;
 *  - after mret (MPRV = 1, MPP = U) a load from page C is a U access to an S page: a load
 *    page fault (cause 13) with mtval the address.
 * Each phase touches its own page, first after the sfence.vma that starts the sequence:
 * QEMU 7.2 keeps translations of M-mode data accesses in one TLB whatever MPRV/MPP say and
 * flushes it when mstatus is written, not on a trap, so a page the handler had seen
 * translated before the trap would still read translated there.
 * The MPRV sequences are in assembly: no compiler-made stack access may run under MPRV.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/riscv.h"

#define ALIAS_OFFSET 0x400000u
#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_A 0x40u
#define PTE_D 0x80u

static uint32_t root[1024] __attribute__((aligned(4096)));
/* Page A: [0] read under MPRV = 1, MPP = S (translated: its alias). */
volatile uint32_t page_a[1024] __attribute__((aligned(4096)));
/* Page B: [0] read by the handler, [1] what it read, [2] mstatus in the handler, [3] mcause
 * and [4] mtval of the fault after mret. */
volatile uint32_t page_b[1024] __attribute__((aligned(4096)));
/* Page C: [0] read after mret (MPP = U): page fault. */
volatile uint32_t page_c[1024] __attribute__((aligned(4096)));
volatile uint32_t before; /* what the load from page A gave */

/* Runs the sequence; the trap vector is mprv_vector (below) while it runs. */
void mprv_sequence(uint32_t satp);

__asm__(
	".pushsection .text.mprv, \"ax\", @progbits\n"
	".option push\n.option norvc\n.option norelax\n.option arch, +zicsr\n"
	".globl mprv_sequence\n"
	".balign 4\n"
	"mprv_sequence:\n"
	"	la t0, mprv_vector\n"
	"	csrrw a5, mtvec, t0\n"
	"	csrw satp, a0\n"
	"	sfence.vma zero, zero\n"
	"	li t0, 0x1800\n"			/* MPP := S */
	"	csrc mstatus, t0\n"
	"	li t0, 0x800\n"
	"	csrs mstatus, t0\n"
	"	li t0, 0x20000\n"			/* MPRV := 1 */
	"	csrs mstatus, t0\n"
	"	la t1, page_a\n"
	"	lw a1, 0(t1)\n"				/* translated as S: the alias */
	"	la t1, page_c\n"
	"	li a4, 0\n"				/* phase 0: the ecall */
	"	ecall\n"
	"	li a4, 1\n"				/* phase 1: back in M, MPP = U */
	"	lw a2, 0(t1)\n"				/* U access to an S page: page fault */
	"	li t0, 0x20000\n"
	"	csrc mstatus, t0\n"			/* MPRV := 0: plain M accesses again */
	"	csrw satp, zero\n"
	"	sfence.vma zero, zero\n"
	"	csrw mtvec, a5\n"
	"	la t0, before\n"
	"	sw a1, 0(t0)\n"
	"	ret\n"
	".balign 4\n"
	"mprv_vector:\n"
	"	bnez a4, 1f\n"
	/* Phase 0: entered from M by ecall; MPP is now M, MPRV still 1. */
	"	la t2, page_b\n"
	"	lw t3, 0(t2)\n"
	"	sw t3, 4(t2)\n"
	"	csrr t3, mstatus\n"
	"	sw t3, 8(t2)\n"
	"	j 2f\n"
	/* Phase 1: the page fault after mret (mstatus.MPP = M again). */
	"1:	la t2, page_b\n"
	"	csrr t3, mcause\n"
	"	sw t3, 12(t2)\n"
	"	csrr t3, mtval\n"
	"	sw t3, 16(t2)\n"
	"2:	csrr t3, mepc\n"
	"	addi t3, t3, 4\n"
	"	csrw mepc, t3\n"
	"	mret\n"
	".option pop\n"
	".popsection\n");

int main(void)
{
	uintptr_t base = 0x80000000u;
	/* PMP entry 0 covers everything (S and U accesses need a matching entry). */
	CSR_WRITE(pmpaddr0, 0xffffffffu);
	CSR_WRITE(pmpcfg0, 0x1fu);
	root[base >> 22] = (((base + ALIAS_OFFSET) >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
	page_a[0] = 0xaaaa0000u;
	page_b[0] = 0xbbbb0000u;
	page_c[0] = 0xcccc0000u;
	*(volatile uint32_t *)((uintptr_t)page_a + ALIAS_OFFSET) = 0xa11a5000u;
	*(volatile uint32_t *)((uintptr_t)page_b + ALIAS_OFFSET) = 0xa11a5001u;
	mprv_sequence(0x80000000u | ((uint32_t)(uintptr_t)root >> 12));

	uint32_t handler_mstatus = page_b[2];
	CHECK_EQ("load under MPRV, MPP=S (the alias)", before, 0xa11a5000u);
	CHECK_EQ("handler's load after the M->M trap (physical)", page_b[1], 0xbbbb0000u);
	CHECK_EQ("handler's store landed physically, not in the alias",
		 *(volatile uint32_t *)((uintptr_t)page_b + ALIAS_OFFSET + 4), 0);
	CHECK_EQ("mstatus.MPP in the handler", (handler_mstatus >> 11) & 3, 3);
	CHECK_EQ("mstatus.MPRV in the handler", (handler_mstatus >> 17) & 1, 1);
	CHECK_EQ("cause of a load after mret (MPP=U, S page)", page_b[3], 13);
	CHECK_EQ("mtval of that load", page_b[4], (uint32_t)(uintptr_t)page_c);
	printf("before the trap: 0x%08lx; handler read: 0x%08lx; after mret: cause %lu\n",
	       (unsigned long)before, (unsigned long)page_b[1], (unsigned long)page_b[3]);
	return check_done("priv-mprv-trap");
}
