/*
 * compressed: every RV32C integer instruction, written explicitly as c.* in inline
 * asm (only built for rv32imac).
 *
 * c.addi4spn c.lw c.sw c.nop c.addi c.jal c.li c.addi16sp c.lui c.srli c.srai c.andi
 * c.sub c.xor c.or c.and c.j c.beqz c.bnez c.slli c.lwsp c.jr c.mv c.jalr c.add
 * c.swsp (c.ebreak is in traps), with negative and extreme immediates; links of
 * c.jal/c.jalr are pc + 2.
 */
#include <stdint.h>

#include "include/check.h"

#ifndef __riscv_compressed
#error "compressed needs the C extension"
#endif

#define RVC_BEGIN ".option push\n\t.option rvc\n\t"
#define RVC_END "\n\t.option pop"

/* One-operand-register op on a "compressible" register (x8..x15): a0. */
#define C1(insn, init) ({ register uint32_t a0_ __asm__("a0") = (init); \
	__asm__ volatile(RVC_BEGIN insn RVC_END : "+r"(a0_)); a0_; })
/* Two-register op: a0 = a0 op a1. */
#define C2(insn, x, y) ({ register uint32_t a0_ __asm__("a0") = (x); \
	register uint32_t a1_ __asm__("a1") = (y); \
	__asm__ volatile(RVC_BEGIN insn " a0, a1" RVC_END : "+r"(a0_) : "r"(a1_)); a0_; })

static void immediates(void)
{
	CHECK_EQ("c.li a0, 0", C1("c.li a0, 0", 0x55), 0);
	CHECK_EQ("c.li a0, 31", C1("c.li a0, 31", 0), 31);
	CHECK_EQ("c.li a0, -32", C1("c.li a0, -32", 0), 0xffffffe0);
	CHECK_EQ("c.li a0, -1", C1("c.li a0, -1", 0), 0xffffffff);

	CHECK_EQ("c.addi a0, 1", C1("c.addi a0, 1", 41), 42);
	CHECK_EQ("c.addi a0, -32", C1("c.addi a0, -32", 0), 0xffffffe0);
	CHECK_EQ("c.addi a0, 31", C1("c.addi a0, 31", 0xffffffff), 30);
	CHECK_EQ("c.addi wraps", C1("c.addi a0, 1", 0xffffffff), 0);

	CHECK_EQ("c.lui a0, 1", C1("c.lui a0, 1", 0x123), 0x1000);
	CHECK_EQ("c.lui a0, 31", C1("c.lui a0, 31", 0), 0x1f000);
	CHECK_EQ("c.lui a0, 0xfffff", C1("c.lui a0, 0xfffff", 0), 0xfffff000);
	CHECK_EQ("c.lui a0, 0xfffe0", C1("c.lui a0, 0xfffe0", 0), 0xfffe0000);

	CHECK_EQ("c.slli a0, 1", C1("c.slli a0, 1", 0x40000001), 0x80000002);
	CHECK_EQ("c.slli a0, 31", C1("c.slli a0, 31", 3), 0x80000000);
	CHECK_EQ("c.srli a0, 1", C1("c.srli a0, 1", 0x80000001), 0x40000000);
	CHECK_EQ("c.srli a0, 31", C1("c.srli a0, 31", 0xffffffff), 1);
	CHECK_EQ("c.srai a0, 1 (negative)", C1("c.srai a0, 1", 0x80000000), 0xc0000000);
	CHECK_EQ("c.srai a0, 31 (negative)", C1("c.srai a0, 31", 0x80000000), 0xffffffff);
	CHECK_EQ("c.srai a0, 4 (-100)", C1("c.srai a0, 4", (uint32_t)-100), (uint32_t)-7);
	CHECK_EQ("c.srai a0, 31 (positive)", C1("c.srai a0, 31", 0x7fffffff), 0);
	CHECK_EQ("c.andi a0, -1", C1("c.andi a0, -1", 0x12345678), 0x12345678);
	CHECK_EQ("c.andi a0, -32", C1("c.andi a0, -32", 0x12345678), 0x12345660);
	CHECK_EQ("c.andi a0, 31", C1("c.andi a0, 31", 0xffffffff), 31);
	CHECK_EQ("c.andi a0, 0", C1("c.andi a0, 0", 0xffffffff), 0);

	/* c.slli on a register outside x8..x15 */
	uint32_t t = 0x10;
	__asm__ volatile(".option push\n\t.option rvc\n\tmv t3, %0\n\tc.slli t3, 4\n\tmv %0, t3\n\t.option pop"
			 : "+r"(t) :: "t3");
	CHECK_EQ("c.slli t3, 4", t, 0x100);

	/* c.nop does nothing. */
	CHECK_EQ("c.nop", C1("c.nop\n\tc.nop", 77), 77);
}

static void register_ops(void)
{
	CHECK_EQ("c.sub", C2("c.sub", 3, 5), 0xfffffffe);
	CHECK_EQ("c.sub INT_MIN - 1", C2("c.sub", 0x80000000, 1), 0x7fffffff);
	CHECK_EQ("c.xor", C2("c.xor", 0xff00ff00, 0x0ff00ff0), 0xf0f0f0f0);
	CHECK_EQ("c.or", C2("c.or", 0xff00ff00, 0x0ff00ff0), 0xfff0fff0);
	CHECK_EQ("c.and", C2("c.and", 0xff00ff00, 0x0ff00ff0), 0x0f000f00);

	/* c.mv and c.add work on any register. */
	uint32_t r;
	__asm__ volatile(".option push\n\t.option rvc\n\t"
			 "li t4, 0x12345678\n\t"
			 "c.mv t5, t4\n\t"
			 "c.add t5, t4\n\t"		/* 0x2468acf0 */
			 "c.mv %0, t5\n\t"
			 ".option pop" : "=r"(r) :: "t4", "t5");
	CHECK_EQ("c.mv/c.add on t4/t5", r, 0x2468acf0);
	CHECK_EQ("c.add overflow", C2("c.add", 0xffffffff, 2), 1);
	CHECK_EQ("c.mv", C2("c.mv", 0, 0xabcdef01), 0xabcdef01);
}

static void memory(void)
{
	static uint32_t mem[40] __attribute__((aligned(4)));
	for (int i = 0; i < 40; i++)
		mem[i] = 0x1000 + (uint32_t)i;

	uint32_t v0, v1;
	/* c.lw offsets: 0..124 in steps of 4 */
	__asm__ volatile(RVC_BEGIN "mv a2, %2\n\tc.lw a3, 0(a2)\n\tc.lw a4, 124(a2)\n\tmv %0, a3\n\tmv %1, a4" RVC_END
			 : "=r"(v0), "=r"(v1) : "r"(mem) : "a2", "a3", "a4", "memory");
	CHECK_EQ("c.lw 0", v0, 0x1000);
	CHECK_EQ("c.lw 124", v1, 0x1000 + 31);

	__asm__ volatile(RVC_BEGIN "mv a2, %0\n\tli a3, 0xdeadbeef\n\tli a4, 0xfeedface\n\t"
			 "c.sw a3, 4(a2)\n\tc.sw a4, 120(a2)" RVC_END
			 :: "r"(mem) : "a2", "a3", "a4", "memory");
	CHECK_EQ("c.sw 4", mem[1], 0xdeadbeef);
	CHECK_EQ("c.sw 120", mem[30], 0xfeedface);
	CHECK_EQ("c.sw neighbour", mem[2], 0x1002);

	/* Stack-relative: c.addi16sp, c.swsp, c.lwsp, c.addi4spn. */
	uint32_t sp_before, sp_after, spn, spn2, got, got2;
	__asm__ volatile(RVC_BEGIN
			 "mv %0, sp\n\t"
			 "c.addi16sp sp, -64\n\t"
			 "c.addi4spn a5, sp, 4\n\t"
			 "mv %2, a5\n\t"
			 "c.addi4spn a5, sp, 1020\n\t"
			 "mv %3, a5\n\t"
			 "li a5, 0x5a5a1234\n\t"
			 "c.swsp a5, 60(sp)\n\t"
			 "c.swsp %6, 0(sp)\n\t"
			 "c.lwsp %4, 60(sp)\n\t"
			 "c.lwsp %5, 0(sp)\n\t"
			 "c.addi16sp sp, 64\n\t"
			 "c.addi16sp sp, -512\n\t"
			 "c.addi16sp sp, 496\n\t"
			 "c.addi16sp sp, 16\n\t"
			 "mv %1, sp"
			 RVC_END
			 : "=&r"(sp_before), "=&r"(sp_after), "=&r"(spn), "=&r"(spn2), "=&r"(got), "=&r"(got2)
			 : "r"(0x77665544u) : "a5", "memory");
	CHECK_EQ("c.addi16sp restores sp", sp_after, sp_before);
	CHECK_EQ("c.addi4spn a5, sp, 4", spn, sp_before - 64 + 4);
	CHECK_EQ("c.addi4spn a5, sp, 1020", spn2, sp_before - 64 + 1020);
	CHECK_EQ("c.swsp/c.lwsp 60", got, 0x5a5a1234);
	CHECK_EQ("c.swsp/c.lwsp 0", got2, 0x77665544);

	/* c.lwsp with the largest offset (252): read a value placed by the compiler. */
	uint32_t far;
	__asm__ volatile(RVC_BEGIN
			 "c.addi16sp sp, -256\n\t"
			 "li a5, 0x0badf00d\n\t"
			 "c.swsp a5, 252(sp)\n\t"
			 "c.li a5, 0\n\t"
			 "c.lwsp a5, 252(sp)\n\t"
			 "mv %0, a5\n\t"
			 "c.addi16sp sp, 256"
			 RVC_END : "=r"(far) :: "a5", "memory");
	CHECK_EQ("c.swsp/c.lwsp 252", far, 0x0badf00d);
}

static void control(void)
{
	uint32_t t, link, expect;

	/* c.j forward and backward. */
	__asm__ volatile(RVC_BEGIN
			 "c.li %0, 0\n\t"
			 "c.j 2f\n"
			 "1:\tc.addi %0, 1\n\t"
			 "c.j 3f\n"
			 "2:\tc.addi %0, 10\n\t"
			 "c.j 1b\n\t"
			 "c.li %0, 31\n"
			 "3:"
			 RVC_END : "=&r"(t));
	CHECK_EQ("c.j forward/backward", t, 11);

	/* c.beqz / c.bnez, taken and not taken. */
	register uint32_t a0 __asm__("a0");
	register uint32_t a1 __asm__("a1");
	a1 = 0;
	__asm__ volatile(RVC_BEGIN
			 "c.li a0, 0\n\t"
			 "c.beqz a1, 1f\n\t"		/* taken */
			 "c.addi a0, 1\n"
			 "1:\tc.bnez a1, 2f\n\t"	/* not taken */
			 "c.addi a0, 2\n"
			 "2:"
			 RVC_END : "=&r"(a0) : "r"(a1));
	CHECK_EQ("c.beqz taken, c.bnez not taken", a0, 2);
	a1 = 0x80000000;
	__asm__ volatile(RVC_BEGIN
			 "c.li a0, 0\n\t"
			 "c.bnez a1, 1f\n\t"		/* taken */
			 "c.addi a0, 1\n"
			 "1:\tc.beqz a1, 2f\n\t"	/* not taken */
			 "c.addi a0, 2\n"
			 "2:"
			 RVC_END : "=&r"(a0) : "r"(a1));
	CHECK_EQ("c.bnez taken, c.beqz not taken", a0, 2);

	/* c.bnez backward loop. */
	a1 = 5;
	__asm__ volatile(RVC_BEGIN
			 "c.li a0, 0\n"
			 "1:\tc.addi a0, 3\n\t"
			 "c.addi a1, -1\n\t"
			 "c.bnez a1, 1b"
			 RVC_END : "=&r"(a0), "+r"(a1));
	CHECK_EQ("c.bnez loop", a0, 15);

	/* c.jal: ra = pc + 2 (RV32 only). */
	__asm__ volatile(RVC_BEGIN
			 "c.jal 1f\n"
			 "2:\tc.nop\n"
			 "1:\tmv %0, ra\n\t"
			 "la %1, 2b"
			 RVC_END : "=&r"(link), "=&r"(expect) :: "ra");
	CHECK_EQ("c.jal link = pc + 2", link, expect);

	/* c.jalr: ra = pc + 2; c.jr returns. */
	__asm__ volatile(RVC_BEGIN
			 "c.li %0, 0\n\t"
			 "la t0, 1f\n\t"
			 "c.jalr t0\n\t"			/* call 1f */
			 "c.addi %0, 5\n\t"			/* after the return */
			 "c.j 2f\n"
			 "1:\tc.addi %0, 1\n\t"
			 "c.jr ra\n"				/* return */
			 "2:"
			 RVC_END : "=&r"(t) :: "t0", "ra");
	CHECK_EQ("c.jalr/c.jr call and return", t, 6);

	__asm__ volatile(RVC_BEGIN
			 "la t0, 1f\n\t"
			 "c.jalr t0\n"
			 "2:\tc.nop\n"
			 "1:\tmv %0, ra\n\t"
			 "la %1, 2b"
			 RVC_END : "=&r"(link), "=&r"(expect) :: "t0", "ra");
	CHECK_EQ("c.jalr link = pc + 2", link, expect);

	/* c.jr to an odd address: bit 0 is cleared. */
	__asm__ volatile(RVC_BEGIN
			 "c.li %0, 0\n\t"
			 "la t0, 1f + 1\n\t"
			 "c.jr t0\n\t"
			 "c.li %0, 31\n"
			 "1:\tc.addi %0, 7"
			 RVC_END : "=&r"(t) :: "t0");
	CHECK_EQ("c.jr odd target", t, 7);
}

/* Mixed 16/32-bit code with a 32-bit instruction at a 2-byte aligned address. */
static void mixed(void)
{
	uint32_t r, addr;
	__asm__ volatile(RVC_BEGIN
			 ".balign 4\n\t"
			 "c.nop\n"
			 "1:\tlui %0, 0x12345\n\t"	/* at 4n + 2 */
			 "c.addi %0, 1\n\t"
			 "addi %0, %0, 0x678\n\t"
			 "la %1, 1b"
			 RVC_END : "=&r"(r), "=&r"(addr));
	CHECK_EQ("32-bit insn at 4n+2", r, 0x12345679);
	CHECK_EQ("it really is at 4n+2", addr & 3, 2);
}

int main(void)
{
	immediates();
	register_ops();
	memory();
	control();
	mixed();
	return check_done("compressed");
}
