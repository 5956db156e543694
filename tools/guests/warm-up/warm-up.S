/*
 * warm-up: the program @amber/machine runs once per process on a throwaway board
 * before the first real guest (packages/machine/src/warm-up.ts), so that V8 has seen
 * every path of the interpreter and the hart's slow paths before it optimises them:
 * otherwise TurboFan compiles Hart.run, meets a path it had no feedback for, throws the
 * code away and compiles again, about a dozen times per Linux boot.
 *
 * In three rounds it runs every RV32IMAC instruction the interpreter has a case for, in
 * M, S and U mode, with and without Sv32 translation (superpages, a two-level walk, a
 * page with A/D clear, a page fault delegated to S), loads and stores of each width to
 * RAM and to devices (UART, CLINT), misaligned accesses, access faults, illegal
 * instructions, ecall/ebreak, CSR instructions, atomics, wfi with the machine timer
 * interrupt, fence.i, sfence.vma (one page and all), MPRV, and two hot loops long enough
 * for the block compiler to compile (one physical, one translated). Every result is
 * folded into a checksum (s10) that goes out on the UART as 8 hex digits and a newline;
 * QEMU's output is the oracle (build.sh). Then it powers off through the test finisher.
 *
 * Register use: s10 checksum, s11 rounds left, t3/t4 trap handlers only, sp stack.
 */
	.option norvc
	.option norelax

	.equ UART, 0x10000000
	.equ CLINT_MTIMECMP, 0x02004000
	.equ CLINT_MTIME, 0x0200bff8
	.equ FINISHER, 0x00100000
	.equ PLIC, 0x0c000000
	.equ UART_IRQ, 10
	.equ PTE_V, 0x01
	.equ PTE_R, 0x02
	.equ PTE_W, 0x04
	.equ PTE_X, 0x08
	.equ PTE_U, 0x10
	.equ PTE_A, 0x40
	.equ PTE_D, 0x80
	/* Loop iterations (first round) past the compilers' thresholds: 5,000 block starts (the
	 * JS back end's JIT_HOT; wasm's is 2,000) and, translated, 2,000 backward jumps
	 * weighing 25 each. */
	.equ HOT_PHYSICAL, 5200
	.equ HOT_TRANSLATED, 2100

/* s10 = rotl(s10, 5) ^ reg */
.macro MIX reg
	slli t6, s10, 5
	srli t5, s10, 27
	or s10, t6, t5
	xor s10, s10, \reg
.endm

	.section .text
	.globl _start
_start:
	la sp, stack_top
	la t0, m_trap
	csrw mtvec, t0
	li t0, -1	/* PMP: all memory for S and U (QEMU denies them without an entry) */
	csrw pmpaddr0, t0
	li t0, 0x1f	/* NAPOT, RWX */
	csrw pmpcfg0, t0
	/*
	 * First, before V8 optimises anything: a value of 2^31 and up in every CSR that can
	 * hold one, so the CSR file's fields take their final (non-small-integer) form now
	 * rather than mid-boot, where the change would throw optimised code away.
	 */
	li t0, 0x80000000
	csrw mscratch, t0
	csrw sscratch, t0
	csrw mepc, t0
	csrw sepc, t0
	csrw mcause, t0
	csrw scause, t0
	csrw mtval, t0
	csrw stval, t0
	csrw stvec, t0
	csrw satp, t0
	csrw satp, zero
	li s10, 0x2545f491
	li s11, 3

round:
	/* ---- integer ALU, register and immediate forms ---- */
	li a0, 0x12345678
	li a1, -7
	li a2, 0x80000000
	add a3, a0, a1;  MIX a3
	sub a3, a0, a1;  MIX a3
	sll a3, a0, a1;  MIX a3
	slt a3, a1, a0;  MIX a3
	sltu a3, a1, a0; MIX a3
	xor a3, a0, a1;  MIX a3
	srl a3, a2, a1;  MIX a3
	sra a3, a2, a1;  MIX a3
	or a3, a0, a1;   MIX a3
	and a3, a0, a1;  MIX a3
	addi a3, a0, -2047; MIX a3
	slti a3, a1, 3;  MIX a3
	sltiu a3, a1, 3; MIX a3
	xori a3, a0, 0x555; MIX a3
	ori a3, a0, -16; MIX a3
	andi a3, a0, 0x7f0; MIX a3
	slli a3, a0, 7;  MIX a3
	srli a3, a2, 9;  MIX a3
	srai a3, a2, 9;  MIX a3
	lui a3, 0xfedcb; MIX a3
1:	auipc a3, 0
	la a4, 1b
	sub a3, a3, a4;  MIX a3
	/* ---- M extension, including the corner cases ---- */
	mul a3, a0, a1;    MIX a3
	mulh a3, a0, a1;   MIX a3
	mulhsu a3, a1, a0; MIX a3
	mulhu a3, a1, a0;  MIX a3
	div a3, a0, a1;    MIX a3
	divu a3, a0, a1;   MIX a3
	rem a3, a0, a1;    MIX a3
	remu a3, a0, a1;   MIX a3
	div a3, a0, zero;  MIX a3
	rem a3, a0, zero;  MIX a3
	divu a3, a0, zero; MIX a3
	remu a3, a0, zero; MIX a3
	li a4, -1
	div a3, a2, a4;    MIX a3
	rem a3, a2, a4;    MIX a3
	/* ---- branches, taken and not, and jumps ---- */
	li a3, 0
	beq a0, a0, 1f
	addi a3, a3, 1
1:	beq a0, a1, 1f
	addi a3, a3, 2
1:	bne a0, a1, 1f
	addi a3, a3, 4
1:	bne a0, a0, 1f
	addi a3, a3, 8
1:	blt a1, a0, 1f
	addi a3, a3, 16
1:	blt a0, a1, 1f
	addi a3, a3, 32
1:	bge a0, a1, 1f
	addi a3, a3, 64
1:	bge a1, a0, 1f
	addi a3, a3, 128
1:	bltu a0, a1, 1f
	addi a3, a3, 256
1:	bltu a1, a0, 1f
	addi a3, a3, 512
1:	bgeu a1, a0, 1f
	addi a3, a3, 1024
1:	bgeu a0, a1, 1f
	addi a3, a3, -2048
1:	MIX a3
	jal ra, leaf
	MIX a0
	la a4, leaf
	jalr ra, 0(a4)
	MIX a0
	/* ---- compressed instructions (another fill path) ---- */
	.hword 0x4695	/* c.li a3, 5 */
	.hword 0x068d	/* c.addi a3, 3 */
	.hword 0x8736	/* c.mv a4, a3 */
	.hword 0x96ba	/* c.add a3, a4 */
	.hword 0x0001	/* c.nop */
	.hword 0x0001	/* c.nop (back to 4-byte alignment) */
	MIX a3
	/* ---- RAM loads and stores of each width, aligned and not ---- */
	la a4, data
	call memory_ops
	/* ---- devices: UART scratch and line status, the CLINT ---- */
	li a4, UART
	call device_ops
	li a4, CLINT_MTIME
	lw a3, 0(a4)
	lw a3, 4(a4)
	li a4, CLINT_MTIMECMP
	li a3, -1
	sw a3, 4(a4)
	sw a3, 0(a4)
	lw a3, 0(a4);    MIX a3
	/* ---- the UART's interrupt through the PLIC (claimed and completed, never taken) ---- */
	li a4, PLIC
	li a3, 1
	sw a3, UART_IRQ * 4(a4)	/* priority */
	li a5, PLIC + 0x2000	/* context 0 (M) enables */
	li a3, 1 << UART_IRQ
	sw a3, 0(a5)
	li a5, PLIC + 0x200000	/* context 0 threshold, claim */
	sw zero, 0(a5)
	li a4, UART
	li a3, 2	/* IER: THR empty */
	sb a3, 1(a4)
	lw a3, 4(a5);    MIX a3	/* claim */
	lbu a6, 2(a4);   MIX a6	/* IIR (reading it clears the THR-empty interrupt) */
	sb zero, 1(a4)
	sw a3, 4(a5)		/* complete */
	lw a3, 4(a5);    MIX a3
	/* ---- traps: access faults, illegal instruction, ecall, ebreak ---- */
	li a4, 0x00800000	/* nothing there */
	call fault_ops
	.word 0
	ecall
	ebreak
	/* ---- CSR instructions ---- */
	csrrw a3, mscratch, a2;  MIX a3
	csrrs a3, mscratch, a0;  MIX a3
	csrrc a3, mscratch, a1;  MIX a3
	csrrwi a3, mscratch, 17; MIX a3
	csrrsi a3, mscratch, 6;  MIX a3
	csrrci a3, mscratch, 1;  MIX a3
	csrr a3, mscratch;       MIX a3
	csrr a3, mcycle
	csrr a3, minstret
	rdtime a3
	rdtimeh a3
	/* ---- atomics ---- */
	la a4, data
	call atomic_ops
	/* ---- fences ---- */
	fence
	fence rw, rw
	li a6, 3
	bne s11, a6, 1f
	fence.i		/* first round only: later rounds find their loops compiled */
1:
	/* ---- wfi, woken by the machine timer, then the interrupt taken ---- */
	li a7, 0
	csrci mstatus, 8	/* MIE off (an mret may have set it): wfi wakes, the trap comes later */
	li a4, CLINT_MTIME
	lw a3, 0(a4)
	addi a3, a3, 50
	li a4, CLINT_MTIMECMP
	li a5, -1
	sw a5, 4(a4)
	sw a3, 0(a4)
	sw zero, 4(a4)
	li a3, 0x80		/* mie.MTIE */
	csrs mie, a3
1:	wfi
	csrr a3, mip
	andi a3, a3, 0x80
	beqz a3, 1b
	csrsi mstatus, 8	/* MIE: the pending timer interrupt is taken here */
	csrci mstatus, 8
	MIX a7
	li a3, 0x80
	csrc mie, a3
	/* ---- a hot loop in M mode, physical addresses ---- */
	la a4, data
	li a5, HOT_PHYSICAL
	call loop_count
	call hot_loop
	MIX a3
	/* ---- Sv32: page tables, then S mode, U mode and back ---- */
	call build_tables
	la a3, root
	srli a3, a3, 12
	li a4, 0x80000000
	or a3, a3, a4
	csrw satp, a3
	sfence.vma
	li a3, (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15) | (1 << 5) | (1 << 7)
	csrw medeleg, a3
	csrwi mideleg, 2	/* the supervisor software interrupt */
	/* MPRV with MPP = S: M-mode loads and stores translated */
	li a3, 3 << 11
	csrc mstatus, a3
	li a3, (1 << 17) | (1 << 11)
	csrs mstatus, a3
	li a4, 0x40000000
	lw a3, 0(a4);    MIX a3
	sw a3, 4(a4)
	li a3, 1 << 17
	csrc mstatus, a3
	/* mret into S mode */
	la a3, s_entry
	csrw mepc, a3
	mret
back_in_m:
	csrw satp, zero
	sfence.vma
	MIX a3
	addi s11, s11, -1
	bnez s11, round

	/* ---- the checksum on the UART, then power off ---- */
	li a4, UART
	li a5, 8
1:	srli a3, s10, 28
	slli s10, s10, 4
	li a6, 10
	blt a3, a6, 2f
	addi a3, a3, 'a' - '0' - 10
2:	addi a3, a3, '0'
	sb a3, 0(a4)
	addi a5, a5, -1
	bnez a5, 1b
	li a3, '\n'
	sb a3, 0(a4)
	li a4, FINISHER
	li a3, 0x5555
	sw a3, 0(a4)
1:	j 1b

leaf:
	addi a0, a0, 1
	ret

/* Byte accesses to the UART at a4: the scratch register and the line status. */
device_ops:
	li a3, 0x5a
	sb a3, 7(a4)
	lbu a3, 7(a4);   MIX a3
	lb a3, 7(a4);    MIX a3
	lbu a3, 5(a4)
	andi a3, a3, 0x60
	MIX a3
	ret

/* Loads and stores of each width at a4, where nothing is: each faults and is skipped. */
fault_ops:
	lb a3, 0(a4)
	lh a3, 0(a4)
	lw a3, 0(a4)
	lbu a3, 0(a4)
	lhu a3, 0(a4)
	sb a3, 0(a4)
	sh a3, 0(a4)
	sw a3, 0(a4)
	ret

/* Loads and stores of each width at a4 (RAM or translated), aligned and misaligned. */
memory_ops:
	li a3, 0x89abcdef
	sw a3, 0(a4)
	sh a3, 4(a4)
	sb a3, 6(a4)
	lw a3, 0(a4);   MIX a3
	lh a3, 2(a4);   MIX a3
	lhu a3, 2(a4);  MIX a3
	lb a3, 3(a4);   MIX a3
	lbu a3, 3(a4);  MIX a3
	lw a3, 1(a4);   MIX a3
	lh a3, 5(a4);   MIX a3
	lhu a3, 3(a4);  MIX a3
	sw a3, 9(a4)
	sh a3, 15(a4)
	lw a3, 8(a4);   MIX a3
	lw a3, 12(a4);  MIX a3
	ret

/*
 * lr/sc and every AMO on the word at a4. (No misaligned AMO: QEMU 7.2 reports it as a
 * misaligned load, cause 4, where Amber follows the spec's store/AMO cause 6.)
 */
atomic_ops:
	li a3, 100
	sw a3, 0(a4)
	li a5, 7
	lr.w a3, (a4);          MIX a3
	sc.w a6, a5, (a4);      MIX a6
	sc.w a6, a5, (a4);      MIX a6
	amoswap.w a3, a5, (a4); MIX a3
	amoadd.w a3, a5, (a4);  MIX a3
	amoxor.w a3, a1, (a4);  MIX a3
	amoand.w a3, a0, (a4);  MIX a3
	amoor.w a3, a1, (a4);   MIX a3
	amomin.w a3, a0, (a4);  MIX a3
	amomax.w a3, a0, (a4);  MIX a3
	amominu.w a3, a0, (a4); MIX a3
	amomaxu.w a3, a1, (a4); MIX a3
	lw a3, 0(a4);           MIX a3
	ret

/* a5 stays in the first round; later rounds (their code was compiled already) take 16. */
loop_count:
	li a6, 3
	beq s11, a6, 1f
	li a5, 16
1:	ret

/* a5 iterations of a small loop of loads, stores and arithmetic over a4[0..15]; a3 = sum. */
hot_loop:
	li a3, 0
1:	andi a6, a5, 15
	slli a6, a6, 2
	add a6, a6, a4
	lw a7, 0(a6)
	add a3, a3, a7
	xor a7, a7, a5
	sw a7, 0(a6)
	addi a5, a5, -1
	bnez a5, 1b
	ret

/*
 * root: 0x80000000 identity superpage RWX (S only), 0xc0000000 the same with U,
 * 0x10000000 the UART and 0x02000000 the CLINT (RW superpages), 0x40000000 -> l0:
 * l0[0] data page RW A D, l0[1] the same page with A and D clear (the walk sets them).
 */
build_tables:
	la a4, root
	li a3, 0x20000000 | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
	li a5, 0x200 * 4
	add a5, a5, a4
	sw a3, 0(a5)
	li a5, 0x300 * 4
	add a5, a5, a4
	ori a3, a3, PTE_U
	sw a3, 0(a5)
	li a3, 0x04000000 | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
	sw a3, 0x40 * 4(a4)
	li a3, 0x00800000 | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
	sw a3, 8 * 4(a4)
	la a5, l0
	srli a5, a5, 12
	slli a5, a5, 10
	ori a3, a5, PTE_V
	li a5, 0x100 * 4
	add a5, a5, a4
	sw a3, 0(a5)
	la a4, l0
	la a5, page
	srli a5, a5, 12
	slli a5, a5, 10
	ori a3, a5, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
	sw a3, 0(a4)
	ori a3, a5, PTE_V | PTE_R | PTE_W
	sw a3, 4(a4)
	ret

	.balign 4
s_entry:
	la a3, s_trap
	csrw stvec, a3
	li a4, 0x40000000
	call memory_ops
	li a4, 0x40001000	/* A and D clear */
	lw a3, 0(a4);    MIX a3
	sw a3, 0(a4)
	li a4, 0x40000000
	call atomic_ops
	li a4, UART
	call device_ops
	li a4, 0xd0000000	/* unmapped: page faults, delegated to S */
	call fault_ops
	jalr ra, 0(a4)	/* an instruction page fault: s_trap returns to ra */
	/* wfi in S, woken by a pending supervisor software interrupt, then the interrupt taken */
	csrci sstatus, 2	/* SIE off (an sret may have set it): wfi wakes, the trap comes later */
	csrsi sie, 2
	csrsi sip, 2
	wfi
	csrsi sstatus, 2
	csrci sstatus, 2
	csrci sie, 2
	csrrw a3, sscratch, a2; MIX a3
	csrr a3, sstatus
	csrr a3, scause;  MIX a3
	csrr a3, stval;   MIX a3
	li a4, 0x40000000
	sfence.vma a4
	sfence.vma
	li a4, 0x40000000
	li a5, HOT_TRANSLATED
	call loop_count
	call hot_loop
	MIX a3
	/* sret into U mode at the U alias of u_entry */
	li a3, 1 << 8	/* sstatus.SPP */
	csrc sstatus, a3
	la a3, u_entry
	li a4, 0x40000000
	add a3, a3, a4	/* 0x8... -> 0xc... */
	csrw sepc, a3
	sret
s_after_user:
	csrr a3, scause; MIX a3
	ecall		/* to M: cause 9, not delegated, returns to back_in_m */

	.balign 4
u_entry:
	la a4, data	/* pc-relative: data through the U alias */
	lw a3, 0(a4);    MIX a3
	sw a3, 4(a4)
	lw a3, 0(zero)	/* page fault from U, delegated to S */
	ecall		/* to S: cause 8 */

/*
 * Traps taken in S: the software interrupt is cleared; an ecall from U goes on in S; an
 * instruction page fault returns to ra; other exceptions skip the instruction.
 */
	.balign 4
s_trap:
	csrr t3, scause
	MIX t3
	bltz t3, 3f
	csrr t4, stval
	MIX t4
	li t4, 8
	beq t3, t4, 1f
	li t4, 12
	beq t3, t4, 2f
	csrr t4, sepc
	addi t4, t4, 4
	csrw sepc, t4
	sret
1:	li t4, 1 << 8
	csrs sstatus, t4
	la t4, s_after_user
	csrw sepc, t4
	sret
2:	csrw sepc, ra
	sret
3:	csrci sip, 2
	sret

/* Traps taken in M: the timer interrupt disarms the timer; an ecall from S returns to M; else skip. */
	.balign 4
m_trap:
	csrr t3, mcause
	MIX t3
	bltz t3, 2f
	csrr t4, mtval
	MIX t4
	li t4, 9
	beq t3, t4, 1f
	csrr t4, mepc
	addi t4, t4, 4
	csrw mepc, t4
	mret
1:	li t4, 3 << 11	/* MPP = M */
	csrs mstatus, t4
	la t4, back_in_m
	csrw mepc, t4
	mret
2:	li t4, CLINT_MTIMECMP
	li t3, -1
	sw t3, 4(t4)
	sw t3, 0(t4)
	li a7, 1
	mret

	.section .data
	.balign 64
data:
	.word 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

	.section .bss
	.balign 4096
root:
	.space 4096
l0:
	.space 4096
page:
	.space 4096
	.space 1024
stack_top:
