/*
 * Amber SBI firmware: a minimal M-mode SBI for one RV32 hart on the QEMU `virt`
 * board (and on Amber's copy of it).  It sets up PMP, trap delegation and the
 * counters, then enters the kernel at 0x80400000 in S-mode with a0 = hartid and
 * a1 = the device-tree address it was handed in a1 (by QEMU's reset vector).
 *
 * SBI implemented (spec v1.0 calling convention: a7 = EID, a6 = FID, returns
 * a0 = error, a1 = value; legacy calls return a0 only):
 *   base    0x10        spec/impl id/impl version/probe/mvendorid/marchid/mimpid
 *   TIME    0x54494D45  set_timer -> CLINT mtimecmp, timer forwarded as STIP
 *   SRST    0x53525354  system_reset -> sifive_test (0x5555 off, 0x7777 reboot)
 *   legacy  0x00..0x08  set_timer, console_putchar/getchar (16550 at 0x10000000),
 *                       clear_ipi, send_ipi, remote fences (one hart: local), shutdown
 *
 * Build with -DSBI_TRACE to print every SBI call as "[sbi EID FID]" on the UART.
 * Registers other than a0/a1 are preserved across every call.
 */

#define UART_BASE	0x10000000	/* 16550: THR/RBR at 0, LSR at 5 */
#define TEST_BASE	0x00100000	/* sifive_test finisher */
#define CLINT_MTIMECMP	0x02004000	/* hart 0 */
#define KERNEL_ENTRY	0x80400000

#define MIP_SSIP	(1 << 1)
#define MIP_STIP	(1 << 5)
#define MIE_MTIE	(1 << 7)

#define SBI_ERR_NOT_SUPPORTED	-2
#define SBI_ERR_INVALID_PARAM	-3

#define EXT_BASE	0x10
#define EXT_TIME	0x54494D45
#define EXT_SRST	0x53525354

#define IMPL_ID		0x414D4252	/* "AMBR" (not a registered SBI implementation id) */
#define IMPL_VERSION	1
#define SPEC_VERSION	0x01000000	/* v1.0 (>= v0.3 makes Linux use SRST) */

	.option norvc
	.section .text.init, "ax"
	.globl _start
_start:
	csrr	t0, mhartid
	bnez	t0, park			/* one hart only: park the others */
	mv	s0, a0
	mv	s1, a1
	la	sp, stack_top
	csrw	mscratch, sp

	/* PMP entry 0: NAPOT over the whole address space, RWX, so that S and U may
	 * access memory at all (without any PMP entry they fault on QEMU). */
	li	t0, -1
	csrw	pmpaddr0, t0
	li	t0, 0x1f			/* A=NAPOT, X, W, R */
	csrw	pmpcfg0, t0

	/* menvcfgh.STCE (bit 63 of menvcfg): let S-mode use stimecmp when the hart has
	 * Sstc (QEMU 7.2's default rv32 cpu advertises it; Linux then writes stimecmp
	 * directly).  The CSR may not exist (priv < 1.12): skip the write if it traps. */
	la	t0, skip_trap
	csrw	mtvec, t0
	li	t0, 0x80000000
	csrs	0x31a, t0			/* menvcfgh */

	la	t0, trap
	csrw	mtvec, t0
	li	t0, 7				/* CY, TM, IR readable in S-mode (rdtime!) */
	csrw	mcounteren, t0
	csrw	scounteren, t0			/* ... and in U-mode, as OpenSBI does */
	li	t0, 0x222			/* SSIP, STIP, SEIP handled by S-mode */
	csrw	mideleg, t0
	li	t0, 0xb1ff			/* exceptions 0-8, 12, 13, 15 to S-mode */
	csrw	medeleg, t0
	csrw	mie, zero
	csrw	mip, zero
	csrw	satp, zero

	la	a0, banner
	call	puts

	li	t0, 0x1800			/* mstatus.MPP = S (01) */
	csrc	mstatus, t0
	li	t0, 0x0800
	csrs	mstatus, t0
	li	t0, KERNEL_ENTRY
	csrw	mepc, t0
	csrr	a0, mhartid
	mv	a1, s1
	mret

park:
	csrw	mie, zero
1:	wfi
	j	1b

	.align 2
skip_trap:					/* M-mode trap during probing: skip it */
	csrr	t0, mepc
	addi	t0, t0, 4
	csrw	mepc, t0
	mret

/* ---- trap handler: S-mode ecalls and the machine timer interrupt ---------- */
	.align 2
trap:
	csrrw	sp, mscratch, sp		/* sp = M stack, mscratch = S sp */
	addi	sp, sp, -48
	sw	ra, 0(sp)
	sw	t0, 4(sp)
	sw	t1, 8(sp)
	sw	t2, 12(sp)
	sw	a2, 16(sp)
	sw	a3, 20(sp)
	sw	a4, 24(sp)
	sw	a5, 28(sp)

	csrr	t0, mcause
	bltz	t0, interrupt
	li	t1, 9				/* ecall from S-mode */
	bne	t0, t1, unexpected
	csrr	t1, mepc
	addi	t1, t1, 4
	csrw	mepc, t1

#ifdef SBI_TRACE
	mv	a4, a0
	mv	a5, a1
	la	a0, tr_open
	call	puts
	mv	a0, a7
	call	puthex
	li	a0, ' '
	call	putc
	mv	a0, a6
	call	puthex
	la	a0, tr_close
	call	puts
	mv	a0, a4
	mv	a1, a5
#endif

	li	t1, 8
	bleu	a7, t1, legacy
	li	t1, EXT_BASE
	beq	a7, t1, base
	li	t1, EXT_TIME
	beq	a7, t1, time
	li	t1, EXT_SRST
	beq	a7, t1, srst
not_supported:
	li	a0, SBI_ERR_NOT_SUPPORTED
	j	ret_a0

/* base extension */
base:
	li	t1, 6
	bgtu	a6, t1, not_supported
	la	t1, base_table
	slli	t2, a6, 2
	add	t1, t1, t2
	lw	t1, 0(t1)
	jr	t1
base_spec:
	li	a1, SPEC_VERSION
	j	ok
base_impl_id:
	li	a1, IMPL_ID
	j	ok
base_impl_ver:
	li	a1, IMPL_VERSION
	j	ok
base_probe:					/* a0 = extension id */
	li	a1, 1
	li	t1, 8
	bleu	a0, t1, ok
	li	t1, EXT_BASE
	beq	a0, t1, ok
	li	t1, EXT_TIME
	beq	a0, t1, ok
	li	t1, EXT_SRST
	beq	a0, t1, ok
	li	a1, 0
	j	ok
base_mvendorid:
	csrr	a1, mvendorid
	j	ok
base_marchid:
	csrr	a1, marchid
	j	ok
base_mimpid:
	csrr	a1, mimpid
	j	ok

/* TIME extension */
time:
	bnez	a6, not_supported
	call	set_timer
	li	a1, 0
	j	ok

/* SRST extension: a0 = type (0 shutdown, 1 cold reboot, 2 warm reboot) */
srst:
	bnez	a6, not_supported
	beqz	a0, poweroff
	li	t1, 2
	bleu	a0, t1, reboot
	li	a0, SBI_ERR_INVALID_PARAM
	j	ret_a0

/* legacy extensions 0x00..0x08 */
legacy:
	la	t1, legacy_table
	slli	t2, a7, 2
	add	t1, t1, t2
	lw	t1, 0(t1)
	jr	t1
legacy_set_timer:
	call	set_timer
	j	ok_legacy
legacy_putchar:
	call	putc
	j	ok_legacy
legacy_getchar:
	li	t1, UART_BASE
	lbu	t2, 5(t1)			/* LSR.DR */
	andi	t2, t2, 1
	li	a0, -1
	beqz	t2, ret_a0
	lbu	a0, 0(t1)
	j	ret_a0
legacy_clear_ipi:
	li	t1, MIP_SSIP
	csrc	mip, t1
	j	ok_legacy
legacy_send_ipi:				/* the only hart is the caller */
	li	t1, MIP_SSIP
	csrs	mip, t1
	j	ok_legacy
legacy_fence_i:
	fence.i
	j	ok_legacy
legacy_sfence_vma:
	sfence.vma
	j	ok_legacy

ok_legacy:
	li	a0, 0
	j	ret_a0
ok:
	li	a0, 0
ret_a0:
restore:
	lw	ra, 0(sp)
	lw	t0, 4(sp)
	lw	t1, 8(sp)
	lw	t2, 12(sp)
	lw	a2, 16(sp)
	lw	a3, 20(sp)
	lw	a4, 24(sp)
	lw	a5, 28(sp)
	addi	sp, sp, 48
	csrrw	sp, mscratch, sp
	mret

/* machine timer: hand it to S-mode as STIP, mask it until the next set_timer */
interrupt:
	slli	t0, t0, 1
	srli	t0, t0, 1
	li	t1, 7
	bne	t0, t1, unexpected_irq
	li	t1, MIE_MTIE
	csrc	mie, t1
	li	t1, MIP_STIP
	csrs	mip, t1
	j	restore

unexpected_irq:
	li	t1, 1
	sll	t1, t1, t0
	csrc	mie, t1				/* mask it and go on */
	j	restore

unexpected:					/* print the cause and stop with a failure */
	la	a0, msg_trap
	call	puts
	csrr	a0, mcause
	call	puthex
	la	a0, msg_epc
	call	puts
	csrr	a0, mepc
	call	puthex
	la	a0, msg_tval
	call	puts
	csrr	a0, mtval
	call	puthex
	li	a0, '\n'
	call	putc
	li	t1, TEST_BASE
	li	t2, 0x00013333			/* FAIL, exit code 1 */
	sw	t2, 0(t1)
	j	park

poweroff:
	li	t1, TEST_BASE
	li	t2, 0x5555
	sw	t2, 0(t1)
	j	park
reboot:
	li	t1, TEST_BASE
	li	t2, 0x7777
	sw	t2, 0(t1)
	j	park

/* set_timer(a0 = low, a1 = high): program mtimecmp, clear STIP, unmask MTIE */
set_timer:
	li	t1, CLINT_MTIMECMP
	li	t2, -1
	sw	t2, 4(t1)			/* no spurious match while the halves differ */
	sw	a0, 0(t1)
	sw	a1, 4(t1)
	li	t1, MIP_STIP
	csrc	mip, t1
	li	t1, MIE_MTIE
	csrs	mie, t1
	ret

/* putc(a0): clobbers t1, t2 */
putc:
	li	t1, UART_BASE
1:	lbu	t2, 5(t1)			/* LSR.THRE */
	andi	t2, t2, 0x20
	beqz	t2, 1b
	sb	a0, 0(t1)
	ret

/* puts(a0 = NUL-terminated string): clobbers a0, a2, a3, t1, t2 */
puts:
	mv	a3, ra
	mv	a2, a0
1:	lbu	a0, 0(a2)
	beqz	a0, 2f
	call	putc
	addi	a2, a2, 1
	j	1b
2:	mv	ra, a3
	ret

/* puthex(a0): 8 hex digits; clobbers a0, a2, a3, t0, t1, t2 */
puthex:
	mv	a3, ra
	mv	a2, a0
	li	t0, 28
1:	srl	a0, a2, t0
	andi	a0, a0, 15
	addi	a0, a0, '0'
	li	t1, '9'
	bleu	a0, t1, 2f
	addi	a0, a0, 'a' - '0' - 10
2:	call	putc
	addi	t0, t0, -4
	bgez	t0, 1b
	mv	ra, a3
	ret

	.section .rodata
	.align 2
base_table:
	.word	base_spec, base_impl_id, base_impl_ver, base_probe
	.word	base_mvendorid, base_marchid, base_mimpid
legacy_table:
	.word	legacy_set_timer, legacy_putchar, legacy_getchar, legacy_clear_ipi
	.word	legacy_send_ipi, legacy_fence_i, legacy_sfence_vma, legacy_sfence_vma
	.word	poweroff
banner:
	.asciz	"Amber SBI firmware v1 (M-mode, SBI v1.0: base TIME SRST legacy)\n"
msg_trap:
	.asciz	"amber-fw: unexpected trap mcause="
msg_epc:
	.asciz	" mepc="
msg_tval:
	.asciz	" mtval="
#ifdef SBI_TRACE
tr_open:
	.asciz	"[sbi "
tr_close:
	.asciz	"]\n"
#endif

	.section .bss
	.align 4
stack:
	.space	1024
stack_top:
