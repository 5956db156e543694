/*
 * rv32i-alu: every RV32I computational instruction, through inline asm so that the
 * exact (uncompressed) instruction runs: add sub sll slt sltu xor srl sra or and,
 * addi slti sltiu xori ori andi slli srli srai, lui auipc, and writes to x0.
 * Expected values are constants worked out by hand.
 */
#include <stdint.h>

#include "include/check.h"

/* Register-register op: "op rd, rs1, rs2". */
#define RR(op, a, b) ({ uint32_t r_; \
	__asm__ volatile(".option push\n\t.option norvc\n\t" op " %0, %1, %2\n\t.option pop" \
			 : "=r"(r_) : "r"((uint32_t)(a)), "r"((uint32_t)(b))); r_; })
/* Register-immediate op: "op rd, rs1, imm". */
#define RI(op, a, imm) ({ uint32_t r_; \
	__asm__ volatile(".option push\n\t.option norvc\n\t" op " %0, %1, %2\n\t.option pop" \
			 : "=r"(r_) : "r"((uint32_t)(a)), "i"(imm)); r_; })

#define T_RR(op, a, b, want) CHECK_EQ(op " " #a ", " #b, RR(op, a, b), want)
#define T_RI(op, a, imm, want) CHECK_EQ(op " " #a ", " #imm, RI(op, a, imm), want)

static void register_register(void)
{
	T_RR("add", 1, 2, 3);
	T_RR("add", 0x7fffffff, 1, 0x80000000);
	T_RR("add", 0xffffffff, 1, 0);
	T_RR("add", 0x80000000, 0x80000000, 0);
	T_RR("add", 0xfffffffe, 0xfffffffd, 0xfffffffb);

	T_RR("sub", 3, 5, 0xfffffffe);
	T_RR("sub", 0x80000000, 1, 0x7fffffff);
	T_RR("sub", 0, 0x80000000, 0x80000000);
	T_RR("sub", 5, 5, 0);
	T_RR("sub", 0, 1, 0xffffffff);

	T_RR("sll", 1, 31, 0x80000000);
	T_RR("sll", 1, 32, 1);			/* only rs2[4:0] counts */
	T_RR("sll", 0x12345678, 4, 0x23456780);
	T_RR("sll", 0xffffffff, 0x3f, 0x80000000);
	T_RR("sll", 0x12345678, 0xffffffe0, 0x12345678);

	T_RR("slt", 0xffffffff, 0, 1);
	T_RR("slt", 0, 0xffffffff, 0);
	T_RR("slt", 0x80000000, 0x7fffffff, 1);
	T_RR("slt", 0x7fffffff, 0x80000000, 0);
	T_RR("slt", 5, 5, 0);

	T_RR("sltu", 0xffffffff, 0, 0);
	T_RR("sltu", 0, 0xffffffff, 1);
	T_RR("sltu", 0x80000000, 0x7fffffff, 0);
	T_RR("sltu", 0x7fffffff, 0x80000000, 1);
	T_RR("sltu", 7, 7, 0);

	T_RR("xor", 0xff00ff00, 0x0ff00ff0, 0xf0f0f0f0);
	T_RR("xor", 0x12345678, 0x12345678, 0);
	T_RR("xor", 0x12345678, 0xffffffff, 0xedcba987);

	T_RR("srl", 0x80000000, 31, 1);
	T_RR("srl", 0x80000000, 1, 0x40000000);
	T_RR("srl", 0xffffffff, 33, 0x7fffffff);
	T_RR("srl", 0x12345678, 0, 0x12345678);
	T_RR("srl", 0x87654321, 0xfffffff4, 0x00000876);	/* shift by 20 */

	T_RR("sra", 0x80000000, 31, 0xffffffff);
	T_RR("sra", 0x80000000, 1, 0xc0000000);
	T_RR("sra", 0x7fffffff, 30, 1);
	T_RR("sra", 0xf0000000, 36, 0xff000000);
	T_RR("sra", 0x87654321, 0xfffffff4, 0xfffff876);	/* shift by 20 */

	T_RR("or", 0xff00ff00, 0x0ff00ff0, 0xfff0fff0);
	T_RR("or", 0, 0, 0);
	T_RR("or", 0x80000000, 1, 0x80000001);

	T_RR("and", 0xff00ff00, 0x0ff00ff0, 0x0f000f00);
	T_RR("and", 0xffffffff, 0x12345678, 0x12345678);
	T_RR("and", 0x55555555, 0xaaaaaaaa, 0);
}

static void register_immediate(void)
{
	T_RI("addi", 1, -1, 0);
	T_RI("addi", 0x7fffffff, 1, 0x80000000);
	T_RI("addi", 0, 2047, 0x7ff);
	T_RI("addi", 0, -2048, 0xfffff800);
	T_RI("addi", 0x80000000, -1, 0x7fffffff);
	T_RI("addi", 0x12345678, 0, 0x12345678);

	T_RI("slti", 0xffffffff, 0, 1);
	T_RI("slti", 0, -1, 0);
	T_RI("slti", 0x80000000, -2048, 1);
	T_RI("slti", 0xfffff800, -2048, 0);
	T_RI("slti", 0x7fffffff, 2047, 0);
	T_RI("slti", 2046, 2047, 1);

	T_RI("sltiu", 0, -1, 1);		/* the immediate is sign-extended, then unsigned */
	T_RI("sltiu", 0xfffffffe, -1, 1);
	T_RI("sltiu", 0xffffffff, -1, 0);
	T_RI("sltiu", 5, 0, 0);
	T_RI("sltiu", 0, 1, 1);			/* seqz */
	T_RI("sltiu", 1, 1, 0);
	T_RI("sltiu", 0x800, 2047, 0);

	T_RI("xori", 0x12345678, -1, 0xedcba987);	/* not */
	T_RI("xori", 0xff, 0x0f0, 0x0f);
	T_RI("xori", 0, -2048, 0xfffff800);

	T_RI("ori", 0x12340000, -2048, 0xfffff800);
	T_RI("ori", 0, 0x555, 0x555);
	T_RI("ori", 0x80000000, 1, 0x80000001);

	T_RI("andi", 0x12345678, -1, 0x12345678);
	T_RI("andi", 0x12345678, 0xff, 0x78);
	T_RI("andi", 0xffffffff, -2048, 0xfffff800);
	T_RI("andi", 0xffffffff, 2047, 0x7ff);

	T_RI("slli", 1, 31, 0x80000000);
	T_RI("slli", 0x12345678, 0, 0x12345678);
	T_RI("slli", 0xffffffff, 16, 0xffff0000);
	T_RI("slli", 0x00000003, 30, 0xc0000000);

	T_RI("srli", 0x80000000, 31, 1);
	T_RI("srli", 0xffffffff, 16, 0x0000ffff);
	T_RI("srli", 0x12345678, 0, 0x12345678);
	T_RI("srli", 0xffffffff, 1, 0x7fffffff);

	T_RI("srai", 0x80000000, 31, 0xffffffff);
	T_RI("srai", 0x80000000, 4, 0xf8000000);
	T_RI("srai", 0x7fff0000, 16, 0x7fff);
	T_RI("srai", 0xfffffffe, 1, 0xffffffff);
	T_RI("srai", 0x12345678, 0, 0x12345678);
}

#define LUI(imm) ({ uint32_t r_; \
	__asm__ volatile(".option push\n\t.option norvc\n\tlui %0, " #imm "\n\t.option pop" : "=r"(r_)); r_; })

static void upper_immediates(void)
{
	CHECK_EQ("lui 0", LUI(0), 0);
	CHECK_EQ("lui 1", LUI(1), 0x1000);
	CHECK_EQ("lui 0x12345", LUI(0x12345), 0x12345000);
	CHECK_EQ("lui 0x80000", LUI(0x80000), 0x80000000);
	CHECK_EQ("lui 0xfffff", LUI(0xfffff), 0xfffff000);

	/* auipc rd, imm: rd = address of the auipc + (imm << 12). */
	uint32_t here, r0, r1, rneg, rbig;
	__asm__ volatile(".option push\n\t.option norvc\n"
			 "1:\tauipc %1, 0\n\t"
			 "auipc %2, 1\n\t"
			 "auipc %3, 0xfffff\n\t"
			 "auipc %4, 0x80000\n\t"
			 "la %0, 1b\n\t"
			 ".option pop"
			 : "=r"(here), "=&r"(r0), "=&r"(r1), "=&r"(rneg), "=&r"(rbig));
	CHECK_EQ("auipc 0", r0, here);
	CHECK_EQ("auipc 1", r1, here + 4 + 0x1000);
	CHECK_EQ("auipc 0xfffff", rneg, here + 8 - 0x1000);
	CHECK_EQ("auipc 0x80000", rbig, here + 12 + 0x80000000u);
}

static void zero_register(void)
{
	uint32_t r;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "addi zero, zero, 123\n\t"
			 "lui zero, 0x12345\n\t"
			 "add %0, zero, zero\n\t"
			 ".option pop" : "=r"(r));
	CHECK_EQ("writes to x0 are ignored", r, 0);
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 77\n\t"
			 "sub %0, zero, %0\n\t"
			 ".option pop" : "=&r"(r));
	CHECK_EQ("neg via sub from x0", r, (uint32_t)-77);
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "li %0, 5\n\t"
			 "add zero, %0, %0\n\t"
			 "or %0, zero, zero\n\t"
			 ".option pop" : "=&r"(r));
	CHECK_EQ("x0 reads as 0 after add to x0", r, 0);
}

/* The same register as source and destination. */
static void aliasing(void)
{
	uint32_t r = 0x10;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "add %0, %0, %0\n\t"	/* 0x20 */
			 "slli %0, %0, 3\n\t"	/* 0x100 */
			 "xor %0, %0, %0\n\t"	/* 0 */
			 "addi %0, %0, -1\n\t"	/* 0xffffffff */
			 "srli %0, %0, 28\n\t"	/* 0xf */
			 ".option pop" : "+r"(r));
	CHECK_EQ("rd == rs1 == rs2 chain", r, 0xf);
}

int main(void)
{
	register_register();
	register_immediate();
	upper_immediates();
	zero_register();
	aliasing();
	return check_done("rv32i-alu");
}
