/*
 * triggers: the Sdtrig debug triggers a guest sees (tselect 0x7a0, tdata1 0x7a1,
 * tdata2 0x7a2, tdata3 0x7a3, tinfo 0x7a4), printed rather than checked, so that QEMU's
 * output is the specification Amber matches:
 *
 * - how many triggers there are (which tselect values stick) and tinfo for each;
 * - tdata1/2/3 at reset, and what reads back after writes of every bit (WARL) for
 *   mcontrol (type 2), mcontrol6 (type 6) and types 0, 3, 4, 5 and 15 (QEMU 7.2 aborts
 *   on a write of type 1 or 7-14 to tdata1, an assertion in its debug.c: not written);
 * - execute, store and load address matches with action 0: a breakpoint exception
 *   (cause 3) taken in M, with mepc and mtval printed relative to the instruction or the
 *   data; in M, S and U as the m/s/u bits say; an access next to the watched word and
 *   one inside it; sizes; both triggers at once.
 *
 * - under Sv32 translation, from S-mode: triggers match virtual addresses. The guest maps
 *   RAM twice (an identity 4 MiB superpage at 0x80000000 and an alias at 0xc0000000), and
 *   triggers on the alias fire on accesses and fetches through the alias only, triggers on
 *   the physical (identity) address only through the identity mapping.
 *
 * The M handler (priv.h) logs each trap and skips the trapping instruction (4 bytes),
 * so a triggered store does not happen: a trigger fires before the access.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/priv.h"

#define TSELECT 0x7a0
#define TDATA1 0x7a1
#define TDATA2 0x7a2
#define TDATA3 0x7a3
#define TINFO 0x7a4

#define STR_(x) #x
#define STR(x) STR_(x)
#define RD(n) ({ uint32_t v_; __asm__ volatile (ASM_ZICSR("csrr %0, " STR(n)) : "=r"(v_) :: "memory"); v_; })
#define WR(n, v) __asm__ volatile (ASM_ZICSR("csrw " STR(n) ", %0") :: "r"((uint32_t)(v)) : "memory")

#define T2 (2u << 28)
#define T6 (6u << 28)
#define M2 (1u << 6)
#define S2 (1u << 4)
#define U2 (1u << 3)
#define EXEC (1u << 2)
#define STORE (1u << 1)
#define LOAD (1u << 0)

static volatile uint32_t watched[4] __attribute__((aligned(16))) = { 0x11111111, 0x22222222, 0x33333333, 0x44444444 };

/* The instruction execute triggers watch: `target` adds 1 to a0 and returns. */
extern uint32_t target(uint32_t);
__asm__(".pushsection .text.target, \"ax\", @progbits\n"
	".option push\n.option norvc\n"
	".balign 4\n.globl target\ntarget:\n"
	"	addi a0, a0, 1\n"
	"	ret\n"
	".option pop\n.popsection\n");

static void disarm(void)
{
	for (uint32_t i = 0; i < 2; i++) {
		WR(TSELECT, i);
		WR(TDATA1, T2);
		WR(TDATA2, 0);
	}
	WR(TSELECT, 0);
}

static void arm(uint32_t sel, uint32_t tdata1, uint32_t tdata2)
{
	WR(TSELECT, sel);
	WR(TDATA2, tdata2);
	WR(TDATA1, tdata1);
}

/* Prints the traps logged since the last reset: cause, epc and tval relative to `base`. */
static void show(const char *what, uint32_t code, uint32_t data)
{
	printf("%s: %lu trap(s)", what, (unsigned long)tlog.n);
	for (uint32_t i = 0; i < tlog.n && i < TLOG_MAX; i++) {
		printf(" [%c cause %lu epc code%+ld tval", (char)tlog.r[i].by, (unsigned long)tlog.r[i].cause,
		       (long)(tlog.r[i].epc - code));
		uint32_t t = tlog.r[i].tval;
		if (t == 0)
			printf(" 0]");
		else if (t - code < 64)
			printf(" code%+ld]", (long)(t - code));
		else if (t - data < 64)
			printf(" data%+ld]", (long)(t - data));
		else
			printf(" %08lx]", (unsigned long)t);
	}
	printf("\n");
	tlog_reset();
}

static uint32_t call_target(uint32_t arg)
{
	return target(arg);
}

static uint32_t store_word(uint32_t v)
{
	watched[0] = v;
	return 0;
}

static void warl(const char *what, uint32_t value)
{
	WR(TSELECT, 0);
	WR(TDATA1, T2);
	uint32_t before = RD(TDATA1);
	WR(TDATA1, value);
	printf("tdata1 <- %08lx (%s): reads %08lx (was %08lx)\n", (unsigned long)value, what, (unsigned long)RD(TDATA1),
	       (unsigned long)before);
}

/* Sv32 page tables: RAM as an identity superpage and as an alias at 0xc0000000. */
static uint32_t root[1024] __attribute__((aligned(4096)));
#define ALIAS(a) ((uint32_t)(a) - 0x80000000u + 0xc0000000u)
#define SUPERPAGE_RWX 0xcfu /* V R W X A D */

static uint32_t s_call(uint32_t fn)
{
	return ((uint32_t (*)(uint32_t))fn)(5);
}

/* S-mode accesses at s_addr, uncompressed (the M handler skips 4 bytes). */
static volatile uint32_t s_addr;
static uint32_t s_store(uint32_t v)
{
	__asm__ volatile(".option push\n.option norvc\nsw %0, 0(%1)\n.option pop" :: "r"(v), "r"(s_addr) : "memory");
	return 0;
}

static uint32_t s_load(uint32_t unused)
{
	uint32_t v = unused;
	__asm__ volatile(".option push\n.option norvc\nlw %0, 0(%1)\n.option pop" : "+r"(v) : "r"(s_addr) : "memory");
	return v;
}

static void sv32(uint32_t code, uint32_t data)
{
	uint32_t at = 0;
	for (int i = 0; i < 1024; i++)
		root[i] = 0;
	root[0x200] = ((0x80000000u >> 12) << 10) | SUPERPAGE_RWX;
	root[0x300] = ((0x80000000u >> 12) << 10) | SUPERPAGE_RWX;
	CSR_WRITE(satp, 0x80000000u | ((uint32_t)root >> 12));
	__asm__ volatile("sfence.vma zero, zero" ::: "memory");
	uint32_t r;

	/* Each access on its own line: which one trapped (a skipped addi: target returns 5, not 6). */
	arm(0, T2 | S2 | EXEC, ALIAS(code));
	r = call_in_mode(PRV_S, s_call, ALIAS(code));
	show("sv32 exec trigger on the alias, S calls the alias", ALIAS(code), data);
	printf("  target(5) = %lu\n", (unsigned long)r);
	r = call_in_mode(PRV_S, s_call, code);
	disarm();
	show("sv32 exec trigger on the alias, S calls the identity", code, data);
	printf("  target(5) = %lu\n", (unsigned long)r);
	arm(1, T6 | S2 | EXEC, code);
	r = call_in_mode(PRV_S, s_call, ALIAS(code));
	show("sv32 exec trigger (type 6) on the identity, S calls the alias", ALIAS(code), data);
	printf("  target(5) = %lu\n", (unsigned long)r);
	r = call_in_mode(PRV_S, s_call, code);
	disarm();
	show("sv32 exec trigger (type 6) on the identity, S calls the identity", code, data);
	printf("  target(5) = %lu\n", (unsigned long)r);

	arm(0, T2 | S2 | STORE, ALIAS(data));
	s_addr = data;
	call_in_mode(PRV_S, s_store, 0x12345678u);
	show("sv32 store trigger on the alias, S stores to the identity", (uint32_t)s_store, data);
	printf("  watched[0] = %08lx\n", (unsigned long)watched[0]);
	s_addr = ALIAS(data);
	call_in_mode(PRV_S, s_store, 0x9abcdef0u);
	disarm();
	show("sv32 store trigger on the alias, S stores to the alias", (uint32_t)s_store, data);
	printf("  watched[0] = %08lx\n", (unsigned long)watched[0]);
	watched[1] = 0x5eed0001u;
	arm(0, T6 | S2 | LOAD, data + 4);
	s_addr = ALIAS(data + 4);
	r = call_in_mode(PRV_S, s_load, 0);
	show("sv32 load trigger (type 6) on the identity, S loads the alias", (uint32_t)s_load, data);
	printf("  read %08lx\n", (unsigned long)r);
	s_addr = data + 4;
	r = call_in_mode(PRV_S, s_load, 0);
	disarm();
	show("sv32 load trigger (type 6) on the identity, S loads the identity", (uint32_t)s_load, data);
	printf("  read %08lx\n", (unsigned long)r);
	arm(0, T2 | S2 | LOAD | STORE, ALIAS(data + 8));
	arm(1, T2 | M2 | LOAD, ALIAS(data + 8));
	s_addr = ALIAS(data + 8);
	r = call_in_mode(PRV_S, s_load, 0);
	show("sv32 load/store trigger on the alias in S, S loads the alias", (uint32_t)s_load, data);
	printf("  read %08lx\n", (unsigned long)r);
	PRIV_EXPECT(at, "lw t1, 8(%[p])", [p] "r"(data));
	disarm();
	show("sv32 load trigger on the alias in M (bare), M loads the physical word", at, data);
	CSR_WRITE(satp, 0);
	__asm__ volatile("sfence.vma zero, zero" ::: "memory");
}

int main(void)
{
	priv_init(1);
	uint32_t at = 0;

	/* How many triggers: the tselect values that read back. */
	printf("tselect at reset %lu\n", (unsigned long)RD(TSELECT));
	for (uint32_t i = 0; i < 6; i++) {
		WR(TSELECT, i);
		uint32_t got = RD(TSELECT);
		printf("tselect <- %lu: reads %lu", (unsigned long)i, (unsigned long)got);
		if (got == i)
			printf(", tinfo %08lx tdata1 %08lx tdata2 %08lx tdata3 %08lx", (unsigned long)RD(TINFO),
			       (unsigned long)RD(TDATA1), (unsigned long)RD(TDATA2), (unsigned long)RD(TDATA3));
		printf("\n");
	}
	WR(TSELECT, 0xffffffffu);
	printf("tselect <- ffffffff: reads %lu\n", (unsigned long)RD(TSELECT));
	show("csr accesses", 0, 0);

	/* WARL: every bit of each type. */
	warl("type 2, all bits", T2 | 0x0fffffffu);
	warl("type 2, dmode", T2 | (1u << 27) | M2 | EXEC);
	warl("type 2, action 1", T2 | (1u << 12) | M2 | EXEC);
	warl("type 2, timing, select, hit", T2 | (7u << 18) | M2 | LOAD);
	warl("type 2, match 1, chain", T2 | (1u << 7) | (1u << 11) | M2 | LOAD);
	warl("type 2, sizelo 1", T2 | (1u << 16) | M2 | LOAD);
	warl("type 2, sizelo 2", T2 | (2u << 16) | M2 | LOAD);
	warl("type 2, sizelo 3", T2 | (3u << 16) | M2 | LOAD);
	warl("type 6, all bits", T6 | 0x0fffffffu);
	warl("type 6, m s u vs vu exec", T6 | (1u << 24) | (1u << 23) | M2 | S2 | U2 | EXEC);
	warl("type 6, size 3", T6 | (3u << 16) | M2 | STORE);
	warl("type 6, size 4", T6 | (4u << 16) | M2 | STORE);
	warl("type 6, size 5", T6 | (5u << 16) | M2 | STORE);
	warl("type 6, size 6", T6 | (6u << 16) | M2 | STORE);
	warl("type 6, size 8", T6 | (8u << 16) | M2 | STORE);
	warl("type 0", 0);
	warl("type 0, bits", 0x0fffffffu);
	warl("type 3", (3u << 28) | 0x0fffffffu);
	warl("type 4", (4u << 28) | 0x0fffffffu);
	warl("type 5", (5u << 28) | 0x0fffffffu);
	warl("type 15", 0xffffffffu);
	WR(TSELECT, 0);
	WR(TDATA1, T2);
	WR(TDATA2, 0xffffffffu);
	printf("tdata2 <- ffffffff: reads %08lx\n", (unsigned long)RD(TDATA2));
	WR(TDATA3, 0xffffffffu);
	printf("tdata3 <- ffffffff: reads %08lx\n", (unsigned long)RD(TDATA3));
	WR(TDATA3, 0);
	WR(TSELECT, 1);
	WR(TDATA1, T6 | M2 | EXEC);
	printf("trigger 1 <- type 6: tselect 1 tdata1 %08lx; trigger 0 tdata1", (unsigned long)RD(TDATA1));
	WR(TSELECT, 0);
	printf(" %08lx\n", (unsigned long)RD(TDATA1));
	disarm();
	show("warl", 0, 0);

	/* Execute: M-mode, on `target`. */
	uint32_t code = (uint32_t)target;
	uint32_t data = (uint32_t)&watched[0];
	arm(0, T2 | M2 | EXEC, code);
	uint32_t r = target(5);
	disarm();
	show("exec M (type 2)", code, data);
	printf("  target(5) = %lu (the addi skipped)\n", (unsigned long)r);
	arm(0, T2 | U2 | S2 | EXEC, code);
	r = target(5);
	disarm();
	show("exec, u s bits, run in M", code, data);
	arm(0, T2 | U2 | EXEC, code);
	call_in_mode(PRV_U, call_target, 1);
	call_in_mode(PRV_S, call_target, 1);
	disarm();
	show("exec, u bit, run in U then S", code, data);
	arm(0, T2 | S2 | EXEC, code);
	call_in_mode(PRV_U, call_target, 1);
	call_in_mode(PRV_S, call_target, 1);
	disarm();
	show("exec, s bit, run in U then S", code, data);
	arm(0, T2 | M2 | EXEC, code + 2);
	target(5);
	disarm();
	show("exec, address inside the instruction", code, data);
	arm(1, T6 | M2 | EXEC, code);
	target(5);
	disarm();
	show("exec M (type 6, trigger 1)", code, data);
	arm(0, T2 | M2, code);
	target(5);
	disarm();
	show("no exec/load/store bit", code, data);

	/* Store and load. */
	arm(0, T2 | M2 | STORE, data);
	PRIV_EXPECT(at, "sw %[v], 0(%[p])", [v] "r"(0xaaaaaaaau), [p] "r"(data));
	disarm();
	show("store M word", at, data);
	printf("  watched[0] = %08lx\n", (unsigned long)watched[0]);
	arm(0, T2 | M2 | STORE, data);
	PRIV_EXPECT(at, "lw t1, 0(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "sw %[v], 4(%[p])", [v] "r"(0xbbbbbbbbu), [p] "r"(data));
	PRIV_EXPECT(at, "sb %[v], 3(%[p])", [v] "r"(0xccu), [p] "r"(data));
	disarm();
	show("store M: lw, sw next word, sb byte 3", at, data);
	printf("  watched[0] = %08lx watched[1] = %08lx\n", (unsigned long)watched[0], (unsigned long)watched[1]);
	arm(0, T2 | M2 | LOAD, data + 4);
	PRIV_EXPECT(at, "lw t1, 4(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lbu t1, 6(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lh t1, 2(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "sw zero, 4(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lw t1, 8(%[p])", [p] "r"(data));
	disarm();
	show("load M on word 1: lw, lbu +2, lh of word 0, sw, lw word 2", at, data);
	arm(0, T2 | M2 | LOAD | STORE | (1u << 16), data + 8);
	PRIV_EXPECT(at, "lbu t1, 9(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lbu t1, 8(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lw t1, 8(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "sh zero, 8(%[p])", [p] "r"(data));
	disarm();
	show("load/store, sizelo 1 (byte), word 2: lbu +1, lbu, lw, sh", at, data);
	arm(0, T2 | M2 | LOAD, data + 2);
	PRIV_EXPECT(at, "lw t1, 0(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lbu t1, 2(%[p])", [p] "r"(data));
	disarm();
	show("load, address data+2 (any size): lw word 0, lbu +2", at, data);
	arm(0, T2 | M2 | LOAD | STORE, data + 12);
	PRIV_EXPECT(at, "amoadd.w t1, %[v], (%[p])", [v] "r"(1u), [p] "r"(data + 12));
	PRIV_EXPECT(at, "lr.w t1, (%[p])", [p] "r"(data + 12));
	disarm();
	show("amoadd.w, lr.w on a load/store trigger", at, data);
	arm(0, T2 | U2 | STORE, data);
	call_in_mode(PRV_U, store_word, 0x55555555u);
	call_in_mode(PRV_S, store_word, 0x66666666u);
	watched[0] = 0x77777777u;
	disarm();
	show("store, u bit: U, S, M", (uint32_t)store_word, data);
	printf("  watched[0] = %08lx\n", (unsigned long)watched[0]);
	arm(0, T6 | M2 | LOAD, data + 4);
	arm(1, T2 | M2 | STORE, data + 8);
	PRIV_EXPECT(at, "lw t1, 4(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "sw zero, 8(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "sw zero, 4(%[p])", [p] "r"(data));
	disarm();
	show("trigger 0 type 6 load word 1, trigger 1 store word 2: lw 1, sw 2, sw 1", at, data);

	arm(0, T6 | M2 | LOAD, data + 4);
	PRIV_EXPECT(at, "lw t1, 8(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lw t1, 12(%[p])", [p] "r"(data));
	disarm();
	show("type 6 load on word 1 (any size): lw word 2, lw word 3", at, data);
	arm(0, T6 | M2 | LOAD | (3u << 16), data + 4);
	PRIV_EXPECT(at, "lw t1, 8(%[p])", [p] "r"(data));
	PRIV_EXPECT(at, "lbu t1, 7(%[p])", [p] "r"(data));
	disarm();
	show("type 6 load on word 1 (size 3): lw word 2, lbu +3", at, data);

	sv32(code, data);

	printf("triggers: done\n");
	return 0;
}
