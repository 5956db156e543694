/*
 * priv.h — running code in S- and U-mode and recording the traps that follow.
 * Used by the priv-*.c programs; defines functions and data: include it in one file only.
 *
 *   priv_init();                       mtvec = direct M handler, stvec = S handler,
 *                                      PMP entry 0 = NAPOT all RWX (unless told not to)
 *   call_in_mode(PRV_S, fn, arg)       mret to S (or U, or M) and run fn(arg) there on a
 *                                      stack of its own; the return value comes back
 *                                      through an ecall with a7 = PRIV_MAGIC, which the
 *                                      S handler forwards to M, where M's context (saved
 *                                      by call_in_mode) is restored.  Runs with the
 *                                      mstatus.MPIE the caller set.
 *   PRIV_EXPECT(at, "insns")           like trap.h's TRAP_EXPECT, for any mode: the
 *                                      handler (M or S) resumes right after the asm.
 *
 * Both handlers (hand-written entries, then C) record every trap in `tlog` (who took it,
 * cause, epc, tval, status) and then: interrupt -> clear its bit in mie / sie (M also
 * forwards a machine timer interrupt as STIP if `forward_mti` is set, as SBI firmware
 * does); exception -> resume at `resume` if set, else skip 4 bytes (test code is
 * uncompressed).  Both handlers run on stacks of their own (mscratch / sscratch).
 */
#ifndef AMBER_PRIV_H
#define AMBER_PRIV_H

#include <stdint.h>
#include "riscv.h"

#define PRV_U 0u
#define PRV_S 1u
#define PRV_M 3u

#define PRIV_MAGIC 0x414d4252u /* "AMBR" */

#define MSTATUS_SIE  (1u << 1)
#define MSTATUS_SPIE (1u << 5)
#define MSTATUS_SPP  (1u << 8)
#define MSTATUS_MPP_S (1u << 11)
#define MSTATUS_SUM  (1u << 18)
#define MSTATUS_MXR  (1u << 19)
#define MSTATUS_TVM  (1u << 20)
#define MSTATUS_TW   (1u << 21)
#define MSTATUS_TSR  (1u << 22)

#define MIP_SSIP (1u << 1)
#define MIP_STIP (1u << 5)
#define MIP_SEIP (1u << 9)

#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE  13
#define CAUSE_STORE_PAGE 15

#define TLOG_MAX 48
#define BY_M 'M'
#define BY_S 'S'

typedef struct {
	uint32_t by, cause, epc, tval, status, slot;
} trec_t;

static volatile struct {
	uint32_t n;
	trec_t r[TLOG_MAX];
} tlog;

static volatile uint32_t resume;       /* where the next exception resumes (0: skip 4 bytes) */
static volatile uint32_t forward_mti;  /* M timer interrupt -> clear MTIE, set mip.STIP */

static void tlog_reset(void)
{
	tlog.n = 0;
	for (int i = 0; i < TLOG_MAX; i++) {
		tlog.r[i].by = tlog.r[i].cause = tlog.r[i].epc = 0xdeadbeefu;
		tlog.r[i].tval = tlog.r[i].status = tlog.r[i].slot = 0xdeadbeefu;
	}
	resume = 0;
}

static void tlog_add(uint32_t by, uint32_t cause, uint32_t epc, uint32_t tval, uint32_t status, uint32_t slot)
{
	uint32_t n = tlog.n;
	if (n < TLOG_MAX) {
		tlog.r[n].by = by;
		tlog.r[n].cause = cause;
		tlog.r[n].epc = epc;
		tlog.r[n].tval = tval;
		tlog.r[n].status = status;
		tlog.r[n].slot = slot;
	}
	tlog.n = n + 1;
}

/* Called by the M entry with the saved registers (frame[i] = x_i, frame[0] = slot). */
__attribute__((used)) static void m_trap_c(uint32_t *frame)
{
	uint32_t cause = CSR_READ(mcause), epc = CSR_READ(mepc);
	tlog_add(BY_M, cause, epc, CSR_READ(mtval), CSR_READ(mstatus), frame[0]);
	if (cause & CAUSE_INTERRUPT) {
		uint32_t bit = 1u << (cause & 31);
		CSR_CLEAR(mie, bit);
		if ((cause & 31) == 7 && forward_mti)
			CSR_SET(mip, MIP_STIP);
		return;
	}
	if (resume) {
		CSR_WRITE(mepc, resume);
		resume = 0;
	} else {
		CSR_WRITE(mepc, epc + 4);
	}
}

__attribute__((used)) static void s_trap_c(uint32_t *frame)
{
	uint32_t cause = CSR_READ(scause), epc = CSR_READ(sepc);
	tlog_add(BY_S, cause, epc, CSR_READ(stval), CSR_READ(sstatus), frame[0]);
	if (cause & CAUSE_INTERRUPT) {
		CSR_CLEAR(sie, 1u << (cause & 31));
		return;
	}
	if (resume) {
		CSR_WRITE(sepc, resume);
		resume = 0;
	} else {
		CSR_WRITE(sepc, epc + 4);
	}
}

#define PRIV_STACK 8192
__attribute__((used)) static uint32_t m_trap_stack[PRIV_STACK / 4] __attribute__((aligned(16)));
__attribute__((used)) static uint32_t s_trap_stack[PRIV_STACK / 4] __attribute__((aligned(16)));
__attribute__((used)) static uint32_t lower_stack[PRIV_STACK / 4] __attribute__((aligned(16)));
__attribute__((used)) static uint32_t m_ctx[16];

/*
 * Trap entries.  SAVE/RESTORE keep all registers but sp in a 128-byte frame on the
 * handler's stack; the interrupted sp is in the scratch CSR while the handler runs.
 */
#define PRIV_SAVE(scratch) \
	"sw x1, 4(sp)\n\tsw x3, 12(sp)\n\tsw x4, 16(sp)\n\tsw x6, 24(sp)\n\t" \
	"sw x7, 28(sp)\n\tsw x8, 32(sp)\n\tsw x9, 36(sp)\n\tsw x10, 40(sp)\n\tsw x11, 44(sp)\n\t" \
	"sw x12, 48(sp)\n\tsw x13, 52(sp)\n\tsw x14, 56(sp)\n\tsw x15, 60(sp)\n\tsw x16, 64(sp)\n\t" \
	"sw x17, 68(sp)\n\tsw x18, 72(sp)\n\tsw x19, 76(sp)\n\tsw x20, 80(sp)\n\tsw x21, 84(sp)\n\t" \
	"sw x22, 88(sp)\n\tsw x23, 92(sp)\n\tsw x24, 96(sp)\n\tsw x25, 100(sp)\n\tsw x26, 104(sp)\n\t" \
	"sw x27, 108(sp)\n\tsw x28, 112(sp)\n\tsw x29, 116(sp)\n\tsw x30, 120(sp)\n\tsw x31, 124(sp)\n\t"

#define PRIV_RESTORE(scratch) \
	"addi t0, sp, 128\n\tcsrr t1, " scratch "\n\tsw t1, 8(sp)\n\tcsrw " scratch ", t0\n\t" \
	"lw x1, 4(sp)\n\tlw x3, 12(sp)\n\tlw x4, 16(sp)\n\tlw x5, 20(sp)\n\tlw x6, 24(sp)\n\t" \
	"lw x7, 28(sp)\n\tlw x8, 32(sp)\n\tlw x9, 36(sp)\n\tlw x10, 40(sp)\n\tlw x11, 44(sp)\n\t" \
	"lw x12, 48(sp)\n\tlw x13, 52(sp)\n\tlw x14, 56(sp)\n\tlw x15, 60(sp)\n\tlw x16, 64(sp)\n\t" \
	"lw x17, 68(sp)\n\tlw x18, 72(sp)\n\tlw x19, 76(sp)\n\tlw x20, 80(sp)\n\tlw x21, 84(sp)\n\t" \
	"lw x22, 88(sp)\n\tlw x23, 92(sp)\n\tlw x24, 96(sp)\n\tlw x25, 100(sp)\n\tlw x26, 104(sp)\n\t" \
	"lw x27, 108(sp)\n\tlw x28, 112(sp)\n\tlw x29, 116(sp)\n\tlw x30, 120(sp)\n\tlw x31, 124(sp)\n\t" \
	"lw sp, 8(sp)\n\t"

extern char m_trap_entry[], s_trap_entry[], m_vectors[], lower_entry[];
extern uint32_t call_in_mode(uint32_t mode, uint32_t (*fn)(uint32_t), uint32_t arg);

__asm__(
	".pushsection .text.priv_entries, \"ax\", @progbits\n"
	".option push\n.option norvc\n.option norelax\n.option arch, +zicsr\n"
	".balign 64\n"
	".globl m_vectors\n"
	"m_vectors:\n"
	"	j m_vec0\n	j m_vec1\n	j m_vec2\n	j m_vec3\n"
	"	j m_vec4\n	j m_vec5\n	j m_vec6\n	j m_vec7\n"
	"	j m_vec8\n	j m_vec9\n	j m_vec10\n	j m_vec11\n"
	"	j m_vec12\n	j m_vec13\n	j m_vec14\n	j m_vec15\n"
	".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"m_vec\\n:\n"
	"	csrrw sp, mscratch, sp\n"
	"	addi sp, sp, -128\n"
	"	sw t0, 20(sp)\n"
	"	li t0, \\n\n"
	"	j m_common\n"
	".endr\n"
	".balign 4\n"
	".globl m_trap_entry\n"
	"m_trap_entry:\n"
	"	csrrw sp, mscratch, sp\n"
	"	addi sp, sp, -128\n"
	"	sw t0, 20(sp)\n"
	"	li t0, 0xff\n"
	"m_common:\n"
	"	sw t0, 0(sp)\n"			/* the slot */
	PRIV_SAVE("mscratch")
	"	csrr t0, mcause\n"
	"	li t1, 8\n	beq t0, t1, 1f\n"
	"	li t1, 9\n	beq t0, t1, 1f\n"
	"	li t1, 11\n	beq t0, t1, 1f\n"
	"	j 2f\n"
	"1:	li t1, 0x414d4252\n	beq a7, t1, m_return\n"
	"2:	mv a0, sp\n"
	"	call m_trap_c\n"
	PRIV_RESTORE("mscratch")
	"	mret\n"
	/* The magic ecall: back into call_in_mode's caller, in M-mode, a0 = result. */
	"m_return:\n"
	"	la t0, m_ctx\n"
	"	lw ra, 0(t0)\n	lw sp, 4(t0)\n	lw gp, 8(t0)\n	lw tp, 12(t0)\n"
	"	lw s0, 16(t0)\n	lw s1, 20(t0)\n	lw s2, 24(t0)\n	lw s3, 28(t0)\n"
	"	lw s4, 32(t0)\n	lw s5, 36(t0)\n	lw s6, 40(t0)\n	lw s7, 44(t0)\n"
	"	lw s8, 48(t0)\n	lw s9, 52(t0)\n	lw s10, 56(t0)\n	lw s11, 60(t0)\n"
	"	la t1, m_trap_stack + 8192\n	csrw mscratch, t1\n"
	"	ret\n"

	".balign 4\n"
	".globl s_trap_entry\n"
	"s_trap_entry:\n"
	"	csrrw sp, sscratch, sp\n"
	"	addi sp, sp, -128\n"
	"	sw t0, 20(sp)\n"
	PRIV_SAVE("sscratch")
	"	li t0, 0xff\n	sw t0, 0(sp)\n"
	"	csrr t0, scause\n"
	"	li t1, 8\n	bne t0, t1, 2f\n"
	"	li t1, 0x414d4252\n	bne a7, t1, 2f\n"
	"	ecall\n"			/* forward the magic ecall to M: never returns */
	"2:	mv a0, sp\n"
	"	call s_trap_c\n"
	PRIV_RESTORE("sscratch")
	"	sret\n"

	".balign 4\n"
	".globl call_in_mode\n"
	"call_in_mode:\n"
	"	la t0, m_ctx\n"
	"	sw ra, 0(t0)\n	sw sp, 4(t0)\n	sw gp, 8(t0)\n	sw tp, 12(t0)\n"
	"	sw s0, 16(t0)\n	sw s1, 20(t0)\n	sw s2, 24(t0)\n	sw s3, 28(t0)\n"
	"	sw s4, 32(t0)\n	sw s5, 36(t0)\n	sw s6, 40(t0)\n	sw s7, 44(t0)\n"
	"	sw s8, 48(t0)\n	sw s9, 52(t0)\n	sw s10, 56(t0)\n	sw s11, 60(t0)\n"
	"	la t1, m_trap_stack + 8192\n	csrw mscratch, t1\n"
	"	la t1, s_trap_stack + 8192\n	csrw sscratch, t1\n"
	"	li t1, 0x1800\n	csrc mstatus, t1\n"
	"	slli t2, a0, 11\n	csrs mstatus, t2\n"
	"	la t1, lower_entry\n	csrw mepc, t1\n"
	"	mv a0, a2\n"
	"	la sp, lower_stack + 8192\n"
	"	mret\n"
	".globl lower_entry\n"
	"lower_entry:\n"
	"	jalr a1\n"
	"	li a7, 0x414d4252\n"
	"	ecall\n"
	"3:	j 3b\n"
	".option pop\n"
	".popsection\n");

static inline void priv_init(int open_pmp)
{
	CSR_WRITE(mscratch, (uint32_t)&m_trap_stack[PRIV_STACK / 4]);
	CSR_WRITE(sscratch, (uint32_t)&s_trap_stack[PRIV_STACK / 4]);
	CSR_WRITE(mtvec, (uint32_t)m_trap_entry);
	CSR_WRITE(stvec, (uint32_t)s_trap_entry);
	/* The CLINT's mtimecmp resets to 0: MTIP is pending. Push it far away. */
	*CLINT_MTIMECMP_HI = 0xffffffffu;
	*CLINT_MTIMECMP_LO = 0xffffffffu;
	if (open_pmp) {
		CSR_WRITE(pmpaddr0, 0xffffffffu);
		CSR_WRITE(pmpcfg0, 0x1fu); /* NAPOT, X, W, R */
	}
	tlog_reset();
}

/*
 * PRIV_EXPECT(at, insns, inputs...): run `insns` (uncompressed; A, Zicsr, Zifencei);
 * if they trap, the handler resumes right after them. `at` receives the address of the
 * first instruction. The asm may use t0..t2 (not labels 91/92).
 */
#define PRIV_EXPECT(at, insns, ...) do { \
	__asm__ volatile ( \
		".option push\n\t.option norvc\n\t.option arch, +a, +zicsr, +zifencei\n\t" \
		"la t0, 92f\n\tsw t0, 0(%[resume_])\n\t" \
		"la %[at_], 91f\n" \
		"91:\n\t" insns "\n" \
		"92:\n\t.option pop" \
		: [at_] "=&r"(at) \
		: [resume_] "r"(&resume), ##__VA_ARGS__ \
		: "t0", "t1", "t2", "memory"); \
	resume = 0; \
} while (0)

#endif /* AMBER_PRIV_H */
