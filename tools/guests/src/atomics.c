/*
 * atomics: the A extension (not built for rv32im).
 *
 * - lr.w / sc.w: an LR/SC pair succeeds (in a retry loop: the ISA allows spurious
 *   failure), sc.w returns 0 on success and writes memory; sc.w without a
 *   reservation fails (returns non-zero) and does not write; a second sc.w after a
 *   successful one fails (every sc.w invalidates the reservation); lr.w returns the
 *   value and the .aq/.rl/.aqrl forms work;
 * - every amo*.w (swap add xor and or min max minu maxu) returns the old value and
 *   stores the new one, with signed/unsigned edge cases, rd = x0, and .aq/.rl forms;
 * - C11 atomics on 32-bit ints (fetch_add/sub/or/and/xor, exchange, compare_exchange
 *   success and failure, atomic_flag).
 * Only what the ISA guarantees is asserted.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "include/check.h"

#ifndef __riscv_atomic
#error "atomics needs the A extension"
#endif

static volatile uint32_t word __attribute__((aligned(8)));
static volatile uint32_t other __attribute__((aligned(8)));

#define AMO(op, addr, val) ({ uint32_t r_; \
	__asm__ volatile(".option push\n\t.option norvc\n\t" op " %0, %2, (%1)\n\t.option pop" \
			 : "=&r"(r_) : "r"(addr), "r"((uint32_t)(val)) : "memory"); r_; })

/* Set word, run the AMO, check the returned old value and the new memory value. */
#define T_AMO(op, init, val, want_mem) do { \
	word = (init); \
	uint32_t old_ = AMO(op, &word, val); \
	CHECK_EQ(op " " #init ", " #val ": old", old_, init); \
	CHECK_EQ(op " " #init ", " #val ": mem", word, want_mem); \
} while (0)

static void lr_sc(void)
{
	uint32_t v, fail, tries;

	/* LR/SC increment, retried as the ISA requires for forward progress. */
	word = 41;
	tries = 0;
	__asm__ volatile(".option push\n\t.option norvc\n"
			 "1:\taddi %2, %2, 1\n\t"
			 "lr.w %0, (%3)\n\t"
			 "addi %0, %0, 1\n\t"
			 "sc.w %1, %0, (%3)\n\t"
			 "bnez %1, 1b\n\t"
			 ".option pop"
			 : "=&r"(v), "=&r"(fail), "+r"(tries) : "r"(&word) : "memory");
	CHECK_EQ("lr/sc increment: sc result", fail, 0);
	CHECK_EQ("lr/sc increment: memory", word, 42);
	CHECK("lr/sc increment: at least one try" && tries >= 1);

	/* lr.w returns the value (aq/rl variants too). */
	word = 0x89abcdef;
	__asm__ volatile(".option push\n\t.option norvc\n\tlr.w %0, (%1)\n\tsc.w zero, zero, (%2)\n\t.option pop"
			 : "=&r"(v) : "r"(&word), "r"(&other) : "memory");
	CHECK_EQ("lr.w value", v, 0x89abcdef);
	__asm__ volatile(".option push\n\t.option norvc\n\tlr.w.aq %0, (%1)\n\tsc.w zero, zero, (%2)\n\t.option pop"
			 : "=&r"(v) : "r"(&word), "r"(&other) : "memory");
	CHECK_EQ("lr.w.aq value", v, 0x89abcdef);
	__asm__ volatile(".option push\n\t.option norvc\n\tlr.w.aqrl %0, (%1)\n\tsc.w zero, zero, (%2)\n\t.option pop"
			 : "=&r"(v) : "r"(&word), "r"(&other) : "memory");
	CHECK_EQ("lr.w.aqrl value", v, 0x89abcdef);

	/*
	 * sc.w without a reservation fails and leaves memory alone.  The first sc.w
	 * (to another word) invalidates whatever reservation might exist.
	 */
	word = 7;
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "sc.w %0, zero, (%2)\n\t"
			 "sc.w %0, %3, (%1)\n\t"
			 ".option pop"
			 : "=&r"(fail) : "r"(&word), "r"(&other), "r"(99u) : "memory");
	CHECK("sc.w without reservation fails" && fail != 0);
	CHECK_EQ("sc.w without reservation: memory unchanged", word, 7);

	/* After a successful sc.w the reservation is gone: a second sc.w fails. */
	word = 1;
	uint32_t fail2;
	__asm__ volatile(".option push\n\t.option norvc\n"
			 "1:\tlr.w.aq %0, (%3)\n\t"
			 "sc.w.rl %1, %4, (%3)\n\t"
			 "bnez %1, 1b\n\t"
			 "sc.w %2, %5, (%3)\n\t"
			 ".option pop"
			 : "=&r"(v), "=&r"(fail), "=&r"(fail2)
			 : "r"(&word), "r"(2u), "r"(3u) : "memory");
	CHECK_EQ("lr.w.aq/sc.w.rl: first sc.w", fail, 0);
	CHECK("second sc.w fails" && fail2 != 0);
	CHECK_EQ("second sc.w does not write", word, 2);

	/* sc.w.aqrl in a loop. */
	word = 100;
	__asm__ volatile(".option push\n\t.option norvc\n"
			 "1:\tlr.w.aqrl %0, (%2)\n\t"
			 "slli %0, %0, 1\n\t"
			 "sc.w.aqrl %1, %0, (%2)\n\t"
			 "bnez %1, 1b\n\t"
			 ".option pop"
			 : "=&r"(v), "=&r"(fail) : "r"(&word) : "memory");
	CHECK_EQ("lr.w.aqrl/sc.w.aqrl doubling", word, 200);
}

static void amos(void)
{
	T_AMO("amoswap.w", 0x11111111, 0x22222222, 0x22222222);
	T_AMO("amoswap.w", 0xffffffff, 0, 0);
	T_AMO("amoadd.w", 40, 2, 42);
	T_AMO("amoadd.w", 0xffffffff, 1, 0);
	T_AMO("amoadd.w", 0x7fffffff, 1, 0x80000000);
	T_AMO("amoxor.w", 0xff00ff00, 0x0ff00ff0, 0xf0f0f0f0);
	T_AMO("amoand.w", 0xff00ff00, 0x0ff00ff0, 0x0f000f00);
	T_AMO("amoor.w", 0xff00ff00, 0x0ff00ff0, 0xfff0fff0);

	T_AMO("amomin.w", 5, 0xffffffff, 0xffffffff);		/* min(5, -1) = -1 */
	T_AMO("amomin.w", 0x80000000, 0x7fffffff, 0x80000000);
	T_AMO("amomin.w", 3, 3, 3);
	T_AMO("amomax.w", 5, 0xffffffff, 5);
	T_AMO("amomax.w", 0x80000000, 0x7fffffff, 0x7fffffff);
	T_AMO("amomax.w", 0xfffffffe, 0xffffffff, 0xffffffff);
	T_AMO("amominu.w", 5, 0xffffffff, 5);
	T_AMO("amominu.w", 0x80000000, 0x7fffffff, 0x7fffffff);
	T_AMO("amominu.w", 0, 0xffffffff, 0);
	T_AMO("amomaxu.w", 5, 0xffffffff, 0xffffffff);
	T_AMO("amomaxu.w", 0x80000000, 0x7fffffff, 0x80000000);
	T_AMO("amomaxu.w", 0, 1, 1);

	/* Ordering variants behave the same on one hart. */
	T_AMO("amoadd.w.aq", 1, 2, 3);
	T_AMO("amoadd.w.rl", 1, 2, 3);
	T_AMO("amoadd.w.aqrl", 1, 2, 3);
	T_AMO("amoswap.w.aqrl", 9, 8, 8);
	T_AMO("amoor.w.aq", 0xf0, 0x0f, 0xff);
	T_AMO("amomaxu.w.rl", 1, 0xfffffff0, 0xfffffff0);

	/* rd = x0: the memory update still happens. */
	word = 10;
	__asm__ volatile(".option push\n\t.option norvc\n\tamoadd.w zero, %1, (%0)\n\t.option pop"
			 :: "r"(&word), "r"(5u) : "memory");
	CHECK_EQ("amoadd.w rd=x0 updates memory", word, 15);

	/* rd == rs2: the old value lands in rd, memory gets the old rs2. */
	uint32_t r = 0x1234;
	word = 0x5678;
	__asm__ volatile(".option push\n\t.option norvc\n\tamoswap.w %0, %0, (%1)\n\t.option pop"
			 : "+r"(r) : "r"(&word) : "memory");
	CHECK_EQ("amoswap rd == rs2: rd", r, 0x5678);
	CHECK_EQ("amoswap rd == rs2: mem", word, 0x1234);
}

static void c11(void)
{
	static _Atomic int counter;
	static _Atomic unsigned bits;
	static atomic_flag flag = ATOMIC_FLAG_INIT;

	atomic_store(&counter, 10);
	CHECK_EQ("atomic_fetch_add", atomic_fetch_add(&counter, 5), 10);
	CHECK_EQ("after fetch_add", atomic_load(&counter), 15);
	CHECK_EQ("atomic_fetch_sub", atomic_fetch_sub(&counter, 20), 15);
	CHECK_EQ("after fetch_sub", atomic_load(&counter), -5);
	CHECK_EQ("atomic_exchange", atomic_exchange(&counter, 100), -5);

	int expected = 100;
	CHECK("compare_exchange_strong succeeds" &&
	      atomic_compare_exchange_strong(&counter, &expected, 200));
	CHECK_EQ("after successful CAS", atomic_load(&counter), 200);
	expected = 100;
	CHECK("compare_exchange_strong fails" &&
	      !atomic_compare_exchange_strong(&counter, &expected, 300));
	CHECK_EQ("failed CAS reports current value", expected, 200);
	CHECK_EQ("failed CAS leaves memory", atomic_load(&counter), 200);

	/* A weak CAS loop (may fail spuriously: loop until it succeeds). */
	int cur = atomic_load(&counter);
	while (!atomic_compare_exchange_weak(&counter, &cur, cur * 3))
		;
	CHECK_EQ("CAS-weak loop", atomic_load(&counter), 600);

	atomic_store(&bits, 0xf0f0u);
	CHECK_EQ("atomic_fetch_or", atomic_fetch_or(&bits, 0x0f00u), 0xf0f0u);
	CHECK_EQ("atomic_fetch_and", atomic_fetch_and(&bits, 0xff0fu), 0xfff0u);
	CHECK_EQ("atomic_fetch_xor", atomic_fetch_xor(&bits, 0xffffu), 0xff00u);
	CHECK_EQ("after fetch_xor", atomic_load(&bits), 0x00ffu);

	CHECK("flag first test_and_set is clear" && !atomic_flag_test_and_set(&flag));
	CHECK("flag second test_and_set is set" && atomic_flag_test_and_set(&flag));
	atomic_flag_clear(&flag);
	CHECK("flag after clear" && !atomic_flag_test_and_set(&flag));

	atomic_thread_fence(memory_order_seq_cst);
}

int main(void)
{
	lr_sc();
	amos();
	c11();
	return check_done("atomics");
}
