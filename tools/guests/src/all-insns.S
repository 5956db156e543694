/*
 * all-insns.S — a disassembler fixture, never run.
 *
 * Every RV32I, M, A, Zicsr, Zifencei and privileged instruction, and every RV32C
 * instruction, with varied registers and immediates (zero, negative, extreme), plus
 * a few illegal, reserved and hint encodings.  build.sh assembles it with
 *   riscv64-unknown-elf-as -march=rv32imac_zicsr_zifencei_zihintpause -mabi=ilp32
 * links it with .text at 0x80000000 (out/all-insns.elf) and stores
 *   out/all-insns.objdump          objdump -d -M no-aliases
 *   out/all-insns.objdump-aliases  objdump -d
 * Each group starts at a global label so that the listings are easy to navigate.
 * No relaxation: every instruction stays exactly as written.
 */
	.option norelax
	.text
	.globl _start
_start:

/* ------------------------------------------------------------------ RV32I */
	.option push
	.option norvc

	.globl rv32i_upper
rv32i_upper:
	lui	zero, 0
	lui	a0, 0
	lui	a0, 1
	lui	t6, 0xfffff
	lui	s11, 0x80000
	lui	ra, 0x12345
	auipc	a0, 0
	auipc	sp, 1
	auipc	t0, 0xfffff
	auipc	gp, 0x80000

	.globl rv32i_jumps
rv32i_jumps:
	jal	zero, rv32i_jumps		/* offset 0 */
	jal	ra, rv32i_upper			/* backward */
	jal	t0, rv32i_branches		/* forward */
	jal	zero, .+4
	jal	a0, .-4
	jal	ra, .+0xffffe			/* largest forward */
	jal	ra, .-0x100000			/* largest backward */
	jalr	zero, 0(ra)
	jalr	ra, 0(a0)
	jalr	t1, -1(t2)
	jalr	a5, 2047(s0)
	jalr	s11, -2048(t6)
	jalr	zero, 0(zero)
	jalr	x31, 1(x31)

	.globl rv32i_branches
rv32i_branches:
	beq	zero, zero, rv32i_branches
	beq	a0, a1, .+8
	bne	t0, t1, .-8
	blt	s0, s1, .+4094			/* largest forward */
	bge	a2, a3, .-4096			/* largest backward */
	bltu	t5, t6, .+2
	bgeu	ra, sp, .-2
	blt	zero, a0, .+16
	bge	a0, zero, .+16
	bltu	zero, x31, .+16
	bgeu	x31, zero, .+16
	bne	a4, zero, rv32i_jumps

	.globl rv32i_loads
rv32i_loads:
	lb	a0, 0(a1)
	lb	zero, -1(sp)
	lh	t0, 2047(t1)
	lh	x31, -2048(x31)
	lw	ra, 4(sp)
	lw	s11, -4(s0)
	lw	a0, 0(zero)
	lbu	a2, 1(a3)
	lbu	t3, -2048(t4)
	lhu	a4, 2046(a5)
	lhu	s2, -2(s3)

	.globl rv32i_stores
rv32i_stores:
	sb	a0, 0(a1)
	sb	zero, -1(sp)
	sh	t0, 2047(t1)
	sh	x31, -2048(x31)
	sw	ra, 12(sp)
	sw	s11, -4(s0)
	sw	a0, 0(zero)
	sw	zero, 2044(gp)

	.globl rv32i_op_imm
rv32i_op_imm:
	addi	zero, zero, 0			/* nop */
	addi	a0, a0, 1
	addi	sp, sp, -16
	addi	t0, zero, -2048
	addi	t6, s11, 2047
	addi	a1, a2, 0			/* mv */
	addi	zero, a0, 5			/* hint */
	slti	a0, a1, -1
	slti	t0, t1, 2047
	slti	s0, zero, -2048
	sltiu	a0, a1, 1			/* seqz */
	sltiu	t0, t1, -1
	sltiu	s1, s2, 2047
	xori	a0, a1, -1			/* not */
	xori	t0, t1, 0x555
	xori	zero, zero, -2048
	ori	a0, a1, 0
	ori	t3, t4, -1
	ori	s5, s6, 2047
	andi	a0, a1, 0xff
	andi	t0, t1, -2048
	andi	s7, s8, -1
	slli	a0, a1, 0
	slli	t0, t1, 1
	slli	x31, x31, 31
	slli	zero, zero, 31			/* semihosting marker */
	srli	a0, a1, 0
	srli	t0, t1, 16
	srli	s9, s10, 31
	srai	a0, a1, 1
	srai	t0, t1, 31
	srai	zero, zero, 7			/* semihosting marker */

	.globl rv32i_op
rv32i_op:
	add	a0, a1, a2
	add	zero, zero, zero
	add	x31, x30, x29
	sub	a0, zero, a1			/* neg */
	sub	t0, t1, t2
	sll	a0, a1, a2
	sll	s0, s1, zero
	slt	a0, a1, a2
	slt	t0, zero, t1			/* sgtz */
	slt	t0, t1, zero			/* sltz */
	sltu	a0, zero, a1			/* snez */
	sltu	s2, s3, s4
	xor	a0, a1, a2
	xor	t5, t5, t5
	srl	a0, a1, a2
	srl	gp, tp, ra
	sra	a0, a1, a2
	sra	s10, s11, t6
	or	a0, a1, a2
	or	sp, sp, zero
	and	a0, a1, a2
	and	t4, t3, t2

	.globl rv32i_system
rv32i_system:
	fence
	fence	iorw, iorw
	fence	rw, rw
	fence	r, r
	fence	w, w
	fence	r, rw
	fence	rw, w
	fence	i, o
	fence	o, i
	fence	io, rw
	fence.tso
	pause
	ecall
	ebreak
	/* The semihosting sequence as a whole. */
	slli	zero, zero, 0x1f
	ebreak
	srai	zero, zero, 7

/* ------------------------------------------------------------------ Zifencei */
	.globl zifencei
zifencei:
	fence.i

/* ------------------------------------------------------------------ M */
	.globl rv32m
rv32m:
	mul	a0, a1, a2
	mul	zero, x31, x31
	mulh	t0, t1, t2
	mulh	s0, s0, s0
	mulhsu	a3, a4, a5
	mulhsu	t6, zero, ra
	mulhu	s2, s3, s4
	mulhu	a0, a0, zero
	div	a0, a1, a2
	div	t3, t4, t5
	divu	s5, s6, s7
	divu	a0, zero, a1
	rem	a0, a1, a2
	rem	ra, sp, gp
	remu	s8, s9, s10
	remu	x31, x30, x29

/* ------------------------------------------------------------------ A */
	.globl rv32a
rv32a:
	lr.w		a0, (a1)
	lr.w.aq		t0, (t1)
	lr.w.rl		s0, (s1)
	lr.w.aqrl	x31, (x31)
	sc.w		a0, a2, (a1)
	sc.w.aq		t0, t2, (t1)
	sc.w.rl		s0, s2, (s1)
	sc.w.aqrl	zero, zero, (sp)
	amoswap.w	a0, a2, (a1)
	amoswap.w.aq	t0, t2, (t1)
	amoswap.w.rl	s0, s2, (s1)
	amoswap.w.aqrl	zero, a3, (a4)
	amoadd.w	a0, a2, (a1)
	amoadd.w.aq	t0, t2, (t1)
	amoadd.w.rl	s0, s2, (s1)
	amoadd.w.aqrl	zero, a3, (a4)
	amoxor.w	a0, a2, (a1)
	amoxor.w.aq	t0, t2, (t1)
	amoxor.w.rl	s0, s2, (s1)
	amoxor.w.aqrl	t6, t5, (t4)
	amoand.w	a0, a2, (a1)
	amoand.w.aq	t0, t2, (t1)
	amoand.w.rl	s0, s2, (s1)
	amoand.w.aqrl	t6, t5, (t4)
	amoor.w		a0, a2, (a1)
	amoor.w.aq	t0, t2, (t1)
	amoor.w.rl	s0, s2, (s1)
	amoor.w.aqrl	t6, t5, (t4)
	amomin.w	a0, a2, (a1)
	amomin.w.aq	t0, t2, (t1)
	amomin.w.rl	s0, s2, (s1)
	amomin.w.aqrl	t6, t5, (t4)
	amomax.w	a0, a2, (a1)
	amomax.w.aq	t0, t2, (t1)
	amomax.w.rl	s0, s2, (s1)
	amomax.w.aqrl	t6, t5, (t4)
	amominu.w	a0, a2, (a1)
	amominu.w.aq	t0, t2, (t1)
	amominu.w.rl	s0, s2, (s1)
	amominu.w.aqrl	t6, t5, (t4)
	amomaxu.w	a0, a2, (a1)
	amomaxu.w.aq	t0, t2, (t1)
	amomaxu.w.rl	s0, s2, (s1)
	amomaxu.w.aqrl	t6, t5, (t4)

/* ------------------------------------------------------------------ Zicsr */
	.globl zicsr_forms
zicsr_forms:
	csrrw	a0, mscratch, a1
	csrrw	zero, mscratch, a1		/* csrw */
	csrrs	a0, mscratch, zero		/* csrr */
	csrrs	a0, mscratch, a1
	csrrs	zero, mscratch, a1		/* csrs */
	csrrc	a0, mscratch, a1
	csrrc	zero, mscratch, a1		/* csrc */
	csrrwi	a0, mscratch, 0
	csrrwi	zero, mscratch, 31		/* csrwi */
	csrrsi	a0, mscratch, 1
	csrrsi	zero, mscratch, 16		/* csrsi */
	csrrci	a0, mscratch, 31
	csrrci	zero, mscratch, 8		/* csrci */

	.globl zicsr_machine
zicsr_machine:
	csrr	a0, mvendorid
	csrr	a0, marchid
	csrr	a0, mimpid
	csrr	a0, mhartid
	csrr	a0, mconfigptr
	csrrw	t0, mstatus, t1
	csrrs	t0, mstatus, t1
	csrrc	t0, mstatus, t1
	csrrsi	zero, mstatus, 8
	csrrci	zero, mstatus, 8
	csrr	a0, mstatush
	csrr	a0, misa
	csrw	misa, a0
	csrw	medeleg, a0
	csrw	mideleg, a0
	csrrw	a0, mie, a1
	csrrs	a0, mip, zero
	csrrc	zero, mip, a1
	csrw	mtvec, a0
	csrr	a0, mtvec
	csrw	mcounteren, a0
	csrw	mcountinhibit, a0
	csrw	menvcfg, a0
	csrrw	sp, mscratch, sp
	csrw	mepc, ra
	csrr	a0, mcause
	csrr	a0, mtval
	csrw	pmpcfg0, a0
	csrw	pmpcfg3, a0
	csrw	pmpaddr0, a0
	csrw	pmpaddr15, a0
	csrr	a0, mcycle
	csrr	a0, mcycleh
	csrr	a0, minstret
	csrr	a0, minstreth
	csrw	mcycle, zero
	csrw	minstret, zero
	csrr	a0, mhpmcounter3
	csrr	a0, mhpmcounter31h
	csrw	mhpmevent3, a0

	.globl zicsr_supervisor
zicsr_supervisor:
	csrrw	a0, sstatus, a1
	csrrs	a0, sie, a1
	csrrc	a0, sip, a1
	csrw	stvec, a0
	csrw	scounteren, a0
	csrw	senvcfg, a0
	csrrw	sp, sscratch, sp
	csrr	a0, sepc
	csrr	a0, scause
	csrr	a0, stval
	csrw	satp, a0
	csrr	a0, satp

	.globl zicsr_user
zicsr_user:
	csrr	a0, cycle			/* rdcycle */
	csrr	a1, cycleh			/* rdcycleh */
	csrr	a2, time			/* rdtime */
	csrr	a3, timeh			/* rdtimeh */
	csrr	a4, instret			/* rdinstret */
	csrr	a5, instreth			/* rdinstreth */
	csrr	a0, hpmcounter3
	csrr	a0, hpmcounter31h
	rdcycle	t0
	rdtime	t1
	rdinstret t2

	.globl zicsr_numeric
zicsr_numeric:
	csrr	a0, 0x7c0
	csrw	0x800, a0
	csrrwi	zero, 0xbc0, 5
	csrrs	a0, 0xfff, zero
	csrrc	a0, 0x5c0, a1

/* ------------------------------------------------------------------ privileged */
	.globl privileged
privileged:
	mret
	sret
	wfi
	sfence.vma
	sfence.vma	a0
	sfence.vma	a0, a1
	sfence.vma	zero, t0

	.option pop

/* ------------------------------------------------------------------ RV32C */
	.option push
	.option rvc

	.globl rvc_quadrant0
rvc_quadrant0:
	c.addi4spn	s0, sp, 4
	c.addi4spn	a5, sp, 1020
	c.addi4spn	a0, sp, 512
	c.lw		s0, 0(s1)
	c.lw		a5, 124(a4)
	c.lw		a0, 64(a1)
	c.sw		s0, 0(s1)
	c.sw		a5, 124(a4)
	c.sw		a2, 4(a3)

	.globl rvc_quadrant1
rvc_quadrant1:
	c.nop
	c.addi		a0, 1
	c.addi		sp, -32
	c.addi		t6, 31
	c.addi		ra, -1
	c.jal		rvc_quadrant0			/* backward */
	c.jal		rvc_jumps			/* forward */
	c.jal		.+2046				/* largest forward */
	c.jal		.-2048				/* largest backward */
	c.li		a0, 0
	c.li		t0, -32
	c.li		x31, 31
	c.li		ra, -1
	c.addi16sp	sp, 16
	c.addi16sp	sp, -512
	c.addi16sp	sp, 496
	c.addi16sp	sp, -16
	c.lui		a0, 1
	c.lui		t0, 31
	c.lui		s11, 0xfffff
	c.lui		ra, 0xfffe0
	c.lui		gp, 0x10
	c.srli		s0, 1
	c.srli		a5, 31
	c.srli		a0, 16
	c.srai		s1, 1
	c.srai		a4, 31
	c.srai		a0, 7
	c.andi		s0, 0
	c.andi		a5, -1
	c.andi		a0, -32
	c.andi		a1, 31
	c.sub		s0, s1
	c.sub		a4, a5
	c.xor		a0, a1
	c.xor		s1, s1
	c.or		a2, a3
	c.or		s0, a5
	c.and		a4, a5
	c.and		a0, s0

	.globl rvc_jumps
rvc_jumps:
	c.j		rvc_jumps
	c.j		rvc_quadrant1
	c.j		rvc_quadrant2
	c.j		.+2046
	c.j		.-2048
	c.beqz		s0, rvc_jumps
	c.beqz		a5, .+254			/* largest forward */
	c.beqz		a0, .-256			/* largest backward */
	c.bnez		s1, rvc_jumps
	c.bnez		a4, .+254
	c.bnez		a1, .-256
	c.bnez		a2, .+2

	.globl rvc_quadrant2
rvc_quadrant2:
	c.slli		a0, 1
	c.slli		t6, 31
	c.slli		ra, 16
	c.slli		sp, 4
	c.lwsp		a0, 0(sp)
	c.lwsp		ra, 252(sp)
	c.lwsp		t6, 4(sp)
	c.lwsp		s0, 128(sp)
	c.jr		ra				/* ret */
	c.jr		a0
	c.jr		t6
	c.mv		a0, a1
	c.mv		sp, s0
	c.mv		x31, ra
	c.ebreak
	c.jalr		ra
	c.jalr		a0
	c.jalr		t6
	c.add		a0, a1
	c.add		sp, t0
	c.add		x31, x31
	c.swsp		a0, 0(sp)
	c.swsp		ra, 252(sp)
	c.swsp		t6, 4(sp)
	c.swsp		zero, 8(sp)

	/* Instructions the assembler compresses on its own when RVC is on. */
	.globl rvc_auto
rvc_auto:
	addi		a0, a0, 1
	lw		a0, 4(sp)
	add		a0, a0, a1
	mv		s0, s1
	ret
	li		a5, -7
	nop

	.option pop

/* ------------------------------------------------------------------ illegal / reserved */
	.globl illegal_32
illegal_32:
	/*
	 * Raw words, decoded by objdump because the ELF keeps no mapping symbols.
	 * (Lengths > 32 bits, e.g. low bits 0x3f/0x7f, are avoided: objdump would take
	 * the following bytes as part of them.)
	 */
	.word	0x00000000		/* all zeros: two 16-bit c.unimp (defined illegal) */
	.word	0x02b50553		/* fadd.s fa0, fa0, fa1: F, not in RV32IMAC */
	.word	0x0005a507		/* flw fa0, 0(a1): F, not in RV32IMAC */
	.word	0x0200e533		/* rem a0, ra, zero (valid, written as a word) */
	.word	0x4200e533		/* OP with funct7 = 0x21: reserved */
	.word	0x00003003		/* LOAD funct3 = 3 (ld): RV64 only */
	.word	0x00006003		/* LOAD funct3 = 6 (lwu): RV64 only */
	.word	0x00003023		/* STORE funct3 = 3 (sd): RV64 only */
	.word	0x0000101b		/* OP-IMM-32 (slliw): RV64 only */
	.word	0x02001013		/* slli zero, zero, 32: shamt[5] = 1 is reserved on RV32 */
	.word	0x0000200f		/* MISC-MEM funct3 = 2: reserved */
	.word	0x10b5252f		/* lr.w a0, (a0) with rs2 = a1: reserved */
	.word	0x00004073		/* SYSTEM funct3 = 4: reserved */
	.word	0x10500073		/* wfi (valid) */
	.word	0x7b200073		/* dret (debug mode only) */
	.word	0x00200073		/* uret (N extension, withdrawn) */
	.word	0xffffffff		/* all ones: illegal */

	.globl illegal_16
illegal_16:
	.hword	0x0000			/* c.unimp: the defined illegal instruction */
	.hword	0x0004			/* c.addi4spn s1, sp, 0: nzuimm = 0 is reserved */
	.hword	0x6101			/* c.addi16sp sp, 0: nzimm = 0 is reserved */
	.hword	0x6501			/* c.lui a0, 0: reserved */
	.hword	0x4002			/* c.lwsp zero, 0(sp): rd = 0 is reserved */
	.hword	0x8002			/* c.jr zero: reserved */
	.hword	0x9002			/* c.ebreak (valid) */
	.hword	0x9006			/* c.add zero, ra: hint */
	.hword	0x9001			/* c.srli s0, 32: shamt[5] = 1 is reserved on RV32 */
	.hword	0x1001			/* c.addi zero, -32 (c.nop with nzimm != 0): hint */
	.hword	0x4001			/* c.li zero, 0: hint */
	.hword	0x0002			/* c.slli zero, 0 (c.slli64): hint */
	.hword	0x8402			/* c.jr s0 (valid) */
	.hword	0x2000			/* c.fld: D, not in RV32IMAC */
	.hword	0x6000			/* c.flw: F, not in RV32IMAC */
	.hword	0x9c01			/* c.subw: RV64 only */
	.hword	0x9c41			/* c.addw: RV64 only */
	.hword	0x9c81			/* reserved */
	.hword	0x0001			/* c.nop */

	.globl end_of_fixture
end_of_fixture:
	.word	0x00000013		/* nop */
