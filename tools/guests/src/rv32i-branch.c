/*
 * rv32i-branch: conditional branches, jal and jalr, uncompressed.
 *
 * - beq bne blt bge bltu bgeu, taken and not taken, with signed/unsigned edge cases
 *   (0x80000000 vs 0x7fffffff, -1 vs 0, equal operands);
 * - forward and backward branches, and branches near the +-4 KiB limit;
 * - jal: link register = pc + 4, rd = x0, forward and backward, a far jump;
 * - jalr: positive/negative offsets, an odd target (bit 0 is cleared), rd == rs1.
 */
#include <stdint.h>

#include "include/check.h"

/* 1 if "op a, b, target" is taken. */
#define BR(op, a, b) ({ uint32_t t_; \
	__asm__ volatile(".option push\n\t.option norvc\n\t" \
			 "li %0, 1\n\t" op " %1, %2, 1f\n\tli %0, 0\n1:\n\t.option pop" \
			 : "=&r"(t_) : "r"((uint32_t)(a)), "r"((uint32_t)(b))); t_; })

#define T_BR(op, a, b, taken) CHECK_EQ(op " " #a ", " #b, BR(op, a, b), taken)

static void conditional(void)
{
	T_BR("beq", 0, 0, 1);
	T_BR("beq", 1, 0, 0);
	T_BR("beq", 0xffffffff, 0xffffffff, 1);
	T_BR("beq", 0x80000000, 0, 0);

	T_BR("bne", 0, 0, 0);
	T_BR("bne", 1, 0, 1);
	T_BR("bne", 0x80000000, 0x80000000, 0);
	T_BR("bne", 0xffffffff, 0x7fffffff, 1);

	T_BR("blt", 0xffffffff, 0, 1);		/* -1 < 0 */
	T_BR("blt", 0, 0xffffffff, 0);
	T_BR("blt", 0x80000000, 0x7fffffff, 1);	/* INT_MIN < INT_MAX */
	T_BR("blt", 0x7fffffff, 0x80000000, 0);
	T_BR("blt", 5, 5, 0);
	T_BR("blt", 0x80000000, 0x80000001, 1);

	T_BR("bge", 5, 5, 1);
	T_BR("bge", 0xffffffff, 0, 0);
	T_BR("bge", 0, 0xffffffff, 1);
	T_BR("bge", 0x7fffffff, 0x80000000, 1);
	T_BR("bge", 0x80000000, 0x7fffffff, 0);
	T_BR("bge", 0x80000000, 0x80000000, 1);

	T_BR("bltu", 0, 0xffffffff, 1);
	T_BR("bltu", 0xffffffff, 0, 0);
	T_BR("bltu", 0x7fffffff, 0x80000000, 1);
	T_BR("bltu", 0x80000000, 0x7fffffff, 0);
	T_BR("bltu", 9, 9, 0);

	T_BR("bgeu", 0xffffffff, 0, 1);
	T_BR("bgeu", 0, 1, 0);
	T_BR("bgeu", 9, 9, 1);
	T_BR("bgeu", 0x80000000, 0x7fffffff, 1);
	T_BR("bgeu", 0x7fffffff, 0x80000000, 0);

	/* Pseudo-instructions that swap operands. */
	T_BR("bgt", 0, 0xffffffff, 1);
	T_BR("ble", 0xffffffff, 0, 1);
	T_BR("bgtu", 0, 0xffffffff, 0);
	T_BR("bleu", 0, 0xffffffff, 1);
}

static void loops_and_far(void)
{
	/* Backward branch: a count-down loop with bne and blt. */
	uint32_t n = 10, sum = 0;
	__asm__ volatile(".option push\n\t.option norvc\n"
			 "1:\tadd %1, %1, %0\n\t"
			 "addi %0, %0, -1\n\t"
			 "bne %0, zero, 1b\n\t"
			 ".option pop" : "+r"(n), "+r"(sum));
	CHECK_EQ("backward bne loop sum", sum, 55);
	CHECK_EQ("backward bne loop end", n, 0);

	int32_t i = -5;
	uint32_t iters = 0;
	__asm__ volatile(".option push\n\t.option norvc\n"
			 "1:\taddi %1, %1, 1\n\t"
			 "addi %0, %0, 2\n\t"
			 "blt %0, zero, 1b\n\t"
			 ".option pop" : "+r"(i), "+r"(iters));
	CHECK_EQ("backward blt loop iterations", iters, 3);

	/* Forward branch of +4088 bytes (the limit is +4094). */
	uint32_t t;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 1\n\t"
			 "beq zero, zero, 1f\n\t"
			 "li %0, 0\n\t"
			 ".skip 4080\n"
			 "1:\n\t.option pop" : "=&r"(t));
	CHECK_EQ("beq forward +4088", t, 1);

	/* Backward branch of -4096 bytes (exactly the limit). */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 0\n\t"
			 "j 2f\n"
			 "1:\tli %0, 1\n\t"
			 "j 3f\n\t"
			 ".skip 4084\n"
			 "2:\tbne zero, %0, 4f\n\t"		/* never taken: %0 is 0 */
			 "beq zero, zero, 1b\n"			/* -4096 */
			 "4:\tli %0, 2\n"
			 "3:\n\t.option pop" : "=&r"(t));
	CHECK_EQ("beq backward -4096", t, 1);
}

static void jumps(void)
{
	uint32_t link, expect, t;

	/* jal ra: link = address of the next instruction. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "jal %0, 1f\n"
			 "2:\tnop\n"
			 "1:\tla %1, 2b\n\t"
			 ".option pop" : "=&r"(link), "=&r"(expect));
	CHECK_EQ("jal link = pc + 4", link, expect);

	/* j (jal x0) skips an instruction. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 1\n\t"
			 "jal zero, 1f\n\t"
			 "li %0, 0\n"
			 "1:\n\t.option pop" : "=&r"(t));
	CHECK_EQ("jal x0 forward", t, 1);

	/* jal backward and an 8 KiB forward jump. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 0\n\t"
			 "jal zero, 2f\n"
			 "1:\taddi %0, %0, 1\n\t"
			 "jal zero, 3f\n"
			 "2:\taddi %0, %0, 10\n\t"
			 "jal zero, 1b\n\t"
			 ".skip 8192\n"
			 "3:\n\t.option pop" : "=&r"(t));
	CHECK_EQ("jal backward then +8 KiB forward", t, 11);

	/* jalr with offset 0, a positive and a negative offset. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "la t0, 1f\n\t"
			 "jalr %0, 0(t0)\n"
			 "2:\tnop\n"
			 "1:\tla %1, 2b\n\t"
			 ".option pop" : "=&r"(link), "=&r"(expect) :: "t0");
	CHECK_EQ("jalr 0(t0): link", link, expect);

	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 0\n\t"
			 "la t0, 1f - 100\n\t"
			 "jalr zero, 100(t0)\n\t"
			 "li %0, 99\n"
			 "1:\taddi %0, %0, 1\n\t"
			 "la t0, 2f + 2047\n\t"
			 "jalr zero, -2047(t0)\n\t"
			 "li %0, 99\n"
			 "2:\taddi %0, %0, 1\n\t"
			 ".option pop" : "=&r"(t) :: "t0");
	CHECK_EQ("jalr +100 and -2047 offsets", t, 2);

	/* jalr clears bit 0 of the target: jump to label + 1 lands on the label. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 0\n\t"
			 "la t0, 1f\n\t"
			 "addi t0, t0, 1\n\t"
			 "jalr zero, 0(t0)\n\t"
			 "li %0, 99\n"
			 "1:\taddi %0, %0, 1\n\t"
			 "la t0, 2f\n\t"
			 "jalr zero, 1(t0)\n\t"		/* target 2f + 1 -> 2f */
			 "li %0, 99\n"
			 "2:\taddi %0, %0, 1\n\t"
			 ".option pop" : "=&r"(t) :: "t0");
	CHECK_EQ("jalr odd targets", t, 2);

	/* The link of a jalr to an odd target is still pc + 4. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "la t0, 1f + 1\n\t"
			 "jalr %0, 0(t0)\n"
			 "2:\tnop\n"
			 "1:\tla %1, 2b\n\t"
			 ".option pop" : "=&r"(link), "=&r"(expect) :: "t0");
	CHECK_EQ("jalr odd target: link", link, expect);

	/* rd == rs1: the target uses the old value, then rd gets the link. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "la %0, 1f\n\t"
			 "jalr %0, 0(%0)\n"
			 "2:\tnop\n"
			 "1:\tla %1, 2b\n\t"
			 ".option pop" : "=&r"(link), "=&r"(expect));
	CHECK_EQ("jalr rd == rs1", link, expect);

	/* A call and return through ra, as the compiler does it. */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 0\n\t"
			 "jal ra, 1f\n\t"
			 "addi %0, %0, 100\n\t"
			 "jal zero, 2f\n"
			 "1:\taddi %0, %0, 1\n\t"
			 "jalr zero, 0(ra)\n"
			 "2:\n\t.option pop" : "=&r"(t) :: "ra");
	CHECK_EQ("call/return through ra", t, 101);
}

int main(void)
{
	conditional();
	loops_and_far();
	jumps();
	return check_done("rv32i-branch");
}
