/*
 * rv32i-loadstore: lb lh lw lbu lhu sb sh sw (uncompressed, aligned).
 *
 * - sign extension of lb/lh versus zero extension of lbu/lhu;
 * - little-endian byte order;
 * - partial stores leave the neighbouring bytes alone;
 * - offsets -2048 and +2047, and loads into x0.
 */
#include <stdint.h>
#include <string.h>

#include "include/check.h"

#define LOAD(op, base, off) ({ uint32_t r_; \
	__asm__ volatile(".option push\n\t.option norvc\n\t" op " %0, %2(%1)\n\t.option pop" \
			 : "=r"(r_) : "r"(base), "i"(off), "m"(*(const char (*)[4096])buf)); r_; })
#define STORE(op, val, base, off) \
	__asm__ volatile(".option push\n\t.option norvc\n\t" op " %0, %2(%1)\n\t.option pop" \
			 :: "r"((uint32_t)(val)), "r"(base), "i"(off) : "memory")

static uint8_t buf[4096] __attribute__((aligned(16)));

static void loads(void)
{
	static const uint8_t pattern[16] = {
		0x80, 0x7f, 0x01, 0xff, 0x00, 0x80, 0xff, 0x7f,
		0x78, 0x56, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde,
	};
	memcpy(buf, pattern, sizeof pattern);
	uint8_t *p = buf;

	CHECK_EQ("lb 0x80", LOAD("lb", p, 0), 0xffffff80);
	CHECK_EQ("lb 0x7f", LOAD("lb", p, 1), 0x0000007f);
	CHECK_EQ("lb 0xff", LOAD("lb", p, 3), 0xffffffff);
	CHECK_EQ("lbu 0x80", LOAD("lbu", p, 0), 0x00000080);
	CHECK_EQ("lbu 0xff", LOAD("lbu", p, 3), 0x000000ff);
	CHECK_EQ("lbu 0x01", LOAD("lbu", p, 2), 0x00000001);

	CHECK_EQ("lh 0x7f80", LOAD("lh", p, 0), 0x00007f80);
	CHECK_EQ("lh 0xff01", LOAD("lh", p, 2), 0xffffff01);
	CHECK_EQ("lh 0x8000", LOAD("lh", p, 4), 0xffff8000);
	CHECK_EQ("lh 0x7fff", LOAD("lh", p, 6), 0x00007fff);
	CHECK_EQ("lhu 0xff01", LOAD("lhu", p, 2), 0x0000ff01);
	CHECK_EQ("lhu 0x8000", LOAD("lhu", p, 4), 0x00008000);

	CHECK_EQ("lw little-endian", LOAD("lw", p, 8), 0x12345678);
	CHECK_EQ("lw 0xdeadbeef", LOAD("lw", p, 12), 0xdeadbeef);
	CHECK_EQ("lw mixed", LOAD("lw", p, 0), 0xff017f80);

	/* Offsets at both ends of the 12-bit range. */
	buf[2048 + 2047] = 0xa5;
	buf[0] = 0x5a;
	uint8_t *mid = buf + 2048;
	CHECK_EQ("lbu +2047", LOAD("lbu", mid, 2047), 0xa5);
	CHECK_EQ("lb -2048", LOAD("lb", mid, -2048), 0x5a);
	CHECK_EQ("lb +2047 sign", LOAD("lb", mid, 2047), 0xffffffa5);

	/* A load into x0 has no effect (and does not trap). */
	uint32_t r = 1;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "lw zero, 0(%1)\n\t"
			 "mv %0, zero\n\t"
			 ".option pop" : "=r"(r) : "r"(p) : "memory");
	CHECK_EQ("lw x0", r, 0);
}

static void stores(void)
{
	memset(buf, 0xcc, 64);
	uint8_t *p = buf;

	STORE("sb", 0x12345678, p, 1);
	CHECK_EQ("sb writes one byte", LOAD("lw", p, 0), 0xcccc78cc);
	STORE("sh", 0xabcd8001, p, 6);
	CHECK_EQ("sh writes two bytes", LOAD("lw", p, 4), 0x8001cccc);
	STORE("sw", 0x01020304, p, 8);
	CHECK_EQ("sw", LOAD("lw", p, 8), 0x01020304);
	CHECK_EQ("sw byte 0 (LSB first)", LOAD("lbu", p, 8), 0x04);
	CHECK_EQ("sw byte 3", LOAD("lbu", p, 11), 0x01);
	CHECK_EQ("neighbour before", LOAD("lw", p, 12), 0xcccccccc);

	STORE("sb", 0xff, p, 16);
	STORE("sb", 0x00, p, 17);
	STORE("sh", 0xffff, p, 18);
	CHECK_EQ("sb/sb/sh", LOAD("lw", p, 16), 0xffff00ff);
	CHECK_EQ("lh after sh 0xffff", LOAD("lh", p, 18), 0xffffffff);
	CHECK_EQ("lhu after sh 0xffff", LOAD("lhu", p, 18), 0x0000ffff);

	/* Store x0 clears; store with a negative offset. */
	uint8_t *q = p + 32;
	STORE("sw", 0xffffffff, q, -4);
	__asm__ volatile(".option push\n\t.option norvc\n\tsh zero, -4(%0)\n\t.option pop"
			 :: "r"(q) : "memory");
	CHECK_EQ("sh x0, -4", LOAD("lw", q, -4), 0xffff0000);

	/* Offsets -2048 and +2047. */
	uint8_t *mid = buf + 2048;
	STORE("sb", 0x11, mid, -2048);
	STORE("sb", 0x22, mid, 2047);
	CHECK_EQ("sb -2048", buf[0], 0x11);
	CHECK_EQ("sb +2047", buf[4095], 0x22);
	STORE("sw", 0xcafebabe, mid, 2044);
	CHECK_EQ("sw +2044", LOAD("lw", mid, 2044), 0xcafebabe);

	/* Store then load the same address through different widths. */
	STORE("sw", 0x80818283, p, 20);
	CHECK_EQ("lb of sw byte 3", LOAD("lb", p, 23), 0xffffff80);
	CHECK_EQ("lh of sw half 0", LOAD("lh", p, 20), 0xffff8283);
	CHECK_EQ("lhu of sw half 1", LOAD("lhu", p, 22), 0x8081);
}

/* Loads and stores through the stack pointer and gp-relative data, as compiled code does. */
static volatile uint32_t small_global = 0x13579bdf;

static void compiled(void)
{
	volatile int16_t s16[4] = { -1, -32768, 32767, 0 };
	volatile int8_t s8[4] = { -1, -128, 127, 0 };
	CHECK_EQ("int16 -1", (int32_t)s16[0], -1);
	CHECK_EQ("int16 -32768", (int32_t)s16[1], -32768);
	CHECK_EQ("int16 32767", (int32_t)s16[2], 32767);
	CHECK_EQ("int8 -128", (int32_t)s8[1], -128);
	CHECK_EQ("int8 127", (int32_t)s8[2], 127);
	CHECK_EQ("global", small_global, 0x13579bdf);
	small_global = 42;
	CHECK_EQ("global written", small_global, 42);
}

int main(void)
{
	loads();
	stores();
	compiled();
	return check_done("rv32i-loadstore");
}
