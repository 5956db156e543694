/*
 * trap.h — a machine-mode trap handler for guest programs that provoke traps.
 *
 * Usage:
 *   trap_install_direct();            mtvec = trap_direct (MODE 0)
 *   trap_install_vectored();          mtvec = trap_vectors | 1 (MODE 1)
 *   TRAP_EXPECT(at, "insn...")        runs the asm; if it traps, execution resumes
 *                                     right after it; `at` receives the address of
 *                                     the first instruction of the asm text.
 *
 * The handler records mcause, mepc, mtval, mstatus (as seen on entry) and the vector
 * slot it came through in `trap`, keeps a short history, and then:
 *   - interrupt:          clears mie (so it does not fire again) and returns;
 *   - trap.resume != 0:   returns there (and clears trap.resume);
 *   - otherwise:          skips the trapping instruction (2 or 4 bytes, from its
 *                         low bits);
 *   - ecall from U-mode:  additionally sets mstatus.MPP = M, i.e. "ecall" is the way
 *                         back from U-mode to M-mode.
 *
 * Handlers are GCC interrupt("machine") functions: they save whatever they use and
 * end in mret.  This header defines functions and data: include it in one file only.
 */
#ifndef AMBER_TRAP_H
#define AMBER_TRAP_H

#include <stdint.h>
#include "riscv.h"

#define TRAP_SLOT_DIRECT 0xffu
#define TRAP_HISTORY     8

static volatile struct {
	uint32_t count;
	uint32_t cause, epc, tval, mstatus, slot;
	uint32_t resume;
	uint32_t hist_cause[TRAP_HISTORY];
	uint32_t hist_mstatus[TRAP_HISTORY];
	uint32_t hist_tval[TRAP_HISTORY];
} trap;

static inline __attribute__((always_inline)) void trap_common(uint32_t slot)
{
	uint32_t cause = CSR_READ(mcause);
	uint32_t epc = CSR_READ(mepc);
	uint32_t tval = CSR_READ(mtval);
	uint32_t mstatus = CSR_READ(mstatus);
	uint32_t n = trap.count;

	trap.cause = cause;
	trap.epc = epc;
	trap.tval = tval;
	trap.mstatus = mstatus;
	trap.slot = slot;
	if (n < TRAP_HISTORY) {
		trap.hist_cause[n] = cause;
		trap.hist_mstatus[n] = mstatus;
		trap.hist_tval[n] = tval;
	}
	trap.count = n + 1;

	if (cause & CAUSE_INTERRUPT) {
		CSR_WRITE(mie, 0);
		return;
	}
	if (cause == CAUSE_ECALL_U)
		CSR_SET(mstatus, MSTATUS_MPP_M);
	if (trap.resume) {
		CSR_WRITE(mepc, trap.resume);
		trap.resume = 0;
	} else {
		uint16_t low = *(volatile uint16_t *)epc;
		CSR_WRITE(mepc, epc + ((low & 3) == 3 ? 4 : 2));
	}
}

#define TRAP_HANDLER(fn, slot) \
	__attribute__((interrupt("machine"), aligned(4), used)) void fn(void) { trap_common(slot); }

TRAP_HANDLER(trap_direct, TRAP_SLOT_DIRECT)
TRAP_HANDLER(trap_vec_exception, 0)
TRAP_HANDLER(trap_vec_ssi, 1)
TRAP_HANDLER(trap_vec_msi, 3)
TRAP_HANDLER(trap_vec_sti, 5)
TRAP_HANDLER(trap_vec_mti, 7)
TRAP_HANDLER(trap_vec_sei, 9)
TRAP_HANDLER(trap_vec_mei, 11)
TRAP_HANDLER(trap_vec_other, 0xfe)

/* Vector table: 16 slots of one 4-byte `j` each (never compressed), 64-byte aligned. */
extern const uint32_t trap_vectors[16];
__asm__(
	".pushsection .text.trap_vectors, \"ax\", @progbits\n"
	".option push\n"
	".option norvc\n"
	".balign 64\n"
	".globl trap_vectors\n"
	"trap_vectors:\n"
	"	j trap_vec_exception\n"	/* 0: all synchronous exceptions (and user SW irq) */
	"	j trap_vec_ssi\n"	/* 1 */
	"	j trap_vec_other\n"	/* 2 */
	"	j trap_vec_msi\n"	/* 3: machine software interrupt */
	"	j trap_vec_other\n"	/* 4 */
	"	j trap_vec_sti\n"	/* 5 */
	"	j trap_vec_other\n"	/* 6 */
	"	j trap_vec_mti\n"	/* 7: machine timer interrupt */
	"	j trap_vec_other\n"	/* 8 */
	"	j trap_vec_sei\n"	/* 9 */
	"	j trap_vec_other\n"	/* 10 */
	"	j trap_vec_mei\n"	/* 11: machine external interrupt */
	"	j trap_vec_other\n"	/* 12 */
	"	j trap_vec_other\n"	/* 13 */
	"	j trap_vec_other\n"	/* 14 */
	"	j trap_vec_other\n"	/* 15 */
	".option pop\n"
	".popsection\n");

static inline void trap_install_direct(void)
{
	CSR_WRITE(mtvec, (uint32_t)&trap_direct);
}

static inline void trap_install_vectored(void)
{
	CSR_WRITE(mtvec, (uint32_t)trap_vectors | 1u);
}

static inline void trap_reset(void)
{
	trap.count = 0;
	trap.cause = trap.epc = trap.tval = trap.mstatus = trap.slot = 0xdeadbeefu;
	trap.resume = 0;
}

/*
 * TRAP_EXPECT(at, insns, inputs...): run `insns` (uncompressed unless they say
 * otherwise, with A, Zicsr and Zifencei available); if they trap, resume right after
 * them.  `at` (uint32_t lvalue) receives the address of the first instruction.
 * The asm may use t0..t2 freely (but not the local labels 91 and 92); extra input
 * operands can follow.
 */
#define TRAP_EXPECT(at, insns, ...) do { \
	trap_reset(); \
	__asm__ volatile ( \
		".option push\n\t.option norvc\n\t.option arch, +a, +zicsr, +zifencei\n\t" \
		"la t0, 92f\n\tsw t0, 0(%[resume_])\n\t" \
		"la %[at_], 91f\n" \
		"91:\n\t" insns "\n" \
		"92:\n\t.option pop" \
		: [at_] "=&r"(at) \
		: [resume_] "r"(&trap.resume), ##__VA_ARGS__ \
		: "t0", "t1", "t2", "memory"); \
	trap.resume = 0; \
} while (0)

#endif /* AMBER_TRAP_H */
