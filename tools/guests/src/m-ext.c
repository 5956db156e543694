/*
 * m-ext: the M extension through inline asm: mul mulh mulhsu mulhu div divu rem remu.
 *
 * Includes the cases C leaves undefined, whose results the ISA fixes:
 *   division by zero:  div/divu -> all ones (-1), rem/remu -> the dividend;
 *   INT_MIN / -1:      div -> INT_MIN, rem -> 0 (no trap).
 * Expected values are constants worked out by hand.
 */
#include <stdint.h>

#include "include/check.h"

#define RR(op, a, b) ({ uint32_t r_; \
	__asm__ volatile(".option push\n\t.option norvc\n\t" op " %0, %1, %2\n\t.option pop" \
			 : "=r"(r_) : "r"((uint32_t)(a)), "r"((uint32_t)(b))); r_; })
#define T(op, a, b, want) CHECK_EQ(op " " #a ", " #b, RR(op, a, b), want)

static void multiply(void)
{
	T("mul", 3, 7, 21);
	T("mul", 0x7fffffff, 2, 0xfffffffe);
	T("mul", 0xffffffff, 0xffffffff, 1);
	T("mul", 0x12345678, 0x9abcdef0, 0x242d2080);
	T("mul", 0x80000000, 0xffffffff, 0x80000000);
	T("mul", 0x10000, 0x10000, 0);
	T("mul", 0xfffffff9, 6, 0xffffffd6);		/* -7 * 6 = -42 */

	T("mulh", 0xffffffff, 0xffffffff, 0);		/* (-1)(-1) = 1 */
	T("mulh", 0x80000000, 0x80000000, 0x40000000);
	T("mulh", 0x80000000, 0x7fffffff, 0xc0000000);
	T("mulh", 0xffffffff, 1, 0xffffffff);
	T("mulh", 0x7fffffff, 0x7fffffff, 0x3fffffff);
	T("mulh", 0x12345678, 0x9abcdef0, 0xf8cc93d6);
	T("mulh", 0x10000, 0x10000, 1);

	T("mulhu", 0xffffffff, 0xffffffff, 0xfffffffe);
	T("mulhu", 0x80000000, 2, 1);
	T("mulhu", 0x12345678, 0x9abcdef0, 0x0b00ea4e);
	T("mulhu", 0xffffffff, 1, 0);
	T("mulhu", 0x80000000, 0x80000000, 0x40000000);

	/* mulhsu: rs1 signed, rs2 unsigned. */
	T("mulhsu", 0xffffffff, 0xffffffff, 0xffffffff);	/* -1 * (2^32 - 1) */
	T("mulhsu", 0x80000000, 0xffffffff, 0x80000000);
	T("mulhsu", 1, 0xffffffff, 0);
	T("mulhsu", 0x7fffffff, 0xffffffff, 0x7ffffffe);
	T("mulhsu", 0xffffffff, 1, 0xffffffff);
	T("mulhsu", 0x12345678, 0x9abcdef0, 0x0b00ea4e);
	T("mulhsu", 0x9abcdef0, 0x12345678, 0xf8cc93d6);
	T("mulhsu", 0, 0xffffffff, 0);
}

static void divide(void)
{
	T("div", 7, 2, 3);
	T("div", 0xfffffff9, 2, 0xfffffffd);		/* -7 / 2 = -3 (toward zero) */
	T("div", 7, 0xfffffffe, 0xfffffffd);		/* 7 / -2 = -3 */
	T("div", 0xfffffff9, 0xfffffffe, 3);		/* -7 / -2 = 3 */
	T("div", 0x80000000, 0xffffffff, 0x80000000);	/* INT_MIN / -1 overflows */
	T("div", 0x80000000, 1, 0x80000000);
	T("div", 0x80000000, 2, 0xc0000000);
	T("div", 0x7fffffff, 0x80000000, 0);
	T("div", 5, 0, 0xffffffff);			/* by zero: -1 */
	T("div", 0xfffffffb, 0, 0xffffffff);
	T("div", 0, 0, 0xffffffff);
	T("div", 0x80000000, 0, 0xffffffff);

	T("divu", 7, 2, 3);
	T("divu", 0xffffffff, 2, 0x7fffffff);
	T("divu", 0x80000000, 0xffffffff, 0);
	T("divu", 0xffffffff, 0xffffffff, 1);
	T("divu", 0xfffffff9, 2, 0x7ffffffc);
	T("divu", 5, 0, 0xffffffff);			/* by zero: all ones */
	T("divu", 0, 0, 0xffffffff);

	T("rem", 7, 2, 1);
	T("rem", 0xfffffff9, 2, 0xffffffff);		/* -7 % 2 = -1 (sign of dividend) */
	T("rem", 7, 0xfffffffe, 1);
	T("rem", 0xfffffff9, 0xfffffffe, 0xffffffff);
	T("rem", 0x80000000, 0xffffffff, 0);		/* INT_MIN % -1 = 0 */
	T("rem", 0x80000000, 3, 0xfffffffe);		/* -2147483648 % 3 = -2 */
	T("rem", 5, 0, 5);				/* by zero: the dividend */
	T("rem", 0xfffffffb, 0, 0xfffffffb);
	T("rem", 0x80000000, 0, 0x80000000);

	T("remu", 7, 2, 1);
	T("remu", 0xffffffff, 10, 5);
	T("remu", 0x80000000, 0xffffffff, 0x80000000);
	T("remu", 0xfffffff9, 2, 1);
	T("remu", 5, 0, 5);				/* by zero: the dividend */
	T("remu", 0xffffffff, 0, 0xffffffff);
}

/* rd aliasing a source, and the recommended mulh+mul / div+rem sequences. */
static void sequences(void)
{
	uint32_t hi, lo, q, r;
	uint32_t a = 0xdeadbeef, b = 0xcafebabe;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "mulhu %0, %2, %3\n\t"
			 "mul %1, %2, %3\n\t"
			 ".option pop" : "=&r"(hi), "=&r"(lo) : "r"(a), "r"(b));
	CHECK_EQ("mulhu+mul hi", hi, 0xb092ab7b);
	CHECK_EQ("mulhu+mul lo", lo, 0x88cf5b62);

	uint32_t n = 1000000007u, d = 97;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "divu %0, %2, %3\n\t"
			 "remu %1, %2, %3\n\t"
			 ".option pop" : "=&r"(q), "=&r"(r) : "r"(n), "r"(d));
	CHECK_EQ("divu+remu q", q, 10309278);
	CHECK_EQ("divu+remu r", r, 41);
	CHECK_EQ("q*d+r == n", q * d + r, n);

	uint32_t x = 12345;
	__asm__ volatile(".option push\n\t.option norvc\n\tmul %0, %0, %0\n\t.option pop" : "+r"(x));
	CHECK_EQ("mul rd == rs1 == rs2", x, 152399025);
}

int main(void)
{
	multiply();
	divide();
	sequences();
	return check_done("m-ext");
}
